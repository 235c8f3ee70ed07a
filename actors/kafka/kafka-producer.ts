/**
 * The producer side shared by everything that writes to Kafka without transactions
 * (`sluice produce`, the CDC publisher): one producer configuration and one way to
 * check or create the topics written to.
 *
 * The producer is idempotent (acks from all in-sync replicas, one request in flight), so
 * kafkajs's retries neither duplicate nor reorder records within a partition, and a
 * `send` that resolves means the records are durable on the brokers. Keys are placed by
 * the Java client's murmur2 partitioner, so a key lands where a Java producer puts it.
 *
 * Retries are unbounded in count, as kafkajs wants for an idempotent producer (a limited
 * count is what makes it warn "Limiting retries … may invalidate EoS guarantees", and a
 * send given up half-way can leave a sequence gap). The bound is in time instead: a
 * `send` not acknowledged within `sendTimeoutMs` rejects with
 * SLUICE_ERR_KAFKA_PRODUCE_FAILED (its records may still land later).
 */
import kafkajs from 'kafkajs';
import { describeError, kafkaError } from './kafka-errors.ts';

/** About what the shared client's 8 bounded retries (300 ms doubling to 5 s) used to take. */
export const DEFAULT_SEND_TIMEOUT_MS = 30_000;

export function createIdempotentProducer(
  kafka: kafkajs.Kafka,
  sendTimeoutMs = DEFAULT_SEND_TIMEOUT_MS,
): kafkajs.Producer {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    retry: { retries: Number.MAX_SAFE_INTEGER },
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
  });
  const bounded = <T>(topics: string, sending: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const reason = `no acknowledgement within ${sendTimeoutMs} ms (the records may still land)`;
        reject(kafkaError('SLUICE_ERR_KAFKA_PRODUCE_FAILED', [topics, reason]));
      }, sendTimeoutMs);
    });
    sending.catch(() => {});
    return Promise.race([sending, late]).finally(() => clearTimeout(timer));
  };
  return {
    ...producer,
    send: (record) => bounded(record.topic, producer.send(record)),
    sendBatch: (batch) =>
      bounded((batch.topicMessages ?? []).map((entry) => entry.topic).join(','), producer.sendBatch(batch)),
  };
}

export interface TopicCreation {
  partitions: number;
  /** Absent: the broker's default replication factor. */
  replicationFactor?: number;
}

/**
 * Creates the topics when `create` is given (existing ones are left as they are) and
 * returns each topic's partition count. A topic that does not exist, or has no
 * partitions, is `SLUICE_ERR_KAFKA_TOPIC_MISSING`.
 */
export async function prepareTopics(
  kafka: kafkajs.Kafka,
  topics: readonly string[],
  create?: TopicCreation,
): Promise<Map<string, number>> {
  const admin = kafka.admin();
  await admin.connect();
  let current = topics[0] ?? '';
  try {
    if (create !== undefined) {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((topic) => !existing.has(topic));
      if (missing.length > 0) {
        await admin.createTopics({
          topics: missing.map((topic) => ({
            topic,
            numPartitions: create.partitions,
            replicationFactor: create.replicationFactor ?? -1,
          })),
          waitForLeaders: true,
        });
      }
    }
    const counts = new Map<string, number>();
    for (const topic of topics) {
      current = topic;
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      const count = metadata.topics[0]?.partitions.length ?? 0;
      if (count === 0) throw new Error('no partitions');
      counts.set(topic, count);
    }
    return counts;
  } catch (error) {
    if ((error as { name?: string }).name === 'KafkaError') throw error;
    throw kafkaError('SLUICE_ERR_KAFKA_TOPIC_MISSING', [current, describeError(error)], error);
  } finally {
    await admin.disconnect();
  }
}
