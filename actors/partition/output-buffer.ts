/**
 * Collects the lines a partition writes while it processes one batch, grouped by
 * destination, so that each batch costs one message per destination rather than one
 * per row. Lines keep their order within a destination (a sink and file), whichever
 * window or stream produced them: that order is the output order.
 *
 * Threading model: owned by one partition actor, used on its worker thread only.
 */
import type { ActorContext } from '../../runtime/actor.ts';
import type { OutputTarget, SinkWrite, WriteOrigin } from './partition-plan.ts';

interface Pending {
  target: OutputTarget;
  chunks: string[];
  rows: number;
  /** Rows per producing output (window, stream, dead letters), for metrics. */
  outputs: Record<string, number>;
}

export class OutputBuffer {
  #pending = new Map<string, Pending>();
  /** The target of the last `add` and its destination, until the next flush. */
  #lastTarget: OutputTarget | null = null;
  #lastPending: Pending | undefined = undefined;
  /** Bytes handed to the sinks per file, counted from the length the file had at restore. */
  readonly filePositions: Map<string, number>;
  /** Stamped on every write; the owner moves `checkpoint` on after each commit. */
  readonly origin: WriteOrigin | null;
  /** Sees every write before it is handed over (the partition records its two-phase sinks' rows). */
  onWrite: ((write: SinkWrite) => void) | null = null;

  constructor(filePositions: ReadonlyMap<string, number> = new Map(), origin: WriteOrigin | null = null) {
    this.filePositions = new Map(filePositions);
    this.origin = origin;
  }

  /** Appends one line (no trailing newline) bound for `target`, produced by `output`. */
  add(target: OutputTarget, output: string, line: string): void {
    // A window firing adds 100K rows for one target in a row: the same target object
    // finds its destination without building and hashing its id again.
    let pending = target === this.#lastTarget ? this.#lastPending : undefined;
    if (pending === undefined) {
      const id = `${target.sink}\u0000${target.file ?? ''}`;
      pending = this.#pending.get(id);
      if (pending === undefined) {
        pending = { target, chunks: [], rows: 0, outputs: {} };
        this.#pending.set(id, pending);
      }
      this.#lastTarget = target;
      this.#lastPending = pending;
    }
    pending.chunks.push(line);
    pending.rows++;
    pending.outputs[output] = (pending.outputs[output] ?? 0) + 1;
  }

  get isEmpty(): boolean {
    return this.#pending.size === 0;
  }

  /** Sends everything collected, one `sink` emit per destination, and waits for each to be accepted. */
  async flush(ctx: ActorContext): Promise<void> {
    if (this.#pending.size === 0) return;
    const batches = [...this.#pending.values()];
    this.#pending.clear();
    this.#lastTarget = null;
    this.#lastPending = undefined;
    for (const pending of batches) {
      const data = `${pending.chunks.join('\n')}\n`;
      const file = pending.target.file;
      if (file !== null)
        this.filePositions.set(file, (this.filePositions.get(file) ?? 0) + Buffer.byteLength(data));
      const write: SinkWrite = {
        sink: pending.target.sink,
        file: pending.target.file,
        data,
        rows: pending.rows,
        outputs: pending.outputs,
      };
      if (this.origin !== null) write.origin = { ...this.origin };
      this.onWrite?.(write);
      await ctx.emit('sink', write);
    }
  }
}
