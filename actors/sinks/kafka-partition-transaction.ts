/**
 * The transactional producer of one (sink, source partition): the open transaction that
 * collects the partition's rows between two checkpoints, its commit with the marker, and
 * the recovery that runs when the partition (re)starts. See kafka-transaction-marker.ts
 * for why the marker makes the recovery exact.
 *
 * Threading model: owned by the transactional Kafka sink actor (main thread), used by one
 * of its hooks at a time.
 * Life cycle: `open` (InitProducerId: fences a predecessor, resolves the recorded rows of
 * the restored checkpoint) → `send`… `commit`… → `close` (aborts whatever is open).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type kafkajs from 'kafkajs';
import type { Logger } from '../../runtime/logger.ts';
import type { KafkaSinkRecord } from './kafka-sink-record.ts';
import {
  type CommittedMarker,
  markerOf,
  type PendingRows,
  pendingOutcome,
  RowDigest,
  type TransactionIdentity,
  type TransactionMarker,
} from './kafka-transaction-marker.ts';

export interface PartitionTransactionOptions {
  kafka: kafkajs.Kafka;
  admin: kafkajs.Admin;
  topic: string;
  identity: TransactionIdentity;
  transactionTimeoutMs: number;
  log: Logger;
}

/** Brokers before 3.9.1 materialise a committed transaction's offsets a moment after it completes (KAFKA-17507). */
const markerRecheckMs = 500;

/** What the marker group holds for the topic's partition 0, read after the producer was initialised. */
async function readMarker(options: PartitionTransactionOptions): Promise<CommittedMarker | null> {
  const groups = await options.admin.fetchOffsets({
    groupId: options.identity.markerGroup,
    topics: [options.topic],
  });
  const entry = groups[0]?.partitions.find((partition) => partition.partition === 0);
  if (entry === undefined || entry.offset === '-1') return null;
  return { offset: entry.offset, metadata: entry.metadata };
}

export class PartitionTransaction {
  readonly #options: PartitionTransactionOptions;
  readonly #producer: kafkajs.Producer;
  #transaction: kafkajs.Transaction | null;
  readonly #digest = new RowDigest();
  /** Records sent into the open transaction: invisible to read_committed consumers until it commits. */
  #uncommitted = 0;

  private constructor(
    options: PartitionTransactionOptions,
    producer: kafkajs.Producer,
    transaction: kafkajs.Transaction | null,
  ) {
    this.#options = options;
    this.#producer = producer;
    this.#transaction = transaction;
  }

  /**
   * A producer for the partition, initialised (any transaction a predecessor left open is
   * aborted, or completed if it was committing), with `pending` — the rows the restored
   * checkpoint recorded — resolved: left alone when their transaction committed, written
   * again in a transaction of their own with the same marker when it did not.
   */
  static async open(
    options: PartitionTransactionOptions,
    pending: { rows: PendingRows; records: KafkaSinkRecord[] } | null,
  ): Promise<{ transaction: PartitionTransaction; resent: boolean }> {
    const producer = options.kafka.producer({
      transactionalId: options.identity.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: options.transactionTimeoutMs,
    });
    await producer.connect();
    try {
      // The first transaction() sends InitProducerId: the fence. Only after it is the marker final.
      const first = await producer.transaction();
      let resent = false;
      if (pending !== null) {
        let outcome = pendingOutcome(await readMarker(options), pending.rows);
        if (outcome === 'resend') {
          await sleep(markerRecheckMs);
          outcome = pendingOutcome(await readMarker(options), pending.rows);
        }
        if (outcome === 'resend') {
          if (pending.records.length > 0) {
            await first.send({ topic: options.topic, acks: -1, messages: pending.records });
          }
          await commitWithMarker(first, options, markerOf(pending.rows));
          resent = true;
        }
      }
      return { transaction: new PartitionTransaction(options, producer, resent ? null : first), resent };
    } catch (error) {
      await producer.disconnect().catch(() => {});
      throw error;
    }
  }

  /** Records sent into the open transaction, not committed yet. */
  get uncommitted(): number {
    return this.#uncommitted;
  }

  /** Rows written since the last commit. */
  get dirty(): boolean {
    return !this.#digest.empty;
  }

  /**
   * Adds rows to the open transaction (one is begun if none is open). `rows` is the text
   * the partition wrote, digested for the marker; `records` what of it goes to the topic.
   */
  async send(rows: string, records: KafkaSinkRecord[]): Promise<void> {
    this.#digest.add(rows);
    if (records.length === 0) return;
    this.#transaction ??= await this.#producer.transaction();
    await this.#transaction.send({ topic: this.#options.topic, acks: -1, messages: records });
    this.#uncommitted += records.length;
  }

  /** Commits the open transaction with the marker of checkpoint `checkpoint`; nothing to do without rows. */
  async commit(checkpoint: number): Promise<boolean> {
    if (this.#digest.empty) return false;
    const marker = this.#digest.marker(checkpoint);
    this.#transaction ??= await this.#producer.transaction();
    const transaction = this.#transaction;
    this.#transaction = null;
    await commitWithMarker(transaction, this.#options, marker);
    this.#uncommitted = 0;
    return true;
  }

  /** Aborts the open transaction, if any (best effort: a fenced producer cannot), and disconnects. */
  async close(): Promise<void> {
    const transaction = this.#transaction;
    this.#transaction = null;
    this.#uncommitted = 0;
    if (transaction?.isActive()) await transaction.abort().catch(() => {});
    await this.#producer.disconnect().catch(() => {});
  }
}

async function commitWithMarker(
  transaction: kafkajs.Transaction,
  options: PartitionTransactionOptions,
  marker: TransactionMarker,
): Promise<void> {
  // kafkajs passes `metadata` through to TxnOffsetCommit; its types omit the field.
  const partitions = [{ partition: 0, offset: marker.offset, metadata: marker.metadata }];
  await transaction.sendOffsets({
    consumerGroupId: options.identity.markerGroup,
    topics: [{ topic: options.topic, partitions }],
  });
  await transaction.commit();
}
