/**
 * The counting a Node developer writes by hand: a `Map` of counts per (1-minute window,
 * user), flushed when the largest event time seen passes a window's end plus the allowed
 * disorder. Pure: events in, flushed windows out; the Kafka loop lives in naive-node.ts.
 */
export interface FlushedWindow {
  windowStart: number;
  userId: string;
  count: number;
}

export class WindowCounter {
  readonly #sizeMs: number;
  readonly #maxOutOfOrderMs: number;
  /** window start → user → count. */
  readonly #open = new Map<number, Map<string, number>>();
  #maxEventTime = Number.NEGATIVE_INFINITY;

  constructor(sizeMs = 60_000, maxOutOfOrderMs = 2000) {
    this.#sizeMs = sizeMs;
    this.#maxOutOfOrderMs = maxOutOfOrderMs;
  }

  /** Counts one event; returns the windows its time closed (often none). */
  add(userId: string, eventTime: number): FlushedWindow[] {
    const start = eventTime - (eventTime % this.#sizeMs);
    let users = this.#open.get(start);
    if (!users) {
      users = new Map();
      this.#open.set(start, users);
    }
    users.set(userId, (users.get(userId) ?? 0) + 1);
    if (eventTime <= this.#maxEventTime) return [];
    this.#maxEventTime = eventTime;
    return this.#flushBefore(eventTime - this.#maxOutOfOrderMs);
  }

  /** Flushes every open window (end of input). */
  flushAll(): FlushedWindow[] {
    return this.#flushBefore(Number.POSITIVE_INFINITY);
  }

  #flushBefore(watermark: number): FlushedWindow[] {
    const out: FlushedWindow[] = [];
    for (const [start, users] of this.#open) {
      if (start + this.#sizeMs > watermark) continue;
      for (const [userId, count] of users) out.push({ windowStart: start, userId, count });
      this.#open.delete(start);
    }
    return out;
  }
}
