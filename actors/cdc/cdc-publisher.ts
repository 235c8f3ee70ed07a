/**
 * Publishes a CDC source's change events to Kafka, as Debezium Server does: one topic per
 * table, `<topicPrefix>.<schema>.<table>`; record key = the primary key as JSON
 * (`{"id":42}`, Debezium's key with schemas off; no key for a table without one); value
 * = the change event (the Debezium envelope, or the unwrapped row with `envelope:
 * unwrap`) without sluice's `_key` and `_schemaVersion` fields, which travel as the key
 * and the `sluice.schema_version` header. A delete is followed by a tombstone (key, null
 * value) unless `tombstones: false`.
 *
 * Ordering and acknowledgement: batches handed over are sent in order by one idempotent
 * producer (acks=all, one request in flight: `kafka-producer.ts`), and a batch reaches its
 * table partition only after Kafka acknowledged it. So a partition checkpoint at position
 * P means every change of that table up to P is on its topic, and the slot, which moves
 * only past checkpointed changes (`AckTracker`), is never confirmed past a change Kafka
 * does not hold. After a crash the changes past the checkpoint are read and published
 * again: a consumer keyed by (table, primary key, `source.lsn`) absorbs the repeats.
 *
 * Back-pressure: at most `maxQueued` events wait for the next send; `publish` waits for
 * room, which stops the replication stream (flow control) while Kafka is slow.
 *
 * Threading model: main thread only; `publish` calls come from the source's handler,
 * one at a time, and the send loop runs on the same event loop.
 * Life cycle: `openCdcPublisher` (topics checked or created, producer connected) →
 * publishing → `drained()` on a graceful stop (everything queued is published and handed
 * on) → `close()` (the send in flight finishes; what was queued behind it is dropped: it
 * was not acknowledged, so Postgres sends it again) or failed (`onFailed` called once;
 * `publish` rejects from then on).
 */
import type kafkajs from 'kafkajs';
import type { Logger } from '../../runtime/logger.ts';
import { createKafkaClient } from '../kafka/kafka-client.ts';
import { describeError } from '../kafka/kafka-errors.ts';
import { createIdempotentProducer, prepareTopics } from '../kafka/kafka-producer.ts';
import { cdcError } from './cdc-errors.ts';
import type { Envelope, TableShape } from './debezium-envelope.ts';

/** The `publish:` block of a cdc source (see the topology schema). */
export interface CdcPublishConfig {
  type: 'kafka';
  brokers: string[];
  /** create: missing topics are created at start; existing: they must exist. */
  topics: 'create' | 'existing';
  /** Partitions of a created topic. */
  partitions: number;
  replicationFactor?: number;
  tombstones: boolean;
}

export const SCHEMA_VERSION_HEADER = 'sluice.schema_version';

