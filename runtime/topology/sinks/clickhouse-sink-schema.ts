import { z } from 'zod';
import { batchSchema } from './batch-schema.ts';

/**
 * A ClickHouse sink. Its table is a ReplacingMergeTree(version), so read final results
 * with `SELECT … FROM <table> FINAL`, or `argMax(<column>, version)` grouped by the key
 * fields and window_start: a replayed or re-fired window is stored again until a merge
 * keeps its highest version.
 */
export const clickhouseSinkSchema = z
  .strictObject({
    type: z.literal('clickhouse').describe('Inserts window rows into a ClickHouse table.'),
    url: z
      .url({ error: 'an http(s) URL such as http://127.0.0.1:8123' })
      .describe('HTTP interface of the ClickHouse server.'),
    database: z
      .string({ error: 'a database name' })
      .min(1)
      .default('default')
      .describe('Database of the table.'),
    table: z
      .string({ error: 'a table name' })
      .min(1, { error: 'a table name' })
      .describe('Table to insert into.'),
    create: z
      .boolean({ error: 'true or false' })
      .default(false)
      .describe(
        'Create the table when missing: ReplacingMergeTree(version), ORDER BY (<groupBy fields>, window_start), ' +
          'partitioned by day of window_start; window_start/window_end are UInt64 ms since the epoch.',
      ),
    schema: z
      .enum(['evolve', 'strict'], { error: 'evolve or strict' })
      .default('strict')
      .describe(
        'evolve: a column for a new aggregate is added at start (ALTER TABLE … ADD COLUMN); removed ones stay. ' +
          'strict: a table that lacks a column stops the start with the difference.',
      ),
    username: z.string().optional().describe('User name. Absent: default.'),
    password: z.string().optional().describe('Password. Absent: empty.'),
    batch: batchSchema({ rows: 50_000, bytes: '8MiB', interval: '500ms' }),
  })
  .describe('A ClickHouse sink; exactly-once in effect: read with SELECT … FINAL or argMax(col, version).');
