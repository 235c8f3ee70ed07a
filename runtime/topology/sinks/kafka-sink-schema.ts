import { z } from 'zod';
import { fieldPath } from '../schema-primitives.ts';
import { batchSchema } from './batch-schema.ts';

/**
 * A Kafka sink: an idempotent producer writes each row with the window key as record
 * key, so a compacted topic keeps the latest version of every (key, window).
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
    batch: batchSchema({ rows: 10_000, bytes: '1MiB', interval: '100ms' }),
  })
  .describe(
    'A Kafka sink with an idempotent producer; record key = window key, so compaction keeps the latest version.',
  );
