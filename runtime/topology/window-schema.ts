import { z } from 'zod';
import { AGGREGATE_EXPECTED, parseAggregate } from './aggregate-expression.ts';
import { duration, fieldPath, filePath, identifier, positiveDuration } from './schema-primitives.ts';
import { enrichSchema } from './table-schema.ts';

/**
 * The `windows:` and `streams:` sections: what is computed from a source and where
 * the results go. Names of sources and sinks are checked against the rest of the
 * file in `cross-references.ts`, since a schema sees one field at a time.
 */

const allowedLateness = duration
  .prefault(0)
  .describe(
    'How long after a window fired late events still update it (it re-fires with version + 1). ' +
      'Events later than that go to the `late` sink.',
  );

const tumblingSchema = z
  .strictObject({
    type: z
      .literal('tumbling')
      .describe('Fixed-size windows that do not overlap, aligned to the Unix epoch.'),
    size: positiveDuration.describe('Length of each window.'),
    allowedLateness,
  })
  .transform(({ size, allowedLateness: lateness, ...rest }) => ({
    ...rest,
    sizeMs: size,
    allowedLatenessMs: lateness,
  }));

const hoppingSchema = z
  .strictObject({
    type: z
      .literal('hopping')
      .describe('Fixed-size windows that start every `slide`; an event is in size/slide of them.'),
    size: positiveDuration.describe('Length of each window.'),
    slide: positiveDuration.describe('Distance between window starts; at most `size`.'),
    allowedLateness,
  })
  .superRefine((window, context) => {
    if (window.slide > window.size) {
      context.addIssue({
        code: 'custom',
        path: ['slide'],
        message: `expected a slide no longer than size (${window.size} ms), got ${window.slide} ms`,
        input: window.slide,
      });
    }
  })
  .transform(({ size, slide, allowedLateness: lateness, ...rest }) => ({
    ...rest,
    sizeMs: size,
    slideMs: slide,
    allowedLatenessMs: lateness,
  }));

const sessionSchema = z
  .strictObject({
    type: z
      .literal('session')
      .describe('Per-key windows that close after `gap` without events; overlapping ones merge.'),
    gap: positiveDuration.describe('Inactivity that ends a session; a session ends at its last event + gap.'),
    allowedLateness,
  })
  .transform(({ gap, allowedLateness: lateness, ...rest }) => ({
    ...rest,
    gapMs: gap,
    allowedLatenessMs: lateness,
  }));

export const WINDOW_TYPES = ['tumbling', 'hopping', 'session'] as const;

export const windowShapeSchema = z
  .discriminatedUnion('type', [tumblingSchema, hoppingSchema, sessionSchema], {
    error: `a window with type one of: ${WINDOW_TYPES.join(', ')}`,
  })
  .describe('Window shape and lateness, chosen by `type`.');

const aggregateSchema = z
  .record(
    identifier,
    z.string({ error: AGGREGATE_EXPECTED }).describe(`Expression: ${AGGREGATE_EXPECTED}.`),
    {
      error: 'a map of output field to aggregate expression, e.g. { events: count() }',
    },
  )
  .superRefine((expressions, context) => {
    if (Object.keys(expressions).length === 0) {
      context.addIssue({
        code: 'custom',
        message: 'expected at least one aggregate, e.g. events: count()',
        input: expressions,
      });
    }
    for (const [name, expression] of Object.entries(expressions)) {
      const parsed = parseAggregate(name, expression);
      if ('error' in parsed)
        context.addIssue({ code: 'custom', path: [name], message: parsed.error, input: expression });
    }
  })
  .transform((expressions) =>
    // Valid by now (superRefine ran first); the file order becomes the column order.
    Object.entries(expressions).map(([name, expression]) => {
      const parsed = parseAggregate(name, expression);
      if ('error' in parsed) throw new Error(parsed.error);
      return parsed;
    }),
  );

const sinkNames = z
  .array(identifier, { error: 'a list of sink names, e.g. [out]' })
  .min(1, { error: 'at least one sink name' });

const transformModule = filePath.describe(
  'TS/JS module whose default export maps an event to an event, or to null to drop it; ' +
    'runs inside the worker. Relative paths start from the topology file.',
);

export const windowSchema = z
  .strictObject({
    from: identifier.describe('Name of the source whose events this window reads.'),
    enrich: enrichSchema.optional(),
    transform: transformModule.optional(),
    window: windowShapeSchema,
    groupBy: z
      .array(fieldPath, { error: 'a list of key fields, e.g. [user_id]' })
      .min(1, { error: 'at least one field to group by' })
      .describe('Fields that form the key of each output row.'),
    aggregate: aggregateSchema.describe(
      `Output field → aggregate expression (${AGGREGATE_EXPECTED}); columns keep this order.`,
    ),
    to: sinkNames.describe('Sinks that receive the window rows.'),
    late: identifier
      .optional()
      .describe(
        'Sink for events too late for every window (past allowedLateness). Absent: they are counted only.',
      ),
  })
  .describe('An event-time window aggregation.');

export const streamSchema = z
  .strictObject({
    from: identifier.describe('Name of the source whose events this stream reads.'),
    enrich: enrichSchema.optional(),
    transform: transformModule.optional(),
    to: sinkNames.describe('Sinks that receive the (transformed) events.'),
  })
  .describe('Routes raw events from a source to sinks without windowing.');
