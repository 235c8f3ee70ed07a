/**
 * Shared pieces of the Kafka integration tests: uniquely named topics on the local broker
 * (deleted afterwards), and a source whose owner callbacks record what happened.
 */
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { decodeKafkaRecords, type KafkaFormat } from '../../../actors/kafka/decode-records.ts';
import { unpackKafkaBatch } from '../../../actors/kafka/kafka-batch.ts';
import {
  type KafkaSource,
  type KafkaSourceOptions,
  startKafkaSource,
} from '../../../actors/kafka/kafka-source.ts';
import { createLogger } from '../../../runtime/logger.ts';

export const BROKERS = [process.env.SLUICE_KAFKA_BROKERS ?? '127.0.0.1:9092'];
export const quietLog = createLogger({ level: process.env.SLUICE_LOG === 'debug' ? 'debug' : 'error' });

export function uniqueName(prefix: string): string {
  return `sluice-test-${prefix}-${randomUUID().slice(0, 8)}`;
}

export async function deleteTopics(topics: string[]): Promise<void> {
  const admin = new kafkajs.Kafka({ brokers: BROKERS, logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics, timeout: 10_000 }).catch(() => {});
  } finally {
    await admin.disconnect();
  }
}

export interface ReceivedEvent {
  partition: number;
  offset: string;
  event: Record<string, unknown>;
}

/** A source owner that decodes every delivered batch at once and records the callbacks. */
export class RecordingOwner {
  readonly received: ReceivedEvent[] = [];
  readonly failures: unknown[] = [];
  readonly assigned: number[][] = [];
  readonly revoked: number[][] = [];
  readonly ended = new Set<number>();
  readonly fatal: Error[] = [];
  seekTo = new Map<number, string | null>();
  /** Runs before each delivery resolves; slow it down to fill "mailboxes". */
  delay: (partition: number) => Promise<void> = async () => {};
  #endWaiters: Array<() => void> = [];

  constructor(readonly format: KafkaFormat) {}

  callbacks(): Pick<KafkaSourceOptions, 'onAssign' | 'onRevoke' | 'deliver' | 'onPartitionEnd' | 'onFatal'> {
    return {
      onAssign: async (partitions) => {
        this.assigned.push(partitions);
        return new Map(partitions.map((partition) => [partition, this.seekTo.get(partition) ?? null]));
      },
      onRevoke: async (partitions) => {
        this.revoked.push(partitions);
      },
      deliver: async (partition, packed) => {
        await this.delay(partition);
        const decoded = decodeKafkaRecords(this.format, unpackKafkaBatch(packed));
        decoded.events.forEach((event, index) => {
          if (event !== null) this.received.push({ partition, offset: decoded.positions[index], event });
        });
        for (const [, failure] of decoded.failures) this.failures.push(failure);
      },
      onPartitionEnd: async (partition) => {
        this.ended.add(partition);
        for (const wake of this.#endWaiters) wake();
      },
      onFatal: (error) => {
        this.fatal.push(error);
      },
    };
  }

  /** Resolves once `count` partitions have ended. */
  async allEnded(count: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.ended.size < count) {
      if (this.fatal.length > 0) throw this.fatal[0];
      if (Date.now() > deadline)
        throw new Error(`only partitions ${[...this.ended]} ended within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.#endWaiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }
}

export function startRecordedSource(
  owner: RecordingOwner,
  topic: string,
  overrides: Partial<KafkaSourceOptions> = {},
): Promise<KafkaSource> {
  return startKafkaSource({
    brokers: BROKERS,
    topic,
    group: overrides.group ?? uniqueName('group'),
    clientId: 'sluice-test',
    bounded: 'latest',
    brokerTimeoutMs: 30_000,
    fromBeginning: true,
    log: quietLog,
    ...owner.callbacks(),
    ...overrides,
  });
}

export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
