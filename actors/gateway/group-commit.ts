/**
 * When appended log records become durable, by the `fsync` policy of the gateway log:
 *
 * - `always`: every request gets an fsync of its own (concurrent ones may share the
 *   disk flush, but none waits for a timer). Lowest throughput, smallest window of loss: none.
 * - `group`: requests wait together; a flush (write + fsync) starts at most every
 *   `intervalMs`, counted from the previous start, and satisfies every request made
 *   before it started. A request that finds the interval already over is flushed after
 *   this turn of the event loop, not a timer tick later. Flushes overlap: one whose fsync
 *   is slow does not hold the next one back (up to `MAX_GROUP_FLUSHES` run at once; an
 *   fsync covers everything written to the file before it started). Throughput of
 *   `none` at the price of up to `intervalMs` plus one fsync of ack latency.
 * - `none`: requests wait only until the records are written to the OS (once per turn of
 *   the event loop, for everything appended in it), never for an fsync; the OS writes the
 *   pages back when it likes. A process crash loses nothing acknowledged (the data is in
 *   the page cache), a machine crash may lose acknowledged batches.
 *
 * Requests waiting for the same flush share one promise, so a request costs no promise
 * of its own.
 *
 * Threading model: main thread only.
 */
export type FsyncPolicy = 'group' | 'always' | 'none';

export interface GroupCommitOptions {
  policy: FsyncPolicy;
  intervalMs: number;
  /** Hands appended records to the OS (`none`). */
  write: () => void;
  /** Writes appended records and makes them durable (`group`, `always`). */
  sync: () => Promise<void>;
}

interface Waiters {
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

/** Group-commit flushes that may run at once (each waits on fsyncs in the libuv pool). */
export const MAX_GROUP_FLUSHES = 4;

export class GroupCommit {
  readonly #options: GroupCommitOptions;
  /** Requests waiting for the next flush to start. */
  #waiting: Waiters | null = null;
  #timer: NodeJS.Timeout | null = null;
  #immediate: NodeJS.Immediate | null = null;
  /** The flushes under way. */
  readonly #running = new Set<Promise<void>>();
  /** `performance.now()` at the start of the last flush. */
  #lastStart = Number.NEGATIVE_INFINITY;

  constructor(options: GroupCommitOptions) {
    this.#options = options;
  }

  /** Resolves once everything written before this call is durable (per the policy). */
  request(): Promise<void> {
    if (this.#options.policy === 'always') return this.#options.sync();
    this.#waiting ??= waiters();
    const { promise } = this.#waiting;
    this.#schedule();
    return promise;
  }

  #schedule(): void {
    if (this.#timer !== null || this.#immediate !== null || this.#waiting === null) return;
    // `none` writes synchronously: one flush at a time is all it can use.
    const limit = this.#options.policy === 'none' ? 1 : MAX_GROUP_FLUSHES;
    // At the limit, the end of a running flush schedules the next one.
    if (this.#running.size >= limit) return;
    const wait =
      this.#options.policy === 'none' ? 0 : this.#lastStart + this.#options.intervalMs - performance.now();
    if (wait <= 0) {
      // After this turn's I/O callbacks: every batch read in the same turn joins the flush.
      this.#immediate = setImmediate(() => {
        this.#immediate = null;
        this.#start();
      });
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#start();
    }, wait);
  }

  #start(): void {
    const flush = this.#flush();
    this.#running.add(flush);
    void flush.then(() => {
      this.#running.delete(flush);
      this.#schedule();
    });
  }

  /** Never rejects: a failure rejects the requests it was for. */
  async #flush(): Promise<void> {
    const batch = this.#waiting;
    if (batch === null) return;
    this.#waiting = null;
    this.#lastStart = performance.now();
    try {
      if (this.#options.policy === 'none') this.#options.write();
      else await this.#options.sync();
      batch.resolve();
    } catch (error) {
      batch.reject(error);
    }
  }

  /** Cancels the timer; pending requests are flushed first. */
  async close(): Promise<void> {
    this.#cancel();
    await Promise.all(this.#running);
    // The flushes that ended may have scheduled the next one.
    this.#cancel();
    if (this.#waiting !== null) await this.#flush();
  }

  #cancel(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    if (this.#immediate !== null) clearImmediate(this.#immediate);
    this.#timer = null;
    this.#immediate = null;
  }
}

function waiters(): Waiters {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((onResolve, onReject) => {
    resolve = onResolve;
    reject = onReject;
  });
  return { promise, resolve, reject };
}