/** Debezium's topic name; characters Kafka does not allow in a topic become `_`, as in Debezium. */
export function cdcTopicName(prefix: string, shape: Pick<TableShape, 'schema' | 'table'>): string {
  return `${prefix}.${shape.schema}.${shape.table}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

interface QueuedBatch {
  partition: number;
  envelopes: Envelope[];
  /** `shape(envelope)` of each envelope: what is published and delivered. */
  events: Envelope[];
  positions: string[];
}

export interface CdcPublisherOptions {
  config: CdcPublishConfig;
  /** Topic of each table partition, by partition. */
  topics: string[];
  clientId: string;
  log: Logger;
  /** The event as delivered and published (Debezium envelope or unwrapped row). */
  shape(envelope: Envelope): Envelope;
  /** Hands a published batch to its table partition (may wait: back-pressure). */
  deliver(partition: number, events: Envelope[], positions: string[]): Promise<void>;
  onFailed(error: Error): void;
  /** Events waiting for the next send before `publish` waits. */
  maxQueued: number;
}

export async function openCdcPublisher(options: CdcPublisherOptions): Promise<CdcPublisher> {
  const { config } = options;
  const client = createKafkaClient({ brokers: config.brokers, clientId: options.clientId, log: options.log });
  const create =
    config.topics === 'create'
      ? { partitions: config.partitions, replicationFactor: config.replicationFactor }
      : undefined;
  await prepareTopics(client.kafka, [...new Set(options.topics)], create);
  const producer = createIdempotentProducer(client.kafka);
  await producer.connect();
  options.log.info('cdc publishing to kafka', { topics: options.topics });
  return new CdcPublisher(producer, options);
}

export class CdcPublisher {
  readonly #producer: kafkajs.Producer;
  readonly #options: CdcPublisherOptions;
  #queue: QueuedBatch[] = [];
  #queuedEvents = 0;
  /** The send loop while it runs; settles when the queue is empty (or on failure/close). */
  #pumping: Promise<void> | null = null;
  #failure: Error | null = null;
  #closed = false;
  /** Resolved whenever a send completes, to wake a `publish` waiting for room. */
  #roomWaiters: Array<() => void> = [];

  constructor(producer: kafkajs.Producer, options: CdcPublisherOptions) {
    this.#producer = producer;
    this.#options = options;
  }

  /**
   * Queues a batch of one table partition; it is sent with whatever else is queued when
   * the send before it completes. Resolves once queued (waits while the queue is full).
   */
  async publish(partition: number, envelopes: Envelope[], positions: string[]): Promise<void> {
    while (this.#queuedEvents >= this.#options.maxQueued && this.#failure === null && !this.#closed) {
      await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
    }
    if (this.#failure !== null) throw this.#failure;
    if (this.#closed) return;
    this.#queue.push({ partition, envelopes, events: envelopes.map(this.#options.shape), positions });
    this.#queuedEvents += envelopes.length;
    this.#pumping ??= this.#pump().finally(() => {
      this.#pumping = null;
    });
  }

  /** Resolves once everything queued so far was acknowledged and handed on (rejects if publishing failed). */
  async drained(): Promise<void> {
    while (this.#pumping !== null) await this.#pumping;
    if (this.#failure !== null) throw this.#failure;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#wakeWaiters();
    await this.#pumping?.catch(() => {});
    this.#queue = [];
    this.#queuedEvents = 0;
    await this.#producer.disconnect().catch(() => {});
  }

  async #pump(): Promise<void> {
    while (this.#queue.length > 0 && this.#failure === null && !this.#closed) {
      const batches = this.#queue;
      this.#queue = [];
      this.#queuedEvents = 0;
      this.#wakeWaiters();
      try {
        await this.#producer.sendBatch({ acks: -1, topicMessages: this.#topicMessages(batches) });
      } catch (error) {
        const topics = [...new Set(batches.map((batch) => this.#options.topics[batch.partition]))];
        this.#fail(
          cdcError('SLUICE_ERR_CDC_PUBLISH_FAILED', [topics.join(', '), describeError(error)], error),
        );
        return;
      }
      for (const batch of batches) {
        if (this.#closed) return;
        try {
          await this.#options.deliver(batch.partition, batch.events, batch.positions);
        } catch (error) {
          this.#fail(error as Error);
          return;
        }
      }
    }
  }

  #topicMessages(batches: QueuedBatch[]): kafkajs.TopicMessages[] {
    const byTopic = new Map<string, kafkajs.Message[]>();
    const { topics, config } = this.#options;
    for (const batch of batches) {
      const topic = topics[batch.partition];
      let messages = byTopic.get(topic);
      if (messages === undefined) {
        messages = [];
        byTopic.set(topic, messages);
      }
      batch.envelopes.forEach((envelope, index) => {
        const key =
          envelope._key === null || envelope._key === undefined ? null : JSON.stringify(envelope._key);
        const headers = { [SCHEMA_VERSION_HEADER]: String(envelope._schemaVersion) };
        messages.push({ key, value: publishedValue(batch.events[index]), headers });
        if (config.tombstones && envelope.op === 'd' && key !== null) {
          messages.push({ key, value: null, headers });
        }
      });
    }
    return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
  }

  #fail(error: Error): void {
    if (this.#failure !== null) return;
    this.#failure = error;
    this.#wakeWaiters();
    this.#options.onFailed(error);
  }

  #wakeWaiters(): void {
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const wake of waiters) wake();
  }
}

/** The event without the fields that travel as the record key and a header. */
function publishedValue(event: Envelope): string {
  if (!('_key' in event) && !('_schemaVersion' in event)) return JSON.stringify(event);
  const value: Envelope = {};
  for (const name in event) if (name !== '_key' && name !== '_schemaVersion') value[name] = event[name];
  return JSON.stringify(value);
}
