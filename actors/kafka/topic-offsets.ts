/**
 * The admin-side facts a source needs about its topic: each partition's low and high
 * offsets at start (the high ones are the `bounded: latest` end offsets) and the group's
 * committed offsets. Connecting is where an absent broker shows first, so a broker that
 * does not answer within the limit is `SLUICE_ERR_KAFKA_BROKER_UNREACHABLE`, and a broker
 * that answers without the topic is `SLUICE_ERR_KAFKA_TOPIC_MISSING`.
 */
import type { KafkaClient } from './kafka-client.ts';
import { describeError, type KafkaError, kafkaError } from './kafka-errors.ts';

export interface TopicOffsets {
  low: Map<number, bigint>;
  high: Map<number, bigint>;
  /** The group's committed offsets (next offset to read); partitions without one are absent. */
  committed(group: string): Promise<Map<number, bigint>>;
  disconnect(): Promise<void>;
}

export async function openTopicOffsets(
  client: KafkaClient,
  brokers: string,
  topic: string,
  limitMs: number,
): Promise<TopicOffsets> {
  const admin = client.kafka.admin();
  const unreachable = () =>
    kafkaError('SLUICE_ERR_KAFKA_BROKER_UNREACHABLE', [brokers, limitMs, client.lastError() || 'no answer']);
  const disconnect = () => admin.disconnect().catch(() => {});
  try {
    await withinLimit(admin.connect(), limitMs, unreachable);
  } catch (error) {
    await disconnect();
    throw (error as KafkaError).code === undefined ? unreachable() : error;
  }
  let offsets: Awaited<ReturnType<typeof admin.fetchTopicOffsets>>;
  try {
    offsets = await withinLimit(admin.fetchTopicOffsets(topic), limitMs, unreachable);
  } catch (error) {
    await disconnect();
    if ((error as KafkaError).code === 'SLUICE_ERR_KAFKA_BROKER_UNREACHABLE') throw error;
    throw kafkaError('SLUICE_ERR_KAFKA_TOPIC_MISSING', [topic, describeError(error)], error);
  }
  return {
    low: new Map(offsets.map((entry) => [entry.partition, BigInt(entry.low)])),
    high: new Map(offsets.map((entry) => [entry.partition, BigInt(entry.high)])),
    async committed(group) {
      const [entry] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      const committed = new Map<number, bigint>();
      for (const { partition, offset } of entry?.partitions ?? []) {
        if (BigInt(offset) >= 0n) committed.set(partition, BigInt(offset));
      }
      return committed;
    },
    disconnect,
  };
}

/** `promise`, or `onTimeout()` as a rejection once `ms` passed. */
function withinLimit<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  promise.catch(() => {});
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
