import { z } from 'zod';
import { batchSchema } from './batch-schema.ts';

/**
 * A BigQuery sink (streaming insertAll). Delivery: every row carries an insertId derived
 * from (window_start, key, version), which BigQuery uses for best-effort deduplication
 * (about a minute); after a longer outage a replayed row can be stored twice. Read final
 * results by keeping the highest version per (key, window_start). The local emulator
 * ignores insertId.
 */
export const bigquerySinkSchema = z
  .strictObject({
    type: z.literal('bigquery').describe('Streams window rows into a BigQuery table (insertAll).'),
    projectId: z
      .string({ error: 'a project id' })
      .min(1, { error: 'a project id' })
      .describe('Google Cloud project.'),
    dataset: z
      .string({ error: 'a dataset name' })
      .min(1, { error: 'a dataset name' })
      .describe('Dataset of the table.'),
    table: z
      .string({ error: 'a table name' })
      .min(1, { error: 'a table name' })
      .describe('Table to insert into.'),
    apiEndpoint: z
      .url({ error: 'an http(s) URL' })
      .optional()
      .describe('API endpoint, e.g. http://127.0.0.1:9050 for the emulator. Absent: Google Cloud.'),
    create: z
      .boolean({ error: 'true or false' })
      .default(false)
      .describe('Create the table when missing, time-partitioned by day on window_start (TIMESTAMP).'),
    batch: batchSchema({ rows: 5000, bytes: '5MiB', interval: '1s' }),
  })
  .describe(
    'A BigQuery sink; insertId deduplication is best-effort, so read the highest version per key and window.',
  );
