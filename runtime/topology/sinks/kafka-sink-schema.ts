import { z } from 'zod';
import { fieldPath, positiveDuration } from '../schema-primitives.ts';
import { batchSchema } from './batch-schema.ts';

/**
 * A Kafka sink: an idempotent producer writes each row with the window key as record
 * key, so a compacted topic keeps the latest version of every (key, window). With
 * `transactional: true` the rows of each source partition go into a Kafka transaction
 * that commits with the partition's checkpoint (see actors/sinks/kafka-transactional-sink.ts).
 */
export const kafkaSinkSchema = z
  .strictObject({
    type: z.literal('kafka').describe('Produces rows to a Kafka topic.'),
    brokers: z
      .array(z.string().min(1), { error: 'a list of host:port, e.g. [127.0.0.1:9092]' })
      .min(1, { error: 'at least one broker' })
      .describe('Bootstrap brokers.'),
    topic: z.string({ error: 'a topic name' }).min(1, { error: 'a topic name' }).describe('Topic to write.'),
    format: z
      .enum(['json', 'msgpack'], { error: 'json or msgpack' })
      .default('json')
      .describe('Record value encoding.'),
    key: z
      .array(fieldPath, { error: 'a list of row fields, e.g. [user_id]' })
      .optional()
      .describe(
        'Row fields whose values, joined by "|" after window_start, form the record key. ' +
          'Absent: the groupBy fields of the windows writing here (window rows), none for raw events.',
      ),
    transactional: z
      .boolean({ error: 'true or false' })
      .default(false)
      .describe(
        'Exactly-once output for read_committed consumers: the rows of each source partition go ' +
          'into a Kafka transaction that commits with the partition checkpoint, so they become ' +
          'visible only at checkpoints (every checkpoint.interval). One transactional id per ' +
          '(job, sink, source partition) fences a crashed predecessor.',
      ),
    transactionTimeout: positiveDuration
      .prefault('60s')
      .describe(
        'Transaction timeout given to the broker (transactional: true): a transaction open longer ' +
          'is aborted by the broker. Must be at least checkpoint.interval + 30s (time for a slow ' +
          'checkpoint or a restart to replay) and at most the broker transaction.max.timeout.ms (default 15m).',
      ),
    batch: batchSchema({ rows: 10_000, bytes: '1MiB', interval: '100ms' }),
  })
  .transform(({ transactionTimeout, ...rest }) => ({ ...rest, transactionTimeoutMs: transactionTimeout }))
  .describe(
    'A Kafka sink with an idempotent producer; record key = window key, so compaction keeps the latest version.',
  );
