import { z } from 'zod';
import { fieldPath, identifier } from './schema-primitives.ts';

/**
 * The `tables:` section (lookup tables materialized from a CDC source) and the `enrich:`
 * step of windows and streams that joins each event to a table's current row. Which
 * source and which table a name points to is checked in `table-references.ts`; whether
 * the key and the columns exist is checked against the database when the job starts.
 */

/** A Postgres column name as written unquoted (lower-case folding is the user's business). */
const COLUMN_PATTERN = /^[A-Za-z_][A-Za-z0-9_$]*$/;
const COLUMN_EXPECTED = 'a column name (letters, digits, _ and $, starting with a letter or _)';
const column = z.string({ error: COLUMN_EXPECTED }).regex(COLUMN_PATTERN, { error: COLUMN_EXPECTED });

/** An event field the enrich step writes: top level, since groupBy and aggregates read top-level fields. */
const OUTPUT_FIELD_PATTERN = /^[A-Za-z_$][\w$-]*$/;
const OUTPUT_FIELD_EXPECTED = 'a top-level event field name (no dots), e.g. country';

const TABLE_NAME_PATTERN = /^[A-Za-z_][\w$]*(\.[A-Za-z_][\w$]*)?$/;

/** `users` → `public.users`, as the cdc source names its tables. */
export function qualifiedTable(name: string): string {
  return name.includes('.') ? name : `public.${name}`;
}

export const lookupTableSchema = z
  .strictObject({
    from: identifier.describe('Name of the cdc source whose changes keep this table current.'),
    table: z
      .string({ error: 'schema.table, e.g. public.users' })
      .regex(TABLE_NAME_PATTERN, { error: 'schema.table, e.g. public.users' })
      .describe("One of the source's `tables` (`schema.table`; schema defaults to public)."),
    key: column.describe(
      "The table's primary-key column (a single column): rows are upserted and looked up by it.",
    ),
  })
  .transform(({ table, ...rest }) => ({ ...rest, table: qualifiedTable(table) }))
  .describe(
    'A lookup table: the rows of a CDC table, kept current from its changes (insert/update/snapshot read = ' +
      'upsert by key, delete = remove), stored in LevelDB under state.dir and checkpointed with its LSN.',
  );

export const MISSING_POLICIES = ['drop', 'keep', 'dead-letter'] as const;

const fieldsSchema = z
  .union(
    [
      z.array(column, { error: 'a list of columns' }).min(1, { error: 'at least one column' }),
      z.record(z.string().regex(OUTPUT_FIELD_PATTERN, { error: OUTPUT_FIELD_EXPECTED }), column),
    ],
    {
      error:
        'a list of columns, e.g. [country], or a map of event field to column, e.g. { user_country: country }',
    },
  )
  .transform((fields) =>
    Array.isArray(fields)
      ? fields.map((name) => ({ field: name, column: name }))
      : Object.entries(fields).map(([field, name]) => ({ field, column: name })),
  );

export const enrichStepSchema = z
  .strictObject({
    table: identifier.describe('Name of a table in `tables:`.'),
    on: fieldPath.describe(
      "Event field whose value is looked up in the table's key column (e.g. user_id → users.id). " +
        'Numbers and strings match by their text: 42 finds the row whose key is 42 or "42".',
    ),
    fields: fieldsSchema
      .optional()
      .describe(
        'Columns copied into the event at the top level: a list of columns (the event field takes the ' +
          "column's name) or a map of event field to column. A copied field replaces an event field of " +
          'the same name. Absent: every column but the key.',
      ),
    onMissing: z
      .enum(MISSING_POLICIES, { error: `one of ${MISSING_POLICIES.map((p) => `'${p}'`).join(', ')}` })
      .default('keep')
      .describe(
        'An event whose key has no row (or that has no key): drop = skip it (counted), keep = go on with ' +
          'the fields set to null, dead-letter = send it to the deadLetter sink with its position and the reason.',
      ),
  })
  .describe("Joins each event to the table's current row by key and copies columns into it.");

export const enrichSchema = z
  .array(enrichStepSchema, { error: 'a list of enrich steps, e.g. [{ table: users, on: user_id }]' })
  .min(1, { error: 'at least one enrich step' })
  .describe(
    "Lookups into `tables:` run in order on each event before the transform and the window; the copied fields can be grouped by and aggregated. An event meets the table's row as it is when the event is processed (not versioned by event time).",
  );

export type LookupTableConfig = z.output<typeof lookupTableSchema>;
export type EnrichStepConfig = z.output<typeof enrichStepSchema>;
