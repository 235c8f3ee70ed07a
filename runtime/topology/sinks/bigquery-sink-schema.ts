import { z } from 'zod';
import { batchSchema } from './batch-schema.ts';

/**
 * A BigQuery sink. `api: insertAll` (default): every row carries an insertId derived from
 * (window_start, key, version), which BigQuery uses for best-effort deduplication (about a
 * minute); after a longer outage a replayed row can be stored twice, and the local emulator
 * ignores insertId. Read final results by keeping the highest version per (key,
 * window_start). `api: storage-write`: exactly-once through the Storage Write API — one
 * COMMITTED write stream per source partition, each row at a deterministic offset; rows
 * become visible at checkpoints.
 */
export const bigquerySinkSchema = z
  .strictObject({
    type: z
      .literal('bigquery')
      .describe('Writes window rows into a BigQuery table (insertAll or the Storage Write API).'),
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
    api: z
      .enum(['insertAll', 'storage-write'], { error: 'insertAll or storage-write' })
      .default('insertAll')
      .describe(
        'insertAll: streaming inserts, insertId deduplication best-effort. storage-write: Storage Write API, COMMITTED streams with offsets, exactly-once; rows visible at checkpoints.',
      ),
    storageEndpoint: z
      .string({ error: 'host:port' })
      .regex(/^[^\s:/]+:\d{1,5}$/, { error: 'host:port, e.g. 127.0.0.1:9060' })
      .optional()
      .describe(
        'gRPC endpoint of the Storage Write API (api: storage-write), e.g. 127.0.0.1:9060 for the emulator. Absent: Google Cloud.',
      ),
    insecure: z
      .boolean({ error: 'true or false' })
      .default(false)
      .describe('Plain-text gRPC to storageEndpoint (the local emulator).'),
    create: z
      .boolean({ error: 'true or false' })
      .default(false)
      .describe('Create the table when missing, time-partitioned by day on window_start (TIMESTAMP).'),
    batch: batchSchema({ rows: 5000, bytes: '5MiB', interval: '1s' }),
  })
  .describe(
    'A BigQuery sink; with insertAll deduplication is best-effort (read the highest version per key and window), with storage-write it is exactly-once.',
  );
