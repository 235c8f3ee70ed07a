import type kafkajs from 'kafkajs';
import type { Logger } from '../../runtime/logger.ts';
import { createKafkaClient } from '../kafka/kafka-client.ts';
import { describeError } from '../kafka/kafka-errors.ts';
import { createIdempotentProducer, prepareTopics } from '../kafka/kafka-producer.ts';
import { IngestRefusal } from './gateway-errors.ts';

/**
 * The gateway's `forward: kafka` durability: client batches become Kafka records on one
 * topic, and a batch is acknowledged once Kafka acknowledged its records (idempotent
 * producer, acks=all). Records are keyed and placed by the producer's partitioner (the
 * Java client's murmur2, the gateway's own routing rule), so the topic must have exactly
 * the gateway's `partitions`: `open` checks that, creating the topic first when asked.
 *
 * Group produce, like the log's group commit: one produce request is in flight at a time
 * and every record that arrived meanwhile goes into the next one (up to `requestBytes`),
 * so a slow round trip costs latency, not throughput. Back-pressure: at most `maxPending`
 * records are queued or in flight; past that `send` refuses at once (FORWARD_BUSY). A
 * record not acknowledged within `ackTimeoutMs` is answered FORWARD_FAILED but keeps its
 * place until the producer settles it, so a broker that is down or slow holds at most
 * `maxPending` records in memory, never more.
 *
 * Threading model: main thread only. Life cycle: `open` (connect, check the topic) →
 * send … → `close` (waits for what was queued, then disconnects).
 */
export interface KafkaForwardOptions {
  brokers: string[];
  topic: string;
  /** The gateway's partition count; the topic must have as many. */
  partitions: number;
  /** Create the topic with `partitions` partitions when it does not exist. */
  create: boolean;
  clientId: string;
  ackTimeoutMs: number;
  maxPending: number;
  log: Logger;
  /** Record bytes per produce request (default 512 KiB, under the broker's 1 MB batch limit). */
  requestBytes?: number;
}

/** One Kafka record: keyed records go where the partitioner puts their key; `partition` pins one. */
export interface ForwardRecord {
  key: string | null;
  partition?: number;
  value: Buffer;
  headers?: Record<string, string>;
}

interface Pending {
  record: ForwardRecord;
  settle(error: Error | null): void;
}

const DEFAULT_REQUEST_BYTES = 512 * 1024;

export class KafkaForward {
  readonly #options: KafkaForwardOptions;
  readonly #producer: kafkajs.Producer;
  readonly #queue: Pending[] = [];
  #pending = 0;
  #sending: Promise<void> | null = null;
  #closed = false;

  private constructor(options: KafkaForwardOptions, producer: kafkajs.Producer) {
    this.#options = options;
    this.#producer = producer;
  }

  static async open(options: KafkaForwardOptions): Promise<KafkaForward> {
    const { kafka } = createKafkaClient({
      brokers: options.brokers,
      clientId: options.clientId,
      log: options.log,
    });
    const create = options.create ? { partitions: options.partitions } : undefined;
    const counts = await prepareTopics(kafka, [options.topic], create);
    const partitions = counts.get(options.topic) ?? 0;
    if (partitions !== options.partitions) {
      throw new Error(
        `forward topic ${options.topic} has ${partitions} partitions but the gateway routes to ${options.partitions}; ` +
          'they must be equal (the gateway and Kafka place a key by the same rule)',
      );
    }
    const producer = createIdempotentProducer(kafka);
    await producer.connect();
    return new KafkaForward(options, producer);
  }

  /** Records queued or awaiting Kafka's ack. */
  get pending(): number {
    return this.#pending;
  }

  hasRoom(): boolean {
    return !this.#closed && this.#pending < this.#options.maxPending;
  }

  /**
   * Resolves once Kafka acknowledged every record (in order, in one or more requests);
   * rejects with an `IngestRefusal` when it is full, times out or Kafka refuses.
   */
  send(records: readonly ForwardRecord[]): Promise<void> {
    const { maxPending, ackTimeoutMs, topic } = this.#options;
    if (this.#closed) return Promise.reject(new IngestRefusal('UNAVAILABLE', 'the gateway is stopping'));
    if (this.#pending + records.length > maxPending && this.#pending > 0) {
      return Promise.reject(
        new IngestRefusal('FORWARD_BUSY', `${this.#pending} records are waiting for Kafka; retry later`),
      );
    }
    const acked = records.map(
      (record) =>
        new Promise<void>((resolve, reject) => {
          this.#pending++;
          this.#queue.push({
            record,
            settle: (error) => {
              this.#pending--;
              if (error === null) resolve();
              else reject(error);
            },
          });
        }),
    );
    this.#pump();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new IngestRefusal(
              'FORWARD_FAILED',
              `Kafka did not acknowledge topic ${topic} within ${ackTimeoutMs} ms; the batch may still land`,
            ),
          ),
        ackTimeoutMs,
      );
    });
    const all = Promise.all(acked);
    all.catch(() => {});
    return Promise.race([all.then(() => undefined), timeout]).finally(() => clearTimeout(timer));
  }

  #pump(): void {
    this.#sending ??= this.#sendAll().finally(() => {
      this.#sending = null;
      if (this.#queue.length > 0) this.#pump();
    });
  }

  async #sendAll(): Promise<void> {
    const limit = this.#options.requestBytes ?? DEFAULT_REQUEST_BYTES;
    while (this.#queue.length > 0) {
      let bytes = 0;
      let count = 0;
      while (
        count < this.#queue.length &&
        (count === 0 || bytes + this.#queue[count].record.value.length <= limit)
      ) {
        bytes += this.#queue[count].record.value.length;
        count++;
      }
      const batch = this.#queue.splice(0, count);
      try {
        await this.#producer.send({
          topic: this.#options.topic,
          acks: -1,
          messages: batch.map(({ record }) => record),
        });
        for (const item of batch) item.settle(null);
      } catch (error) {
        this.#options.log.warn('forward: Kafka refused a produce request', {
          topic: this.#options.topic,
          records: batch.length,
          error: describeError(error),
        });
        const refusal = new IngestRefusal(
          'FORWARD_FAILED',
          `Kafka refused the write to topic ${this.#options.topic}: ${describeError(error)}`,
          { cause: error },
        );
        for (const item of batch) item.settle(refusal);
      }
    }
  }

  /** Refuses new records, waits until the queued ones are settled, disconnects. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // A broker that is away would keep the idempotent producer retrying: wait at most one ack timeout.
    const drained = (async () => {
      while (this.#sending !== null) await this.#sending;
    })();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      drained,
      new Promise((resolve) => (timer = setTimeout(resolve, this.#options.ackTimeoutMs))),
    ]);
    clearTimeout(timer);
    await this.#producer.disconnect().catch(() => {});
  }
}
