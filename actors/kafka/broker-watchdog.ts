/**
 * Decides when "the broker is away" has lasted too long. kafkajs reconnects and restarts
 * its consumer on its own, forever if allowed; that is right for a broker restart and
 * wrong for a broker that is gone (kafkajs issues 852, 1163: silent hangs, crash loops).
 * Every proof of a live broker (a heartbeat answered, a batch fetched, a group joined)
 * resets the clock; `overdue` says how long it has been silent once past the limit.
 *
 * Pure: the caller passes the time, so tests drive it without timers.
 */
export class BrokerWatchdog {
  readonly #limitMs: number;
  #lastContact: number;

  constructor(limitMs: number, now: number) {
    this.#limitMs = limitMs;
    this.#lastContact = now;
  }

  /** The broker answered at `now`. */
  contact(now: number): void {
    if (now > this.#lastContact) this.#lastContact = now;
  }

  /** Milliseconds of silence when it exceeds the limit, else null. */
  overdue(now: number): number | null {
    const silent = now - this.#lastContact;
    return silent > this.#limitMs ? silent : null;
  }
}
