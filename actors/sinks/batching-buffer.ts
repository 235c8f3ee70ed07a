/**
 * The rows a batching sink holds between flushes: JSON lines with their count, their
 * size, and per-output row counts for `sluice_events_out_total`. Pure (no I/O, no clock),
 * so the limits are testable on their own.
 *
 * Threading model: owned by one sink actor, touched by one hook at a time.
 */

export interface BatchLimits {
  /** Flush when this many rows are buffered. */
  rows: number;
  /** Flush when the buffered JSON text reaches this many bytes (UTF-16 code units, close to bytes for ASCII). */
  bytes: number;
  /** Flush at most this long after the first row of a batch arrived. */
  intervalMs: number;
}

/** One taken batch: its rows as JSON lines without newlines, and where they came from. */
export interface Batch {
  lines: string[];
  bytes: number;
  outputs: Record<string, number>;
}

export class BatchBuffer {
  readonly #limits: BatchLimits;
  #lines: string[] = [];
  #bytes = 0;
  #outputs: Record<string, number> = {};

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
  add(data: string, outputs: Readonly<Record<string, number>>): number {
    let start = 0;
    let added = 0;
    while (start < data.length) {
      let end = data.indexOf('\n', start);
      if (end === -1) end = data.length;
      if (end > start) {
        this.#lines.push(data.slice(start, end));
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

  /** Hands over everything buffered and starts empty. */
  take(): Batch {
    const batch = { lines: this.#lines, bytes: this.#bytes, outputs: this.#outputs };
    this.#lines = [];
    this.#bytes = 0;
    this.#outputs = {};
    return batch;
  }
}
