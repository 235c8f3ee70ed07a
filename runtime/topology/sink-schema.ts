import { z } from 'zod';
import { filePath } from './schema-primitives.ts';
import { bigquerySinkSchema } from './sinks/bigquery-sink-schema.ts';
import { clickhouseSinkSchema } from './sinks/clickhouse-sink-schema.ts';
import { kafkaSinkSchema } from './sinks/kafka-sink-schema.ts';

/**
 * The `sinks:` section. One strict object per sink `type`, joined in a
 * discriminated union that later issues extend (clickhouse, bigquery, kafka).
 */

export const fileSinkSchema = z
  .strictObject({
    type: z.literal('file').describe('Appends rows as JSON lines to a file.'),
    path: filePath.describe('File to write; relative paths start from the topology file.'),
  })
  .describe('A file sink.');

export const consoleSinkSchema = z
  .strictObject({ type: z.literal('console').describe('Prints rows as JSON lines on standard output.') })
  .describe('A console sink.');

export const nullSinkSchema = z
  .strictObject({
    type: z.literal('null').describe('Discards rows; for benchmarks. `type: null` may be written unquoted.'),
  })
  .describe('A sink that discards everything.');

export const SINK_TYPES = ['file', 'console', 'null', 'clickhouse', 'bigquery', 'kafka'] as const;

export const sinkSchema = z
  .discriminatedUnion(
    'type',
    [
      fileSinkSchema,
      consoleSinkSchema,
      nullSinkSchema,
      clickhouseSinkSchema,
      bigquerySinkSchema,
      kafkaSinkSchema,
    ],
    {
      error: `a sink with type one of: ${SINK_TYPES.join(', ')}`,
    },
  )
  .describe('Where rows go, chosen by `type`.');
