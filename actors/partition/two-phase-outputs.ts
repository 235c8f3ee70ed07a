/**
 * The partition's side of its two-phase sinks (sink-hooks.ts): it keeps the rows it wrote
 * to each of them since the last checkpoint, so the next checkpoint can record them, and
 * calls the sinks' hooks around each checkpoint and at start.
 *
 * Threading model: owned by one partition actor, used on its worker thread only.
 */
import type { ActorContext } from '../../runtime/actor.ts';
import type { SinkWrite } from './partition-plan.ts';
import { SINK_HOOK_CHANNEL, type SinkHook } from './sink-hooks.ts';

export class TwoPhaseOutputs {
  readonly #partition: string;
  /** Rows written since the last checkpoint, by sink. */
  readonly #rows = new Map<string, string[]>();

  /** `partition`: `<source>/<partition>`, as in `WriteOrigin`. */
  constructor(sinks: readonly string[], partition: string) {
    this.#partition = partition;
    for (const sink of sinks) this.#rows.set(sink, []);
  }

  has(sink: string): boolean {
    return this.#rows.has(sink);
  }

  /** Every write the partition hands to a sink passes here. */
  record(write: SinkWrite): void {
    this.#rows.get(write.sink)?.push(write.data);
  }

  /** What the next checkpoint records: the rows of each sink that has any. */
  pending(): Map<string, string> {
    const pending = new Map<string, string>();
    for (const [sink, chunks] of this.#rows) if (chunks.length > 0) pending.set(sink, chunks.join(''));
    return pending;
  }

  /** At start: each sink settles the rows checkpoint `checkpoint` recorded (`pending`) and fences predecessors. */
  async recover(ctx: ActorContext, checkpoint: number, pending: ReadonlyMap<string, string>): Promise<void> {
    for (const sink of this.#rows.keys()) {
      await this.#call(ctx, {
        kind: 'recover',
        sink,
        partition: this.#partition,
        checkpoint,
        pending: pending.get(sink) ?? null,
      });
    }
  }

  /** Before the checkpoint commits: every row handed over is in the sinks' open transactions. */
  async prepare(ctx: ActorContext): Promise<void> {
    for (const sink of this.#rows.keys())
      await this.#call(ctx, { kind: 'prepare', sink, partition: this.#partition });
  }

  /** After checkpoint `checkpoint` is durable: the sinks commit; the rows start over. */
  async committed(ctx: ActorContext, checkpoint: number): Promise<void> {
    for (const chunks of this.#rows.values()) chunks.length = 0;
    for (const sink of this.#rows.keys()) {
      await this.#call(ctx, { kind: 'commit', sink, partition: this.#partition, checkpoint });
    }
  }

  #call(ctx: ActorContext, hook: SinkHook): Promise<void> {
    return ctx.emit(SINK_HOOK_CHANNEL, hook);
  }
}
