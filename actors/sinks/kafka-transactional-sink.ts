/**
 * The Kafka sink with `transactional: true`: exactly-once output for read_committed
 * consumers. The rows of each source partition go into a transaction of the partition's
 * own transactional id, and that transaction commits with the partition's checkpoint
 * (the two-phase hooks of actors/partition/sink-hooks.ts):
 *
 * 1. `prepare` (checkpoint N+1 about to commit): the partition's buffered rows are sent
 *    into its open transaction.
 * 2. The partition commits checkpoint N+1 in LevelDB, recording those rows with it.
 * 3. `commit`: the transaction commits with `sendOffsets` of the marker (checkpoint id
 *    N+1, digest of the rows) to the partition's marker group.
 * 4. `recover`, when the partition starts from checkpoint K: a new producer with the same
 *    transactional id is initialised, which aborts the transaction a crashed predecessor
 *    left open (rows after K: the partition replays them). If K recorded rows, the marker
 *    group says whether their transaction committed; if not, they are sent again in a
 *    transaction of their own with the same marker.
 *
 * A crash between 2 and 3 leaves rows recorded but not committed: step 4 sends them. A
 * crash before 2 leaves an open transaction: step 4 aborts it and the replay writes the
 * rows again. A crash after 3 leaves the marker equal to K's: nothing is sent twice.
 * Trade-off: rows become visible to read_committed consumers only at checkpoints.
 *
 * Rows that reach this sink without an origin (dead letters forwarded by another sink)
 * go through a plain idempotent producer: at-least-once, like the non-transactional sink.
 *
 * Threading model: a main-thread actor; its cell runs one hook at a time, so the map of
 * partition transactions and their buffers are touched by one hook at a time only.
 * Life cycle: `start` connects an admin client; partitions appear with their `recover`
 * and are replaced by the next one; `stop` sends what is buffered outside transactions,
 * aborts whatever transaction is still open (its rows were never checkpointed) and
 * disconnects. Failures of one partition's producer are refused to that partition's next
 * hook (it restarts from its checkpoint); they never fail the actor.
 */
import type kafkajs from 'kafkajs';
import type { Actor, ActorContext, ActorFactory } from '../../runtime/actor.ts';
import { createKafkaClient } from '../kafka/kafka-client.ts';
import type { SinkWrite } from '../partition/partition-plan.ts';
import type { SinkHook, SinkHookReply } from '../partition/sink-hooks.ts';
import { PartitionTransaction } from './kafka-partition-transaction.ts';
import type { KafkaSinkConfig } from './kafka-sink.ts';
import { isRetriableKafkaError } from './kafka-sink.ts';
import { type KafkaSinkRecord, toKafkaRecord } from './kafka-sink-record.ts';
import { transactionIdentity } from './kafka-transaction-marker.ts';
import { convertLines, deadLetterRows, retryingSinkCall } from './sink-failures.ts';
import { BatchingSinkMetrics, countRows } from './sink-metrics.ts';

export interface KafkaTransactionalSinkConfig extends KafkaSinkConfig {
  /** The topology's name: part of every transactional id and marker group. */
  job: string;
  transactionTimeoutMs: number;
}

export const createKafkaTransactionalSink: ActorFactory<KafkaTransactionalSinkConfig, SinkWrite> = (config) =>
  new KafkaTransactionalSink(config);

const FLUSH_TIMER = 'flush';

/** Rows of one origin waiting to be sent, and what became of its producer. */
interface PartitionOutput {
  transaction: PartitionTransaction;
  writes: SinkWrite[];
  rows: number;
  bytes: number;
  /** Set once a send or commit failed: rows are dropped and every hook refused until `recover`. */
  failure: string | null;
}

class KafkaTransactionalSink implements Actor<SinkWrite> {
  readonly #config: KafkaTransactionalSinkConfig;
  readonly #metrics: BatchingSinkMetrics;
  readonly #partitions = new Map<string, PartitionOutput>();
  /** Writes without an origin, for the plain producer. */
  #untracked: SinkWrite[] = [];
  #kafka: kafkajs.Kafka | null = null;
  #admin: kafkajs.Admin | null = null;
  #plain: kafkajs.Producer | null = null;
  #timerSet = false;

