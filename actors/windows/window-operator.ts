import { BucketedWindows } from './bucketed-windows.ts';
import { createKeyEncoder } from './group-key.ts';
import type { PartialBatch } from './partial-batch.ts';
import { createRowFactory } from './row-factory.ts';
import { SessionWindows } from './session-windows.ts';
import type {
  ChunkSink,
  Emitter,
  EncodedTime,
  EvictedChunk,
  RowChunk,
  SessionGroup,
  SluiceEvent,
  WindowMark,
  WindowOperatorConfig,
  WindowOperatorState,
  WindowStateChanges,
} from './types.ts';
import { validateWindowConfig } from './window-config.ts';
import { WindowOperatorError, WindowSnapshotError } from './window-errors.ts';
import type { WindowStore } from './window-store.ts';

/** Events read ahead at a time by `processBatch` (see `BucketedWindows.warm`): their rows stay cached until used. */
const WARM_CHUNK = 1024;

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
 *
 * Incremental checkpoints: `captureChanges()` hands out what changed since the previous
 * capture, as plain data grouped by (window, key group), and marks it clean; the per-event
 * cost is one number stored per row touched. A restore replays the stored pieces
 * (`restoreMark`, `restoreChunk`, `restoreSessionGroup`, `restoreWatermark`) into a fresh
 * operator. Under a memory budget it can also `evict` clean key groups; the owner reads
 * them back before the batch or watermark move that needs them (`missingChunks` and
 * `readBack` for tumbling/hopping windows, `missingSessionGroups` and
 * `readBackSessions` for sessions), because the operator itself never waits for I/O.
 */
export class WindowOperator {
  private currentWatermark = Number.NEGATIVE_INFINITY;
  private readonly store: WindowStore;
  private readonly maxOutOfOrder: number;
  private readonly keyEncoder: (event: SluiceEvent) => string;

