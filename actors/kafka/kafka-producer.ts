/**
 * The producer side shared by everything that writes to Kafka without transactions
 * (`sluice produce`, the CDC publisher): one producer configuration and one way to
 * check or create the topics written to.
 *
 * The producer is idempotent (acks from all in-sync replicas, one request in flight), so
 * kafkajs's retries neither duplicate nor reorder records within a partition, and a
 * `send` that resolves means the records are durable on the brokers. Keys are placed by
 * the Java client's murmur2 partitioner, so a key lands where a Java producer puts it.
 */
import kafkajs from 'kafkajs';
import { describeError, kafkaError } from './kafka-errors.ts';

export function createIdempotentProducer(kafka: kafkajs.Kafka): kafkajs.Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
  });
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
