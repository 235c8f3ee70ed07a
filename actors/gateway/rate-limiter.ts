/**
 * A token bucket per connection: `ratePerSecond` events per second on average, bursts
 * up to one second's worth. A batch is admitted whole or refused whole (429), so a
 * client never has half a batch accepted. Pure apart from the injected clock.
 */
export class RateLimiter {
  readonly #rate: number;
  readonly #now: () => number;
  #tokens: number;
  #last: number;

  /** `ratePerSecond` 0 admits everything. */
  constructor(ratePerSecond: number, now: () => number = Date.now) {
    this.#rate = ratePerSecond;
    this.#now = now;
    this.#tokens = ratePerSecond;
    this.#last = now();
  }

  /** Takes `events` tokens if there are enough; a batch larger than the burst passes when the bucket is full. */
  admit(events: number): boolean {
    if (this.#rate === 0) return true;
    const now = this.#now();
    this.#tokens = Math.min(this.#rate, this.#tokens + ((now - this.#last) * this.#rate) / 1000);
    this.#last = now;
    const cost = Math.min(events, this.#rate);
    if (this.#tokens < cost) return false;
    this.#tokens -= cost;
    return true;
  }
}
