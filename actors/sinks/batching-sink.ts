/**
 * The batching sink actor shared by the ClickHouse, BigQuery and Kafka sinks: it buffers
 * rows, flushes by rows, bytes and time, retries retriable failures with backoff, sends
 * rows the target refuses to the dead-letter output, and answers the pre-checkpoint
 * `sync` only once every row it was handed is durable in the target.
 *
 * Back-pressure: while a flush is in progress or retrying (target down), `receive` does
 * not return, so this actor's bounded mailbox fills, the partitions' emits wait, and the
 * sources pause. Memory stays bounded by the batch limits plus the mailbox.
 *
 * Threading model: a main-thread actor; its cell runs one hook at a time, so the buffer
 * and the target are touched by one hook at a time only.
 * Life cycle: `start` opens the target (table checks, connections; retried while the
 * target is unavailable); `stop` flushes and closes it. A restarted incarnation may have
 * lost rows its predecessor held, so it refuses every `sync`: the checkpoint then fails,
 * the job stops, and a restart replays from the last checkpoint — nothing is lost.
 */
import type { Actor, ActorContext, ActorFactory } from '../../runtime/actor.ts';
import type { SinkWrite } from '../partition/partition-plan.ts';
import { BatchBuffer, type BatchLimits, type BatchPart } from './batching-buffer.ts';
import { sinkError } from './batching-errors.ts';
import type { RetryPolicy } from './batching-retry.ts';
import { deadLetterRows, type RejectedRow, retryingSinkCall } from './sink-failures.ts';
import { BatchingSinkMetrics } from './sink-metrics.ts';

export type { RejectedRow } from './sink-failures.ts';

/**
 * What a concrete sink provides: how to write one batch durably. `write` throws a
 * retriable error to be retried, any other error to fail the actor, and returns the rows
 * it refused (they go to the dead-letter output). `parts` are the same rows grouped by
 * origin and numbered (see `BatchPart`); a retry passes the same parts again.
 */
export interface BatchTarget {
  open?(ctx: ActorContext): Promise<void>;
  write(lines: readonly string[], ctx: ActorContext, parts: readonly BatchPart[]): Promise<RejectedRow[]>;
  close?(): Promise<void>;
}

export interface BatchingSinkConfig {
  name: string;
  /** The topology's dead-letter sink, or null: rejected rows are then counted and logged only. */
  deadLetter: string | null;
  batch: BatchLimits;
  retry?: RetryPolicy;
}

const FLUSH_TIMER = 'flush';

/** Wraps a target factory into an actor factory with the shared batching behaviour. */
export function batchingSinkFactory<Config extends BatchingSinkConfig>(
  makeTarget: (config: Config) => BatchTarget,
): ActorFactory<Config, SinkWrite> {
  return (config, info) => new BatchingSink(config, makeTarget(config), info.restarts);
}

export class BatchingSink implements Actor<SinkWrite> {
  readonly #config: BatchingSinkConfig;
  readonly #target: BatchTarget;
  readonly #buffer: BatchBuffer;
  readonly #restarts: number;
  readonly #metrics: BatchingSinkMetrics;
  #timerSet = false;
  /** Rows and bytes of the batch being written (and retried), not yet durable. */
  #writing = { rows: 0, bytes: 0 };

  constructor(config: BatchingSinkConfig, target: BatchTarget, restarts = 0) {
    this.#config = config;
    this.#target = target;
    this.#buffer = new BatchBuffer(config.batch);
    this.#restarts = restarts;
    this.#metrics = new BatchingSinkMetrics(config.name);
  }

  async start(ctx: ActorContext): Promise<void> {
    const open = this.#target.open;
    if (open) await this.#retrying(ctx, 'open', () => open.call(this.#target, ctx));
  }

  async receive(write: SinkWrite, ctx: ActorContext): Promise<void> {
    this.#buffer.add(write.data, write.outputs, write.origin ?? null);
    this.#reportHolding(ctx);
    if (this.#buffer.full) await this.#flush(ctx);
    else if (!this.#timerSet && this.#buffer.rows > 0) {
      ctx.setTimer(FLUSH_TIMER, this.#config.batch.intervalMs);
      this.#timerSet = true;
    }
  }

  async timer(tag: string, ctx: ActorContext): Promise<void> {
    if (tag !== FLUSH_TIMER) return;
    this.#timerSet = false;
    await this.#flush(ctx);
  }

  /** `sync`: flushes, so everything handed over before it is durable when it resolves. */
  async request(kind: string, _payload: unknown, ctx: ActorContext): Promise<void> {
    if (kind !== 'sync') throw new Error(`sink ${this.#config.name}: unknown request ${kind}`);
    if (this.#restarts > 0) {
      throw sinkError('SLUICE_ERR_SINK_WRITE_FAILED', [
        this.#config.name,
        'an earlier incarnation failed and may have lost buffered rows; restart from the last checkpoint',
      ]);
    }
    await this.#flush(ctx);
  }

  async stop(ctx: ActorContext): Promise<void> {
    await this.#flush(ctx);
    await this.#target.close?.();
  }

  async #flush(ctx: ActorContext): Promise<void> {
    if (this.#timerSet) {
      ctx.cancelTimer(FLUSH_TIMER);
      this.#timerSet = false;
    }
    if (this.#buffer.rows === 0) return;
    const batch = this.#buffer.take();
    this.#writing = { rows: batch.lines.length, bytes: batch.bytes };
    this.#reportHolding(ctx);
    const started = performance.now();
    const rejected = await this.#retrying(ctx, 'write', () =>
      this.#target.write(batch.lines, ctx, batch.parts),
    );
    this.#metrics.written(
      ctx.metrics,
      batch.lines.length - rejected.length,
      batch.outputs,
      (performance.now() - started) / 1000,
    );
    this.#writing = { rows: 0, bytes: 0 };
    this.#reportHolding(ctx);
    await deadLetterRows(ctx, this.#config, this.#metrics, rejected);
  }

  #reportHolding(ctx: ActorContext): void {
    this.#metrics.holding(
      ctx.metrics,
      this.#buffer.rows + this.#writing.rows,
      this.#buffer.bytes + this.#writing.bytes,
    );
  }

  #retrying<T>(ctx: ActorContext, what: string, operation: () => Promise<T>): Promise<T> {
    return retryingSinkCall(ctx, this.#config, this.#metrics, what, operation);
  }
}
