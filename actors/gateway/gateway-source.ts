import type { Logger } from '../../runtime/logger.ts';
import type { Metrics } from '../../runtime/metrics.ts';
import type { GatewaySourceConfig } from '../../runtime/topology/topology-schema.ts';
import { keyText } from '../codecs/murmur2.ts';
import type { PartitionMessage } from '../partition/partition-plan.ts';
import { AccessControl, loadTokens } from './access-control.ts';
import { BatchIngester } from './batch-ingester.ts';
import { GatewayLog } from './gateway-log.ts';
import { GatewayServer } from './gateway-server.ts';
import { type IngestTarget, kafkaTarget, logTarget } from './ingest-target.ts';
import { KafkaForward } from './kafka-forward.ts';
import { LogFeeder } from './log-feeder.ts';

/**
 * The gateway source: its log, one feeder per partition and the server, started
 * together. The job hands it `deliver` (tell the partition actor), `resumeFrom` (ask
 * the actor its checkpointed position: the last log record it processed) and reports
 * each checkpoint back through `onCheckpointed`, which deletes the segments the
 * checkpoint covers.
 *
 * With `forward: kafka` there is no log and no feeder: batches are produced to the topic
 * and acked after Kafka acked them; the job reads the topic with a kafka source of its
 * own (`forwardedKafkaSource`), and `deliver`/`resumeFrom` are never called.
 *
 * Life cycle: `startGatewaySource` (open log → resume positions → feeders → listen; or
 * connect the producer → listen) → running → `stop()`: stop listening and refuse, wait
 * until appended batches are durable (their acks go out), stop the feeders, close the
 * log (or the producer).
 */
export interface GatewaySourceOptions {
  name: string;
  config: GatewaySourceConfig;
  log: Logger;
  metrics?: Metrics;
  /** Hand a partition actor its records; `message.records.buffer` may be transferred. */
  deliver(partition: number, message: Extract<PartitionMessage, { kind: 'log' }>): Promise<void>;
  /** The partition actor's checkpointed position (last processed record), or null. */
  resumeFrom(partition: number): Promise<number | null>;
  onFatal(error: Error): void;
  env?: NodeJS.ProcessEnv;
}

export interface GatewaySource {
  readonly port: number;
  /** A checkpoint of `partition` covers every record up to `position`. */
  onCheckpointed(partition: number, position: number): void;
  stop(): Promise<void>;
}

const READ_BYTES = 1024 * 1024;

export async function startGatewaySource(options: GatewaySourceOptions): Promise<GatewaySource> {
  const { config, name, log, metrics } = options;
  const tokens = config.auth ? loadTokens(config.auth.tokens, options.env) : null;
  const durable = config.forward ? await openForward(options) : await openLog(options);
  const counters = gatewayCounters(metrics);
  const ingester = new BatchIngester({
    target: durable.target,
    keyField: config.key,
    timeField: config.time.field,
    onAccepted: (events) => counters?.inc('sluice_gateway_events_total', { source: name }, events),
    onRefusal: (reply) => counters?.inc('sluice_gateway_refusals_total', { source: name, code: reply.error }),
  });
  const server: GatewayServer = new GatewayServer({
    host: config.host,
    port: config.port,
    ingester,
    access: new AccessControl({ tokens, allowedOrigins: config.allowedOrigins }),
    maxPayload: config.limits.maxPayload,
    inflightBatches: config.limits.inflightBatches,
    idleTimeoutMs: config.limits.idleTimeoutMs,
    eventsPerSecond: config.limits.eventsPerSecond,
    maxBackpressure: config.limits.maxBackpressure,
    health: (): Record<string, unknown> => ({
      source: name,
      partitions: config.partitions,
      ...durable.health(),
      connections: server.connections,
      pendingBatches: ingester.pending,
    }),
  });
  let port: number;
  try {
    port = await server.listen();
  } catch (error) {
    await durable.close();
    throw error;
  }
  log.info('gateway listening', {
    source: name,
    port,
    partitions: config.partitions,
    ...(config.forward ? { forward: config.forward.topic } : {}),
  });
  let stopping: Promise<void> | null = null;
  return {
    port,
    onCheckpointed: (partition, position) => {
      if (stopping === null) durable.checkpointed(partition, position);
    },
    stop: () => {
      stopping ??= (async () => {
        server.stopListening();
        await ingester.close();
        // One turn, so that every ack the last durable batches earned is queued and sent.
        await new Promise((resolve) => setImmediate(resolve));
        server.close();
        await durable.close();
      })();
      return stopping;
    },
  };
}

