import { z } from 'zod';
import { byteSize, integerAtLeast, positiveDuration } from '../schema-primitives.ts';

/**
 * The `batch:` setting shared by the batching sinks (ClickHouse, BigQuery, Kafka): a
 * batch is written when any of its limits is reached, and on every checkpoint.
 */
export function batchSchema(defaults: { rows: number; bytes: string; interval: string }) {
  return z
    .strictObject({
      rows: integerAtLeast(1).default(defaults.rows).describe('Write a batch once it holds this many rows.'),
      bytes: byteSize.prefault(defaults.bytes).describe('Write a batch once its rows take this many bytes.'),
      interval: positiveDuration
        .prefault(defaults.interval)
        .describe('Write a batch at most this long after its first row arrived.'),
    })
    .transform(({ interval, ...rest }) => ({ ...rest, intervalMs: interval }))
    .prefault({})
    .describe(
      'Batching of writes. While a batch is being written (or retried while the target is down) ' +
        'the sink takes no more rows, so the pipeline slows down instead of buffering without bound.',
    );
}
