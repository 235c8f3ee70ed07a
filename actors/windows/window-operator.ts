import { BucketedWindows } from './bucketed-windows.ts';
import { createKeyEncoder } from './group-key.ts';
import type { PartialBatch } from './partial-batch.ts';
import { createRowFactory } from './row-factory.ts';
import { SessionWindows } from './session-windows.ts';
import type {
  Emitter,
  EncodedTime,
  SluiceEvent,
  WindowOperatorConfig,
  WindowOperatorState,
} from './types.ts';
import { validateWindowConfig } from './window-config.ts';
import { WindowOperatorError, WindowSnapshotError } from './window-errors.ts';
import type { WindowStore } from './window-store.ts';

function encodeTime(time: number): EncodedTime {
  if (time === Number.POSITIVE_INFINITY) return 'inf';
  if (time === Number.NEGATIVE_INFINITY) return '-inf';
  return time;
}

function decodeTime(time: EncodedTime): number {
  if (time === 'inf') return Number.POSITIVE_INFINITY;
  if (time === '-inf') return Number.NEGATIVE_INFINITY;
  if (typeof time !== 'number' || !Number.isFinite(time)) {
    throw new WindowSnapshotError(`watermark ${String(time)} is not a time`);
  }
  return time;
}

/**
 * The event-time window operator of one source partition: a pure state machine, no
 * I/O, no clock, no timers. Events go in with their parsed event time; rows and late
 * records come out through the `Emitter`, synchronously. Output is a function of the
 * event order only: batch boundaries never change a byte.
 *
 * For each event:
 * 1. it is assigned to its windows against the watermark as it stood before it
 *    (re-fires and late records of this event are emitted here, in window_start order);
 * 2. the watermark advances to max(watermark, time - maxOutOfOrderMs);
 * 3. every window whose end <= watermark fires (version 1), in order of
 *    (window_end, window_start, key), and windows with end + allowedLateness <=
 *    watermark are purged.
 * See `BucketedWindows` and `SessionWindows` for the per-window rules.
 *
 * Threading model: none of its own; one owner (the partition actor) calls it.
 * Life cycle: construct (or `restore`), feed, `advanceWatermark(Infinity)` at the end
 * of a bounded input; `snapshot()` at any point between calls.
 */
export class WindowOperator {
  private currentWatermark = Number.NEGATIVE_INFINITY;
  private readonly store: WindowStore;
  private readonly maxOutOfOrder: number;

  constructor(config: WindowOperatorConfig) {
    validateWindowConfig(config);
    const context = {
      config,
      encodeKey: createKeyEncoder(config.groupBy),
      buildRow: createRowFactory(
        config.groupBy,
        config.aggregates.map((aggregate) => aggregate.name),
      ),
    };
    this.store =
      config.window.type === 'session' ? new SessionWindows(context) : new BucketedWindows(context);
    this.maxOutOfOrder = config.maxOutOfOrderMs;
  }

  /** Processes one event; `time` is its event time in ms and must be finite. */
  process(event: SluiceEvent, time: number, emit: Emitter): void {
    if (time - time !== 0) {
      throw new WindowOperatorError('SLUICE_ERR_WINDOW_TIME', `event time ${time} is not a finite number`);
    }
    const before = this.currentWatermark;
    this.store.assign(event, time, before, emit);
    const candidate = time - this.maxOutOfOrder;
    if (candidate > before) {
      this.currentWatermark = candidate;
      if (candidate >= this.store.nextDeadline) this.store.advance(candidate, emit);
    }
  }

  /** Same result as `process` on each event in order; `times[i]` is the time of `events[i]`. */
  processBatch(events: readonly SluiceEvent[], times: ArrayLike<number>, emit: Emitter): void {
    if (times.length !== events.length) {
      throw new WindowOperatorError(
        'SLUICE_ERR_WINDOW_BATCH',
        `batch has ${events.length} events but ${times.length} times`,
      );
    }
    for (let i = 0; i < events.length; i++) this.process(events[i], times[i], emit);
  }

  /**
   * Merges partials `from … to - 1` of `batch` (tumbling and hopping windows only): the
   * same state as `process` on their events, for a caller that proved every one of those
   * events joins a window still open and that the watermark crosses no window end or
   * purge time among them. Emits nothing and leaves the watermark where it is; the
   * caller advances it afterwards (`advanceWatermark`), as the events would have.
   */
  applyPartials(batch: PartialBatch, from: number, to: number): void {
    if (!(this.store instanceof BucketedWindows)) {
      throw new WindowOperatorError('SLUICE_ERR_WINDOW_PARTIALS', 'session windows take no partials');
    }
    this.store.applyPartials(batch, from, to);
  }

  /**
   * Moves the watermark to `watermark` (idle timeout, or Infinity at the end of a
   * bounded input), firing and purging as an event would. Never moves it back: a lower
   * value is a no-op.
   */
  advanceWatermark(watermark: number, emit: Emitter): void {
    if (!(watermark > this.currentWatermark)) return;
    this.currentWatermark = watermark;
    this.store.advance(watermark, emit);
  }

  /** The watermark: -Infinity before the first event. */
  get watermark(): number {
    return this.currentWatermark;
  }

  /** Windows held in state, counted per key (one per row that may still fire). */
  get openWindows(): number {
    return this.store.openWindows;
  }

  /**
   * All state as plain data that survives JSON and msgpack round-trips: an independent
   * copy (later processing does not change it), costing time and memory in proportion
   * to the windows held.
   */
  snapshot(): WindowOperatorState {
    const state: WindowOperatorState = {
      format: 1,
      watermark: encodeTime(this.currentWatermark),
      buckets: [],
      sessions: [],
    };
    this.store.save(state);
    return state;
  }

  /** An operator that behaves exactly as the one that took `state` would from there on. */
  static restore(config: WindowOperatorConfig, state: WindowOperatorState): WindowOperator {
    if (state === null || typeof state !== 'object' || state.format !== 1) {
      throw new WindowSnapshotError('unknown format (expected format 1)');
    }
    const isSession = config.window.type === 'session';
    if ((isSession && state.buckets.length > 0) || (!isSession && state.sessions.length > 0)) {
      throw new WindowSnapshotError(`state does not belong to a ${config.window.type} window`);
    }
    const operator = new WindowOperator(config);
    operator.currentWatermark = decodeTime(state.watermark);
    operator.store.load(state);
    return operator;
  }
}
