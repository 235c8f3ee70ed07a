/**
 * The Kafka sink: rows to a topic through an idempotent producer (acks from all in-sync
 * replicas, one request in flight), keyed by window so compaction keeps the latest
 * version. A batch is one `send`, which resolves once the brokers acknowledged it, so a
 * flushed batch is durable and `sync` needs nothing more. Without transactions a replay
 * after a crash writes the replayed rows again (same key, same version): consumers that
 * keep the latest record per key, or a compacted topic, see exactly-once results.
 *
 * Threading model: a main-thread actor (see batching-sink.ts); the producer is used by
 * one hook at a time.
 */
import type kafkajs from 'kafkajs';
import type { ActorContext } from '../../runtime/actor.ts';
import { createKafkaClient } from '../kafka/kafka-client.ts';
import { createIdempotentProducer } from '../kafka/kafka-producer.ts';
import { sinkError } from './batching-errors.ts';
import {
  type BatchingSinkConfig,
  type BatchTarget,
  batchingSinkFactory,
  type RejectedRow,
} from './batching-sink.ts';
import { type KafkaSinkFormat, type KafkaSinkRecord, toKafkaRecord } from './kafka-sink-record.ts';

export interface KafkaSinkConfig extends BatchingSinkConfig {
  brokers: string[];
  topic: string;
  format: KafkaSinkFormat;
  /** Row fields of the record key (after window_start); empty: records without key. */
  keyFields: string[];
}

export const createKafkaSink = batchingSinkFactory<KafkaSinkConfig>((config) => new KafkaTarget(config));

/** kafkajs errors are retriable unless the broker refused the request for good. */
export function isRetriableKafkaError(error: unknown): boolean {
  const { name, retriable } = error as { name?: string; retriable?: boolean };
  if (name === 'KafkaJSProtocolError') return retriable === true;
  return typeof name === 'string' && name.startsWith('KafkaJS');
}

export class KafkaTarget implements BatchTarget {
  readonly #config: KafkaSinkConfig;
  #producer: kafkajs.Producer | null = null;

  constructor(config: KafkaSinkConfig) {
    this.#config = config;
  }

  async open(ctx: ActorContext): Promise<void> {
    const client = createKafkaClient({
      brokers: this.#config.brokers,
      clientId: `sluice-sink-${this.#config.name}`,
      log: ctx.log,
    });
    // The shared idempotent producer: retries unbounded in count as kafkajs wants for
    // exactly-once, each send bounded in time (kafka-producer.ts).
    const producer = createIdempotentProducer(client.kafka);
    await this.#call(() => producer.connect());
    this.#producer = producer;
  }

  async write(lines: readonly string[]): Promise<RejectedRow[]> {
    const rejected: RejectedRow[] = [];
    const messages: KafkaSinkRecord[] = [];
    for (const line of lines) {
      try {
        messages.push(toKafkaRecord(line, this.#config.keyFields, this.#config.format));
      } catch (error) {
        rejected.push({ line, code: 'SINK_BAD_JSON', reason: (error as Error).message });
      }
    }
    const producer = this.#producer;
    if (producer === null) throw new Error(`kafka sink ${this.#config.name} written before open`);
    if (messages.length > 0) {
      await this.#call(() => producer.send({ topic: this.#config.topic, acks: -1, messages }));
    }
    return rejected;
  }

  async close(): Promise<void> {
    await this.#producer?.disconnect();
    this.#producer = null;
  }

  async #call<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      const reason = (error as Error).message;
      throw isRetriableKafkaError(error)
        ? sinkError('SLUICE_ERR_SINK_UNAVAILABLE', [this.#config.name, reason], error)
        : sinkError('SLUICE_ERR_SINK_WRITE_FAILED', [this.#config.name, reason], error);
    }
  }
}