  constructor(config: WindowOperatorConfig) {
    validateWindowConfig(config);
    this.keyEncoder = createKeyEncoder(config.groupBy);
    const context = {
      config,
      encodeKey: this.keyEncoder,
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
    const store = this.store;
    if (store instanceof BucketedWindows) {
      for (let from = 0; from < events.length; from += WARM_CHUNK) {
        const to = Math.min(events.length, from + WARM_CHUNK);
        store.warm(events, from, to);
        for (let i = from; i < to; i++) this.process(events[i], times[i], emit);
      }
      return;
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

  /**
   * What changed since the previous capture (everything, when `all` or on the first
   * capture after `restore(state)`), as plain data; afterwards the operator counts as
   * clean. Costs time in proportion to the rows held plus the rows written.
   *
   * With `onChunk`, each row chunk goes to it as soon as it is built and `chunks` stays
   * empty: a caller that encodes a chunk at once lets its arrays die young, instead of
   * holding a million rows of them until the end (their promotion to the old generation
   * made the first checkpoint of a million keys pay a full garbage collection).
   */
  captureChanges(all = false, onChunk?: ChunkSink): WindowStateChanges {
    const changes: WindowStateChanges = {
      watermark: encodeTime(this.currentWatermark),
      rows: 0,
      marks: [],
      chunks: [],
      sessionGroups: [],
      purged: [],
    };
    this.store.captureChanges(all, changes, onChunk ?? ((chunk) => changes.chunks.push(chunk)));
    changes.rows = this.store.openWindows;
    return changes;
  }

  /** Moves the use clock on: what the next events touch counts as more recent than what came before. */
  tick(): void {
    this.store.tick();
  }

  /** Restore: the watermark of the stored state. */
  restoreWatermark(watermark: EncodedTime): void {
    this.currentWatermark = decodeTime(watermark);
  }

  /** Restore: one stored tumbling/hopping window, before its rows. */
  restoreMark(mark: WindowMark): void {
    this.bucketed('restoreMark').restoreMark(mark);
  }

  /** Restore: one stored key group of a window; `resident` false keeps it evicted (memory budget). */
  restoreChunk(chunk: RowChunk, resident = true): void {
    this.bucketed('restoreChunk').restoreChunk(chunk, resident);
  }

  /** Restore: the stored sessions of one key group; `resident` false keeps them evicted (memory budget). */
  restoreSessionGroup(group: SessionGroup, resident = true): void {
    this.sessions('restoreSessionGroup').restoreGroup(group, resident);
  }

  /** Estimated heap bytes of the state held in memory. */
  get estimatedBytes(): number {
    return this.store.estimatedBytes;
  }

  /** Whether some state is evicted, so a batch may need `missingChunks` read back first. */
  get hasEvicted(): boolean {
    const store = this.store;
    return store instanceof BucketedWindows || store instanceof SessionWindows ? store.hasEvicted : false;
  }

  /** Pieces evicted: (window, key group) pairs for tumbling/hopping windows, key groups for sessions. */
  get evictedGroups(): number {
    const store = this.store;
    return store instanceof BucketedWindows || store instanceof SessionWindows ? store.evictedGroups : 0;
  }

  /** Rows held in memory (tumbling/hopping: per window and key; sessions: per session). */
  get residentWindows(): number {
    const store = this.store;
    if (store instanceof BucketedWindows) return store.residentRows;
    if (store instanceof SessionWindows) return store.residentSessions;
    return store.openWindows;
  }

  /**
   * Drops clean key groups, least recently used first, until the estimate is at most
   * `targetBytes`. Call only right after a checkpoint committed: what is dropped must be
   * in the store as it is in memory. Returns the rows (sessions) evicted.
   */
  evict(targetBytes: number): number {
    const store = this.store;
    return store instanceof BucketedWindows || store instanceof SessionWindows ? store.evict(targetBytes) : 0;
  }

  /**
   * The evicted pieces to read back before a batch: those of the events' keys and of
   * every window the batch can fire, given `maxTime`, the largest event time in it.
   * `encode` gives an event's encoded key as this window sees it, or null when the event
   * does not reach this window. Empty at once when nothing is evicted.
   */
  missingChunks(
    events: readonly (SluiceEvent | null)[],
    maxTime: number,
    encode: (event: SluiceEvent, index: number) => string | null,
  ): EvictedChunk[] {
    if (!(this.store instanceof BucketedWindows)) return [];
    const bound = Math.max(this.currentWatermark, maxTime - this.maxOutOfOrder);
    return this.store.missingChunks(events, bound, encode);
  }

  /** The evicted pieces a watermark of `watermark` would fire (idle timeout, end of input). */
  missingForWatermark(watermark: number): EvictedChunk[] {
    if (!(this.store instanceof BucketedWindows)) return [];
    return this.store.missingChunks([], watermark, () => null);
  }

  /** Loads evicted pieces back, as read from the store. */
  readBack(chunks: readonly RowChunk[]): void {
    this.bucketed('readBack').readBack(chunks);
  }

  /**
   * Session windows: the evicted key groups to read back before a batch — those of the
   * events' keys and those holding a session the batch can fire or purge, given `maxTime`,
   * the largest event time in it. `encode` as for `missingChunks`. Empty for other windows
   * and at once when nothing is evicted.
   */
  missingSessionGroups(
    events: readonly (SluiceEvent | null)[],
    maxTime: number,
    encode: (event: SluiceEvent, index: number) => string | null,
  ): number[] {
    if (!(this.store instanceof SessionWindows)) return [];
    const bound = Math.max(this.currentWatermark, maxTime - this.maxOutOfOrder);
    return this.store.missingGroups(events, bound, encode);
  }

  /** Session windows: the evicted key groups a watermark of `watermark` would fire or purge sessions of. */
  sessionGroupsForWatermark(watermark: number): number[] {
    if (!(this.store instanceof SessionWindows)) return [];
    return this.store.missingGroups([], watermark, () => null);
  }

  /** Loads evicted session groups back, as read from the store. */
  readBackSessions(groups: readonly SessionGroup[]): void {
    this.sessions('readBackSessions').readBack(groups);
  }

  /** The encoded key of an event (what key groups hash). */
  encodeKey(event: SluiceEvent): string {
    return this.keyEncoder(event);
  }

  private sessions(what: string): SessionWindows {
    if (!(this.store instanceof SessionWindows)) {
      throw new WindowSnapshotError(`${what}: window state does not belong to a tumbling or hopping window`);
    }
    return this.store;
  }

  private bucketed(what: string): BucketedWindows {
    if (!(this.store instanceof BucketedWindows)) {
      throw new WindowSnapshotError(`${what}: window state does not belong to a session window`);
    }
    return this.store;
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