  constructor(config: KafkaTransactionalSinkConfig) {
    this.#config = config;
    this.#metrics = new BatchingSinkMetrics(config.name);
  }

  async start(ctx: ActorContext): Promise<void> {
    const client = createKafkaClient({
      brokers: this.#config.brokers,
      clientId: `sluice-sink-${this.#config.name}`,
      log: ctx.log,
    });
    const admin = client.kafka.admin();
    await this.#retrying(ctx, 'connect', () => admin.connect());
    this.#kafka = client.kafka;
    this.#admin = admin;
  }

  async receive(write: SinkWrite, ctx: ActorContext): Promise<void> {
    const origin = write.origin?.partition;
    if (origin === undefined) {
      this.#untracked.push(write);
    } else {
      const output = this.#partitions.get(origin);
      // Not recovered (this incarnation never saw its `recover`) or failed: the partition's
      // next hook is refused and it replays these rows after its restart.
      if (output === undefined || output.failure !== null) return;
      output.writes.push(write);
      output.rows += write.rows;
      output.bytes += write.data.length;
      if (output.rows >= this.#config.batch.rows || output.bytes >= this.#config.batch.bytes) {
        await this.#send(origin, output, ctx);
        return;
      }
    }
    if (!this.#timerSet) {
      ctx.setTimer(FLUSH_TIMER, this.#config.batch.intervalMs);
      this.#timerSet = true;
    }
  }

  async timer(tag: string, ctx: ActorContext): Promise<void> {
    if (tag !== FLUSH_TIMER) return;
    this.#timerSet = false;
    for (const [origin, output] of this.#partitions) await this.#send(origin, output, ctx);
    await this.#sendUntracked(ctx);
  }

  async request(kind: string, payload: unknown, ctx: ActorContext): Promise<SinkHookReply | undefined> {
    if (kind === 'sync') {
      await this.#sendUntracked(ctx);
      return undefined;
    }
    const hook = payload as SinkHook;
    if (hook.kind !== kind) throw new Error(`kafka sink ${this.#config.name}: unknown request ${kind}`);
    if (hook.kind === 'recover') return this.#recover(hook, ctx);
    const output = this.#partitions.get(hook.partition);
    if (output === undefined) return 'this sink has not recovered the partition (the sink restarted)';
    if (hook.kind === 'prepare') await this.#send(hook.partition, output, ctx);
    else if (output.failure === null) await this.#commit(hook.partition, output, hook.checkpoint, ctx);
    return output.failure;
  }

  async stop(ctx: ActorContext): Promise<void> {
    if (this.#timerSet) ctx.cancelTimer(FLUSH_TIMER);
    await this.#sendUntracked(ctx);
    for (const output of this.#partitions.values()) await output.transaction.close();
    this.#partitions.clear();
    this.#reportUncommitted(ctx);
    await this.#plain?.disconnect().catch(() => {});
    await this.#admin?.disconnect().catch(() => {});
  }

  /** A fresh producer for the partition; the rows the restored checkpoint recorded committed exactly once. */
  async #recover(hook: Extract<SinkHook, { kind: 'recover' }>, ctx: ActorContext): Promise<SinkHookReply> {
    const previous = this.#partitions.get(hook.partition);
    this.#partitions.delete(hook.partition);
    await previous?.transaction.close();
    const pending =
      hook.pending === null
        ? null
        : {
            rows: { checkpoint: hook.checkpoint, rows: hook.pending },
            records: await this.#records(hook.pending, ctx, false),
          };
    const kafka = this.#kafka;
    const admin = this.#admin;
    if (kafka === null || admin === null)
      throw new Error(`kafka sink ${this.#config.name} used before start`);
    try {
      const { transaction, resent } = await this.#retrying(ctx, 'recover', () =>
        PartitionTransaction.open(
          {
            kafka,
            admin,
            topic: this.#config.topic,
            identity: transactionIdentity(this.#config.job, this.#config.name, hook.partition),
            transactionTimeoutMs: this.#config.transactionTimeoutMs,
            log: ctx.log,
          },
          pending,
        ),
      );
      if (pending !== null) {
        ctx.log.info(resent ? 'kafka transaction resent' : 'kafka transaction found committed', {
          sink: this.#config.name,
          partition: hook.partition,
          checkpoint: hook.checkpoint,
          records: pending.records.length,
        });
      }
      this.#partitions.set(hook.partition, { transaction, writes: [], rows: 0, bytes: 0, failure: null });
      this.#reportUncommitted(ctx);
      return null;
    } catch (error) {
      this.#reportUncommitted(ctx);
      return `recovery failed: ${(error as Error).message}`;
    }
  }

  /** Sends the partition's buffered rows into its open transaction; a failure marks the partition. */
  async #send(origin: string, output: PartitionOutput, ctx: ActorContext): Promise<void> {
    if (output.failure !== null || output.writes.length === 0) return;
    const writes = output.writes;
    output.writes = [];
    output.rows = 0;
    output.bytes = 0;
    let rows = '';
    for (const write of writes) rows += write.data;
    try {
      await output.transaction.send(rows, await this.#records(rows, ctx));
      for (const write of writes) countRows(ctx.metrics, this.#config.name, write);
    } catch (error) {
      await this.#fail(origin, output, 'send', error, ctx);
    }
    this.#reportUncommitted(ctx);
  }

  async #commit(
    origin: string,
    output: PartitionOutput,
    checkpoint: number,
    ctx: ActorContext,
  ): Promise<void> {
    await this.#send(origin, output, ctx);
    if (output.failure !== null) return;
    try {
      await output.transaction.commit(checkpoint);
    } catch (error) {
      await this.#fail(origin, output, 'commit', error, ctx);
    }
    this.#reportUncommitted(ctx);
  }

  /** What the partitions' open transactions hold, summed (`sluice_sink_uncommitted_records`). */
  #reportUncommitted(ctx: ActorContext): void {
    let records = 0;
    for (const output of this.#partitions.values()) records += output.transaction.uncommitted;
    this.#metrics.uncommitted(ctx.metrics, records);
  }

  async #fail(
    origin: string,
    output: PartitionOutput,
    operation: string,
    error: unknown,
    ctx: ActorContext,
  ): Promise<void> {
    output.failure = `${operation} failed: ${(error as Error).message}`;
    output.writes = [];
    ctx.log.warn('kafka transaction failed; the partition restarts from its checkpoint', {
      sink: this.#config.name,
      partition: origin,
      operation,
      error: (error as Error).message,
    });
    this.#metrics.failed(ctx.metrics, operation, 'KAFKA_TXN');
    await output.transaction.close();
  }

  /**
   * The records for the lines of `rows`; lines that cannot be made records go to the
   * dead-letter output, unless `deadLetter` is false (rows a checkpoint recorded, resent
   * on recovery: their refused lines were dead-lettered when first sent).
   */
  async #records(rows: string, ctx: ActorContext, deadLetter = true): Promise<KafkaSinkRecord[]> {
    const { converted, rejected } = convertLines(rows, 'SINK_BAD_JSON', (line) =>
      toKafkaRecord(line, this.#config.keyFields, this.#config.format),
    );
    if (deadLetter) await deadLetterRows(ctx, this.#config, this.#metrics, rejected);
    return converted;
  }

  /** Writes without an origin: a plain idempotent producer, retried while the broker is unavailable. */
  async #sendUntracked(ctx: ActorContext): Promise<void> {
    if (this.#untracked.length === 0) return;
    const writes = this.#untracked;
    this.#untracked = [];
    let rows = '';
    for (const write of writes) rows += write.data;
    const messages = await this.#records(rows, ctx);
    if (messages.length === 0) return;
    const kafka = this.#kafka;
    if (kafka === null) throw new Error(`kafka sink ${this.#config.name} used before start`);
    await this.#retrying(ctx, 'write', async () => {
      if (this.#plain === null) {
        const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
        await producer.connect();
        this.#plain = producer;
      }
      await this.#plain.send({ topic: this.#config.topic, acks: -1, messages });
    });
    for (const write of writes) countRows(ctx.metrics, this.#config.name, write);
  }

  #retrying<T>(ctx: ActorContext, what: string, operation: () => Promise<T>): Promise<T> {
    return retryingSinkCall(ctx, this.#config, this.#metrics, what, operation, isRetriableKafkaError);
  }
}