/** What keeps accepted batches: the target the ingester appends to, and its upkeep. */
interface DurableStore {
  target: IngestTarget;
  health(): Record<string, unknown>;
  checkpointed(partition: number, position: number): void;
  close(): Promise<void>;
}

/** The gateway log, replayed to the partition actors by one feeder per partition. */
async function openLog(options: GatewaySourceOptions): Promise<DurableStore> {
  const { config, name, log } = options;
  const gatewayLog = GatewayLog.open({
    dir: config.log.dir,
    partitions: config.partitions,
    fsync: config.log.fsync,
    groupCommitMs: config.log.groupCommitMs,
    maxBytes: config.log.maxBytes,
    segmentBytes: config.log.segmentBytes,
  });
  const feeders: LogFeeder[] = [];
  try {
    for (let partition = 0; partition < config.partitions; partition++) {
      const partitionLog = gatewayLog.partition(partition);
      if (partitionLog.truncatedBytes > 0)
        log.warn('gateway log: cut a torn tail', {
          source: name,
          partition,
          bytes: partitionLog.truncatedBytes,
        });
      const position = await options.resumeFrom(partition);
      if (position !== null && position + 1 > partitionLog.end) {
        throw new Error(
          `gateway ${name}: partition ${partition} is checkpointed at log record ${position} but its log ends at ` +
            `${partitionLog.end}; the log under ${config.log.dir} was removed or belongs to another topology`,
        );
      }
      if (position !== null) gatewayLog.checkpointed(partition, position);
      feeders.push(
        new LogFeeder({
          log: partitionLog,
          from: Math.max(position === null ? 0 : position + 1, partitionLog.start),
          readBytes: READ_BYTES,
          deliver: (message) => options.deliver(partition, message),
          onError: options.onFatal,
        }),
      );
    }
  } catch (error) {
    await gatewayLog.close();
    throw error;
  }
  const unsubscribe = gatewayLog.onDurable((partition) => feeders[partition].wake());
  for (const feeder of feeders) feeder.start();
  return {
    target: logTarget(gatewayLog, options.onFatal),
    health: () => ({ logBytes: gatewayLog.bytes }),
    checkpointed: (partition, position) => gatewayLog.checkpointed(partition, position),
    close: async () => {
      unsubscribe();
      await Promise.all(feeders.map((feeder) => feeder.stop()));
      await gatewayLog.close();
    },
  };
}

/** `forward: kafka`: the topic is the store; the job's kafka source reads it back. */
async function openForward(options: GatewaySourceOptions): Promise<DurableStore> {
  const { config, name, log } = options;
  const forward = config.forward;
  if (forward === undefined) throw new Error(`gateway ${name} has no forward`);
  const producer = await KafkaForward.open({
    brokers: forward.brokers,
    topic: forward.topic,
    partitions: config.partitions,
    create: forward.create,
    clientId: `sluice-gateway-${name}`,
    ackTimeoutMs: forward.ackTimeoutMs,
    maxPending: forward.maxPending,
    log: log.child({ component: 'forward' }),
  });
  const keyField = config.key;
  return {
    target: kafkaTarget(producer, config.partitions, (event) => keyText(event[keyField]) ?? ''),
    health: () => ({ forward: { topic: forward.topic, pending: producer.pending } }),
    checkpointed: () => {},
    close: () => producer.close(),
  };
}

function gatewayCounters(metrics: Metrics | undefined): Metrics | undefined {
  if (metrics === undefined) return undefined;
  for (const [metric, help, labels] of [
    [
      'sluice_gateway_events_total',
      'Events the gateway acknowledged (durable in its log, or in Kafka with forward).',
      ['source'],
    ],
    [
      'sluice_gateway_refusals_total',
      'Client batches the gateway refused, by error code.',
      ['source', 'code'],
    ],
  ] as const) {
    try {
      metrics.registerCounter(metric, help, labels);
    } catch {
      // Registered already by another gateway source of the same job.
    }
  }
  return metrics;
}
