/**
 * A tumbling one-minute `count()` per `user_id`, on the real `WindowOperator`: what a
 * source bench feeds when it measures latency up to "window state applied". Emitted rows
 * are only summed, so a run can check afterwards that every event it fed was counted.
 */
import { type Emitter, type SluiceEvent, WindowOperator } from '../../actors/windows/index.ts';

export class CountingWindow {
  readonly #operator: WindowOperator;
  #counted = 0;
  #late = 0;
  readonly #emit: Emitter = {
    row: (row) => {
      this.#counted += row.events as number;
    },
    late: () => {
      this.#late++;
    },
  };

  constructor(maxOutOfOrderMs = 3_600_000) {
    this.#operator = new WindowOperator({
      window: { type: 'tumbling', sizeMs: 60_000 },
      allowedLatenessMs: 0,
      maxOutOfOrderMs,
      groupBy: ['user_id'],
      aggregates: [{ name: 'events', fn: 'count' }],
    });
  }

  /** Applies `events` at event times `times` to the window state. */
  apply(events: readonly SluiceEvent[], times: ArrayLike<number>): void {
    this.#operator.processBatch(events, times, this.#emit);
  }

  /** Fires every window; resolves to events counted in rows and events refused as late. */
  finish(): { counted: number; late: number } {
    this.#operator.advanceWatermark(Number.POSITIVE_INFINITY, this.#emit);
    return { counted: this.#counted, late: this.#late };
  }
}
