import { z } from 'zod';
import {
  duration,
  EVENT_TIME_FIELD_DOC,
  eventTime,
  fieldPath,
  filePath,
  fraction,
  integerAtLeast,
  positiveDuration,
} from './schema-primitives.ts';
import { cdcSourceSchema } from './sources/cdc-schema.ts';
import { gatewaySourceSchema } from './sources/gateway-schema.ts';

/**
 * The `sources:` section. One strict object per source `type`, joined in a
 * discriminated union that later issues extend (kafka, gateway, cdc).
 */

const partitions = integerAtLeast(1)
  .default(1)
  .describe(
    'Number of source partitions. Events route to a partition by the murmur2 hash of their key ' +
      "(Kafka's default partitioner); each partition keeps its own watermark.",
  );

export const fileSourceSchema = z
  .strictObject({
    type: z
      .literal('file')
      .describe('Reads a bounded file of JSON lines, then ends (the watermark goes to +infinity).'),
    path: filePath.describe('File to read; relative paths start from the topology file.'),
    format: z
      .literal('json', { error: "'json' (one JSON object per line)" })
      .default('json')
      .describe('Record format: json = one JSON object per line.'),
    key: fieldPath.describe('Field whose value is the event key (partitioning).'),
    time: eventTime(fieldPath.describe(EVENT_TIME_FIELD_DOC)).describe(
      'Where each event carries its event time, and how late it may be.',
    ),
    partitions,
  })
  .describe('A file source.');

const startTimeExpected = 'milliseconds since the epoch or an ISO-8601 date-time';

const startTime = z
  .union([
    z.number({ error: startTimeExpected }).int({ error: startTimeExpected }),
    z.iso.datetime({ offset: true, error: startTimeExpected }),
  ])
  .transform((value) => (typeof value === 'number' ? value : Date.parse(value)));

export const generatorSourceSchema = z
  .strictObject({
    type: z
      .literal('generator')
      .describe('Synthetic events for demos, tests and benchmarks; deterministic for a given seed.'),
    key: fieldPath.default('user_id').describe('Name of the key field written into each event.'),
    keys: integerAtLeast(1).default(1000).describe('How many distinct keys to draw from.'),
    skew: z
      .number({ error: 'a number >= 0' })
      .min(0, { error: 'a number >= 0' })
      .default(0)
      .describe(
        'Zipf exponent of the key distribution: 0 = uniform, 1 = classic Zipf, higher = hotter keys.',
      ),
    rate: z
      .number({ error: 'a number of events per second >= 0' })
      .min(0, { error: 'a number of events per second >= 0' })
      .default(0)
      .describe('Target events per second over all partitions; 0 = as fast as possible.'),
    count: integerAtLeast(0).optional().describe('Total events to produce, then end. Absent: unbounded.'),
    outOfOrder: fraction
      .default(0)
      .describe('Fraction of events whose time lies behind the newest, but within maxOutOfOrder.'),
    late: fraction
      .default(0)
      .describe(
        'Fraction of events older than the watermark allows (they exercise lateness and the late output).',
      ),
    seed: z
      .number({ error: 'a whole number' })
      .int({ error: 'a whole number' })
      .default(1)
      .describe('Random seed; the same seed gives the same events.'),
    startTime: startTime
      .optional()
      .describe(
        'Event time of the first event, in ms since the epoch or ISO-8601. Absent: the current time.',
      ),
    partitions,
    time: eventTime(fieldPath.default('ts').describe(EVENT_TIME_FIELD_DOC))
      .prefault({})
      .describe("Event-time settings; the generator writes the time into this field (default 'ts')."),
  })
  .transform(({ startTime: start, ...rest }) => ({
    ...rest,
    ...(start === undefined ? {} : { startTimeMs: start }),
  }))
  .describe('A generator source.');

export const kafkaSourceSchema = z
  .strictObject({
    type: z
      .literal('kafka')
      .describe(
        'A Kafka topic read by a consumer group; each assigned partition gets its own partition actor.',
      ),
    brokers: z
      .array(z.string({ error: 'a broker address host:port' }).min(1), {
        error: 'a list of broker addresses',
      })
      .min(1, { error: 'at least one broker address, e.g. [127.0.0.1:9092]' })
      .describe('Bootstrap brokers, host:port.'),
    topic: z.string({ error: 'a topic name' }).min(1, { error: 'a topic name' }).describe('Topic to read.'),
    group: z
      .string({ error: 'a consumer group id' })
      .min(1, { error: 'a consumer group id' })
      .describe('Consumer group; processes with the same group split the partitions between them.'),
    format: z
      .enum(['json', 'msgpack', 'frame'], { error: "one of 'json', 'msgpack', 'frame'" })
      .default('json')
      .describe(
        'Message format: json or msgpack (one event per message), frame (a sluice frame of many events).',
      ),
    key: fieldPath.describe('Field whose value is the event key (the producer keyed messages by it).'),
    time: eventTime(fieldPath.describe(EVENT_TIME_FIELD_DOC)).describe(
      'Where each event carries its event time, and how late it may be.',
    ),
    bounded: z
      .literal('latest', { error: "'latest'" })
      .optional()
      .describe(
        'latest: read up to the end offsets seen at start, then end the input (every window fires) and exit. ' +
          'Absent: run until stopped.',
      ),
    startFrom: z
      .enum(['earliest', 'latest'], { error: "'earliest' or 'latest'" })
      .default('earliest')
      .describe('Where a partition with no checkpoint and no committed group offset starts.'),
    sessionTimeout: positiveDuration
      .prefault('30s')
      .describe(
        'Consumer-group session timeout: how long the group waits for a silent member before giving its partitions to others.',
      ),
    brokerTimeout: duration
      .prefault('60s')
      .describe(
        'A broker unreachable for longer than this stops the process with an error instead of waiting forever.',
      ),
  })
  .transform(({ brokerTimeout, sessionTimeout, ...rest }) => ({
    ...rest,
    brokerTimeoutMs: brokerTimeout,
    sessionTimeoutMs: sessionTimeout,
  }))
  .describe('A Kafka source.');

export const SOURCE_TYPES = ['file', 'generator', 'kafka', 'gateway', 'cdc'] as const;

export const sourceSchema = z
  .discriminatedUnion(
    'type',
    [fileSourceSchema, generatorSourceSchema, kafkaSourceSchema, gatewaySourceSchema, cdcSourceSchema],
    {
      error: `a source with type one of: ${SOURCE_TYPES.join(', ')}`,
    },
  )
  .describe('A source of events, chosen by `type`.');
