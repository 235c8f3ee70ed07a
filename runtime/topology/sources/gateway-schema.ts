import { z } from 'zod';
import {
  byteSize,
  duration,
  EVENT_TIME_FIELD_DOC,
  eventTime,
  fieldPath,
  filePath,
  integerAtLeast,
  positiveDuration,
} from '../schema-primitives.ts';

/**
 * The `gateway` source: a WebSocket/HTTP ingestion endpoint whose per-partition
 * append-only log is the source partition (positions are log record indices) — or,
 * with `forward`, a producer to a Kafka topic that the job then reads as a kafka source
 * (positions are Kafka offsets).
 */

const forwardSchema = z
  .strictObject({
    type: z
      .literal('kafka', { error: "'kafka'" })
      .describe('Forward acknowledged batches to a Kafka topic (the only kind of forward).'),
    brokers: z
      .array(z.string({ error: 'a broker address host:port' }).min(1), {
        error: 'a list of broker addresses',
      })
      .min(1, { error: 'at least one broker address, e.g. [127.0.0.1:9092]' })
      .describe('Bootstrap brokers, host:port.'),
    topic: z
      .string({ error: 'a topic name' })
      .min(1, { error: 'a topic name' })
      .describe(
        "Topic the gateway produces to and the job consumes; its partition count must equal the source's `partitions`.",
      ),
    create: z
      .boolean({ error: 'true or false' })
      .default(false)
      .describe('Create the topic with `partitions` partitions when it does not exist.'),
    group: z
      .string({ error: 'a consumer group id' })
      .min(1, { error: 'a consumer group id' })
      .optional()
      .describe('Consumer group of the job reading the topic. Absent: sluice-<topology name>-<source name>.'),
    ackTimeout: positiveDuration
      .prefault('10s')
      .describe(
        'A batch Kafka has not acknowledged by then is answered with FORWARD_FAILED (503); it may still land in the topic.',
      ),
    maxPending: integerAtLeast(1)
      .default(1024)
      .describe(
        'Kafka messages (one per partition a client batch touches) waiting for their ack, over all clients; ' +
          'past it batches are refused with FORWARD_BUSY (503).',
      ),
    sessionTimeout: positiveDuration
      .prefault('30s')
      .describe(
        "Consumer-group session timeout of the job reading the topic (as a kafka source's sessionTimeout).",
      ),
    brokerTimeout: duration
      .prefault('60s')
      .describe(
        'A broker unreachable for longer than this stops the process with an error instead of waiting forever.',
      ),
  })
  .transform(({ ackTimeout, brokerTimeout, sessionTimeout, ...rest }) => ({
    ...rest,
    ackTimeoutMs: ackTimeout,
    brokerTimeoutMs: brokerTimeout,
    sessionTimeoutMs: sessionTimeout,
  }))
  .describe(
    'Produce to Kafka (idempotent, acks=all) instead of the gateway log, ack after Kafka does, and read the topic back ' +
      'with an implicit kafka source in the same job.',
  );

const TOKENS_EXPECTED = 'env:VARIABLE or file:path (comma- or newline-separated bearer tokens)';

export const gatewaySourceSchema = z
  .strictObject({
    type: z
      .literal('gateway')
      .describe(
        'Events pushed by clients over WebSocket (/ws) or HTTP (POST /ingest); each batch is acked once durable in the gateway log.',
      ),
    host: z.string({ error: 'a host name or address' }).default('0.0.0.0').describe('Address to listen on.'),
    port: integerAtLeast(0).describe('TCP port for /ws, /ingest and /healthz; 0 picks a free port.'),
    partitions: integerAtLeast(1)
      .default(1)
      .describe('Log partitions; an event goes to the murmur2 hash of its key modulo this.'),
    key: fieldPath.describe('Field whose value is the event key (routing).'),
    time: eventTime(fieldPath.describe(EVENT_TIME_FIELD_DOC)).describe(
      'Where each event carries its event time, and how late it may be.',
    ),
    auth: z
      .strictObject({
        tokens: z
          .string({ error: TOKENS_EXPECTED })
          .regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$/, { error: TOKENS_EXPECTED })
          .describe('Where the accepted bearer tokens are: env:VARIABLE or file:path.'),
      })
      .optional()
      .describe('Bearer-token authentication. Absent: anyone may send.'),
    limits: z
      .strictObject({
        maxPayload: byteSize
          .prefault('1MiB')
          .describe('Largest message or request body (WS close 1009, HTTP 413).'),
        inflightBatches: integerAtLeast(1)
          .default(64)
          .describe('Batches a connection may have awaiting their ack; more are refused.'),
        idleTimeout: duration.prefault('60s').describe('A WebSocket silent for this long is closed.'),
        maxBackpressure: byteSize
          .prefault('1MiB')
          .describe(
            'Unsent reply bytes a WebSocket may hold (a client not reading its acks) before it is closed.',
          ),
        eventsPerSecond: integerAtLeast(0)
          .default(0)
          .describe('Events per second per connection before refusing (429); 0 = no limit.'),
      })
      .prefault({})
      .transform(({ idleTimeout, ...rest }) => ({ ...rest, idleTimeoutMs: idleTimeout }))
      .describe('Per-connection limits.'),
    allowedOrigins: z
      .array(z.string({ error: 'an origin such as https://app.example.com' }))
      .default([])
      .describe('Browser origins allowed to connect; empty: requests with an Origin header are refused.'),
    log: z
      .strictObject({
        dir: filePath.default('./.sluice/gateway').describe('Directory of the gateway log.'),
        fsync: z
          .enum(['group', 'always', 'none'], { error: "one of 'group', 'always', 'none'" })
          .default('group')
          .describe(
            'group: one fsync per groupCommit for all batches that arrived meanwhile; always: one per batch; ' +
              'none: acked once written, the OS flushes (a machine crash may lose acked batches).',
          ),
        groupCommit: duration.prefault('2ms').describe('Longest wait before a group fsync.'),
        maxBytes: byteSize
          .prefault('4GiB')
          .describe('Log size (all partitions) at which the gateway refuses new batches (503 / close 1013).'),
        segmentBytes: byteSize.prefault('64MiB').describe('A log segment file rolls over at this size.'),
      })
      .prefault({})
      .transform(({ groupCommit, ...rest }) => ({ ...rest, groupCommitMs: groupCommit }))
      .describe('The gateway log: durability before the ack. Unused with `forward`.'),
    forward: forwardSchema.optional(),
  })
  .describe('A WebSocket/HTTP gateway source.');

export type GatewaySourceSchemaOutput = z.output<typeof gatewaySourceSchema>;
