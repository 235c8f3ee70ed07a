/**
 * When appended log records become durable, by the `fsync` policy of the gateway log:
 *
 * - `always`: every request gets an fsync of its own (concurrent ones may share the
 *   disk flush, but none waits for a timer). Lowest throughput, smallest window of loss: none.
 * - `group`: requests wait together; one fsync runs at most every `intervalMs` and
 *   satisfies every request made before it started. Throughput of `none` at the price
 *   of up to `intervalMs` extra ack latency.
 * - `none`: requests resolve at once; the OS writes the pages back when it likes. A
 *   process crash loses nothing (the data is in the page cache), a machine crash may
 *   lose acknowledged batches.
 *
 * Threading model: main thread only.
 */
export type FsyncPolicy = 'group' | 'always' | 'none';

export class GroupCommit {
  readonly #policy: FsyncPolicy;
  readonly #intervalMs: number;
  readonly #sync: () => Promise<void>;
  /** Requests waiting for the next fsync to start. */
  #waiting: Array<{ resolve(): void; reject(error: unknown): void }> = [];
  #timer: NodeJS.Timeout | null = null;
  #running = false;
  #lastStart = 0;

  constructor(policy: FsyncPolicy, intervalMs: number, sync: () => Promise<void>) {
    this.#policy = policy;
    this.#intervalMs = intervalMs;
    this.#sync = sync;
  }

  /** Resolves once everything written before this call is durable (per the policy). */
  request(): Promise<void> {
    if (this.#policy === 'none') return Promise.resolve();
    if (this.#policy === 'always') return this.#sync();
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#timer !== null || this.#running || this.#waiting.length === 0) return;
    const wait = Math.max(0, this.#lastStart + this.#intervalMs - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#flush();
    }, wait);
  }

  async #flush(): Promise<void> {
    const batch = this.#waiting;
    this.#waiting = [];
    this.#running = true;
    this.#lastStart = Date.now();
    try {
      await this.#sync();
      for (const waiter of batch) waiter.resolve();
    } catch (error) {
      for (const waiter of batch) waiter.reject(error);
    } finally {
      this.#running = false;
      this.#schedule();
    }
  }

  /** Cancels the timer; pending requests are flushed first. */
  async close(): Promise<void> {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#waiting.length > 0) await this.#flush();
  }
}
