/**
 * The rows a batching sink holds between flushes: JSON lines with their count, their
 * size, and per-output row counts for `sluice_events_out_total`. Pure (no I/O, no clock),
 * so the limits are testable on their own.
 *
 * Rows are also kept per origin (partition and checkpoint, see `WriteOrigin`), and each
 * taken batch numbers its part of every partition from 0 after each new checkpoint of
 * that partition. A partition that crashes restores its checkpoint and writes the same
 * rows again, which then get the same (partition, checkpoint, number) — the identity a
 * target can hand to the server for deduplication (ClickHouse's insert token).
 *
 * Threading model: owned by one sink actor, touched by one hook at a time.
 */
import type { WriteOrigin } from '../partition/partition-plan.ts';

export interface BatchLimits {
  /** Flush when this many rows are buffered. */
  rows: number;
  /** Flush when the buffered JSON text reaches this many bytes (UTF-16 code units, close to bytes for ASCII). */
  bytes: number;
  /** Flush at most this long after the first row of a batch arrived. */
  intervalMs: number;
}

/**
 * The rows of one origin within a taken batch, in arrival order. `sequence` counts this
 * partition's parts since its checkpoint `origin.checkpoint` (0, 1, …); rows without an
 * origin (dead letters a sink forwards) form one part with origin null and sequence 0.
 */
export interface BatchPart {
  origin: WriteOrigin | null;
  sequence: number;
  lines: string[];
}

/** One taken batch: its rows as JSON lines without newlines, and where they came from. */
export interface Batch {
  lines: string[];
  bytes: number;
  outputs: Record<string, number>;
  parts: BatchPart[];
}

const noOrigin = '\u0000none';

export class BatchBuffer {
  readonly #limits: BatchLimits;
  #lines: string[] = [];
  #bytes = 0;
  #outputs: Record<string, number> = {};
  #parts = new Map<string, { origin: WriteOrigin | null; lines: string[] }>();
  /** Per partition, the checkpoint of its last taken part and the number the next part gets. */
  readonly #sequences = new Map<string, { checkpoint: number; next: number }>();

  constructor(limits: BatchLimits) {
    this.#limits = limits;
  }

  get rows(): number {
    return this.#lines.length;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Adds the JSON lines of `data` (each ending in a newline); returns how many rows it held. */
  add(data: string, outputs: Readonly<Record<string, number>>, origin: WriteOrigin | null = null): number {
    const partKey = origin === null ? noOrigin : `${origin.partition}\u0000${origin.checkpoint}`;
    let part = this.#parts.get(partKey);
    if (part === undefined) {
      part = { origin: origin === null ? null : { ...origin }, lines: [] };
      this.#parts.set(partKey, part);
    }
    let start = 0;
    let added = 0;
    while (start < data.length) {
      let end = data.indexOf('\n', start);
      if (end === -1) end = data.length;
      if (end > start) {
        const line = data.slice(start, end);
        this.#lines.push(line);
        part.lines.push(line);
        added++;
      }
      start = end + 1;
    }
    this.#bytes += data.length;
    for (const [output, rows] of Object.entries(outputs)) {
      this.#outputs[output] = (this.#outputs[output] ?? 0) + rows;
    }
    return added;
  }

  /** True when the rows or bytes limit is reached: the sink must flush before taking more. */
  get full(): boolean {
    return this.#lines.length >= this.#limits.rows || this.#bytes >= this.#limits.bytes;
  }

  /** Hands over everything buffered, numbering its parts, and starts empty. */
  take(): Batch {
    const parts: BatchPart[] = [];
    for (const { origin, lines } of this.#parts.values()) {
      if (lines.length === 0) continue;
      parts.push({ origin, sequence: origin === null ? 0 : this.#nextSequence(origin), lines });
    }
    const batch = { lines: this.#lines, bytes: this.#bytes, outputs: this.#outputs, parts };
    this.#lines = [];
    this.#bytes = 0;
    this.#outputs = {};
    this.#parts = new Map();
    return batch;
  }

  #nextSequence(origin: WriteOrigin): number {
    let state = this.#sequences.get(origin.partition);
    if (state === undefined || state.checkpoint !== origin.checkpoint) {
      state = { checkpoint: origin.checkpoint, next: 0 };
      this.#sequences.set(origin.partition, state);
    }
    return state.next++;
  }
}
