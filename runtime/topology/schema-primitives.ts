import { z } from 'zod';
import { FIELD_PATH_PATTERN } from './aggregate-expression.ts';
import {
  DURATION_EXPECTED,
  DURATION_PATTERN,
  parseDuration,
  parseSize,
  SIZE_EXPECTED,
  SIZE_PATTERN,
} from './units.ts';

/**
 * Building blocks shared by the topology schema's sections. Each carries the
 * `error` text users see, so messages say what was expected in their words.
 */

/** Names of the topology, its sources, windows, streams and sinks: they become metric labels and file names. */
export const IDENTIFIER_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]*$/;
export const IDENTIFIER_EXPECTED = 'a name of letters, digits, _ and - that starts with a letter or _';

export const identifier = z.string({ error: IDENTIFIER_EXPECTED }).regex(IDENTIFIER_PATTERN, {
  error: IDENTIFIER_EXPECTED,
});

export const FIELD_EXPECTED = 'a field name or dotted field path, e.g. user_id or user.id';

/** Names a field of an event; dotted paths reach into nested objects. */
export const fieldPath = z
  .string({ error: FIELD_EXPECTED })
  .regex(FIELD_PATH_PATTERN, { error: FIELD_EXPECTED });

/** A duration written `500ms`, `5s`, `1m`, `1h`, `1d` or as a number of ms; parsed to milliseconds. */
export const duration = z
  .union(
    [
      z.number().int({ error: DURATION_EXPECTED }).nonnegative({ error: DURATION_EXPECTED }),
      z.string().regex(DURATION_PATTERN, { error: DURATION_EXPECTED }),
    ],
    { error: DURATION_EXPECTED },
  )
  .transform((value) => parseDuration(value) as number);

/** A duration that must be greater than zero (window sizes, gaps, slides). */
export const positiveDuration = duration.refine((ms) => ms > 0, { error: 'a duration greater than zero' });

/** A byte size written `1KiB`, `8MiB`, `512MiB` or as a number of bytes; parsed to bytes. */
export const byteSize = z
  .union(
    [
      z.number().int({ error: SIZE_EXPECTED }).nonnegative({ error: SIZE_EXPECTED }),
      z.string().regex(SIZE_PATTERN, { error: SIZE_EXPECTED }),
    ],
    { error: SIZE_EXPECTED },
  )
  .transform((value) => parseSize(value) as number);

/** A whole number of at least `min`. */
export function integerAtLeast(min: number) {
  const expected = `a whole number >= ${min}`;
  return z.number({ error: expected }).int({ error: expected }).min(min, { error: expected });
}

/** A fraction in [0, 1]. */
export const fraction = z
  .number({ error: 'a number from 0 to 1' })
  .min(0, { error: 'a number from 0 to 1' })
  .max(1, { error: 'a number from 0 to 1' });

export const PATH_EXPECTED = 'a file path (relative paths start from the topology file)';

/** A file path; the loader makes it absolute, relative to the topology file's directory. */
export const filePath = z.string({ error: PATH_EXPECTED }).min(1, { error: PATH_EXPECTED });

/**
 * Event-time settings of a source. Output keys carry their unit (`maxOutOfOrderMs`)
 * so that no consumer wonders whether a number is seconds or milliseconds.
 */
export const EVENT_TIME_FIELD_DOC =
  'Field holding the event time: milliseconds since the Unix epoch, or an ISO-8601 string.';

export function eventTime<Field extends z.ZodType<string, string | undefined>>(field: Field) {
  return z
    .strictObject({
      field,
      maxOutOfOrder: duration
        .prefault(0)
        .describe(
          'How far behind the newest event time an event may arrive and still count as on time; ' +
            'the watermark is the max event time seen minus this.',
        ),
      idleTimeout: duration
        .optional()
        .describe(
          'A partition that delivers nothing for this long stops holding the watermark back; ' +
            'its watermark then advances with the wall clock. Absent: never.',
        ),
    })
    .transform(({ maxOutOfOrder, idleTimeout, ...rest }) => ({
      ...rest,
      maxOutOfOrderMs: maxOutOfOrder,
      ...(idleTimeout === undefined ? {} : { idleTimeoutMs: idleTimeout }),
    }));
}
