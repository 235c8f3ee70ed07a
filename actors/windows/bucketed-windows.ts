import { AccumulatorTable } from './aggregates.ts';
import { compareCodeUnits, type KeyEncoder } from './group-key.ts';
import { KeyDictionary } from './key-dictionary.ts';
import type { PartialBatch } from './partial-batch.ts';
import type { RowFactory } from './row-factory.ts';
import type { Emitter, SluiceEvent, WindowOperatorState } from './types.ts';
import { alignedStart } from './window-assigner.ts';
import { keyAsEvent, type StoreContext, type WindowStore } from './window-store.ts';

/** One epoch-aligned window and its rows, one per key. */
class Bucket {
  fired = false;
  /**
   * Row slot per encoded key: the per-event lookup. A null-prototype dictionary object
   * rather than a Map: V8 internalizes key strings used as property names, and with
   * 100K random keys this lookup measured ~25% faster than Map.get in the benchmark.
   * Without a prototype, names such as `__proto__` or `constructor` are plain keys.
   */
  readonly slotOf: Record<string, number> = Object.create(null);
  /** Row slot + 1 per key id (0: no row for that key): the firing walk in key order. */
  slotPlusOne: Int32Array;
  /** Key id per row slot. */
  readonly keyIds: number[] = [];
  /** Last emitted version per row slot; 0 until the row first fires. */
  readonly versions: number[] = [];
  readonly table: AccumulatorTable;

  constructor(
    readonly start: number,
    readonly end: number,
    context: StoreContext,
    capacity: number,
  ) {
    this.table = new AccumulatorTable(context.config.aggregates);
    this.slotPlusOne = new Int32Array(Math.max(16, capacity));
  }
}

function insertByStart(list: Bucket[], bucket: Bucket): void {
  let index = list.length;
  while (index > 0 && list[index - 1].start > bucket.start) index--;
  list.splice(index, 0, bucket);
}

/**
 * Tumbling and hopping windows (a tumbling window is a hopping one whose slide is its
 * size). Windows are indexed by start; all share one size, so ordering by start is
 * ordering by end, and `open` / `retained` stay sorted by start.
 *
 * Per window of an event, against the watermark before the event:
 * - end > watermark: the event joins the open window;
 * - end <= watermark < end + lateness: the window fired and is retained; the event
 *   updates its row, which re-fires at once with version + 1 (a row never seen before
 *   fires with version 1);
 * - otherwise: one late record for that window.
 * A fired window is retained until watermark >= end + lateness, then purged.
 */
export class BucketedWindows implements WindowStore {
  nextDeadline = Number.POSITIVE_INFINITY;
  openWindows = 0;

  private readonly size: number;
  private readonly slide: number;
  private readonly lateness: number;
  private readonly groupBy: readonly string[];
  private readonly keys: KeyDictionary;
  private readonly encodeKey: KeyEncoder;
  private readonly buildRow: RowFactory;
  private readonly buckets = new Map<number, Bucket>();
  /** Unfired windows, by start. */
  private readonly open: Bucket[] = [];
  /** Fired windows still inside their allowed lateness, by start. */
  private readonly retained: Bucket[] = [];
  /** The window the previous event went to: consecutive events mostly share one. */
  private recent: Bucket | null = null;

  constructor(private readonly context: StoreContext) {
    const spec = context.config.window;
    if (spec.type === 'session') throw new TypeError('BucketedWindows does not hold session windows');
    this.size = spec.sizeMs;
    this.slide = spec.type === 'hopping' ? spec.slideMs : spec.sizeMs;
    this.lateness = context.config.allowedLatenessMs;
    this.groupBy = context.config.groupBy;
    this.keys = new KeyDictionary(this.groupBy);
    this.encodeKey = context.encodeKey;
    this.buildRow = context.buildRow;
  }

  assign(event: SluiceEvent, time: number, watermarkBefore: number, emit: Emitter): void {
    const size = this.size;
    const slide = this.slide;
    if (size === slide) {
      // Fast path: the same open window as the previous event, found without `%`.
      const recent = this.recent;
      if (recent !== null && time >= recent.start && time < recent.end && recent.end > watermarkBefore) {
        recent.table.add(this.slotFor(recent, this.encodeKey(event), event), event, time);
        return;
      }
      this.assignTo(alignedStart(time, size), event, time, watermarkBefore, emit);
      return;
    }
    const last = alignedStart(time, slide);
    let start = last;
    while (start - slide + size > time) start -= slide;
    for (; start <= last; start += slide) {
      if (start + size > time) this.assignTo(start, event, time, watermarkBefore, emit);
    }
  }

  private assignTo(start: number, event: SluiceEvent, time: number, watermark: number, emit: Emitter): void {
    const end = start + this.size;
    if (end > watermark) {
      const bucket = this.bucketAt(start, false);
      bucket.table.add(this.slotFor(bucket, this.encodeKey(event), event), event, time);
    } else if (watermark < end + this.lateness) {
      const bucket = this.bucketAt(start, true);
      const slot = this.slotFor(bucket, this.encodeKey(event), event);
      bucket.table.add(slot, event, time);
      this.emitRow(bucket, slot, emit);
    } else {
      emit.late({ event, window_start: start, window_end: end, watermark });
    }
  }

  /**
   * Merges partials `from … to - 1` of `batch`. Each is for a window still open (the
   * caller checked end > watermark for every event in it), so nothing fires here.
   */
  applyPartials(batch: PartialBatch, from: number, to: number): void {
    const width = this.groupBy.length;
    const keyEvents = new Map<number, { encoded: string; event: SluiceEvent }>();
    for (let partial = from; partial < to; partial++) {
      const keyId = batch.keyIds[partial];
      let key = keyEvents.get(keyId);
      if (key === undefined) {
        const values = new Array<unknown>(width);
        for (let i = 0; i < width; i++) values[i] = batch.keyValues[keyId * width + i] ?? null;
        const event = keyAsEvent(this.groupBy, values);
        key = { encoded: this.encodeKey(event), event };
        keyEvents.set(keyId, key);
      }
      const bucket = this.bucketAt(batch.windowStarts[partial], false);
      const slot = this.slotFor(bucket, key.encoded, key.event);
      bucket.table.mergePartial(slot, batch.columns, partial);
    }
  }

  /** The window at `start`, created if absent (`fired` when it is already past its end). */
  private bucketAt(start: number, fired: boolean): Bucket {
    const recent = this.recent;
    if (recent !== null && recent.start === start) return recent;
    let bucket = this.buckets.get(start);
    if (bucket === undefined) {
      bucket = new Bucket(start, start + this.size, this.context, this.keys.capacity);
      bucket.fired = fired;
      this.buckets.set(start, bucket);
      insertByStart(fired ? this.retained : this.open, bucket);
      this.refreshDeadline();
    }
    this.recent = bucket;
    return bucket;
  }

  private slotFor(bucket: Bucket, encoded: string, event: SluiceEvent): number {
    const known = bucket.slotOf[encoded];
    if (known !== undefined) return known;
    const id = this.keys.intern(encoded, event);
    if (id >= bucket.slotPlusOne.length) {
      const grown = new Int32Array(Math.max(id + 1, bucket.slotPlusOne.length * 2));
      grown.set(bucket.slotPlusOne);
      bucket.slotPlusOne = grown;
    }
    const slot = bucket.table.allocate();
    bucket.slotOf[encoded] = slot;
    bucket.slotPlusOne[id] = slot + 1;
    bucket.keyIds.push(id);
    bucket.versions.push(0);
    this.keys.retain(id);
    this.openWindows++;
    return slot;
  }

  private emitRow(bucket: Bucket, slot: number, emit: Emitter): void {
    const version = ++bucket.versions[slot];
    const key = this.keys.values[bucket.keyIds[slot]];
    emit.row(this.buildRow(bucket.start, bucket.end, key, bucket.table, slot, version));
  }

  advance(watermark: number, emit: Emitter): void {
    const open = this.open;
    while (open.length > 0 && open[0].end <= watermark) {
      const bucket = open.shift() as Bucket;
      this.fire(bucket, emit);
      insertByStart(this.retained, bucket);
    }
    const retained = this.retained;
    while (retained.length > 0 && retained[0].end + this.lateness <= watermark) {
      const bucket = retained.shift() as Bucket;
      this.buckets.delete(bucket.start);
      this.openWindows -= bucket.keyIds.length;
      for (const id of bucket.keyIds) this.keys.release(id);
      if (this.recent === bucket) this.recent = null;
    }
    this.refreshDeadline();
  }

  /** Emits every row of the window in key order (see `KeyDictionary`). */
  private fire(bucket: Bucket, emit: Emitter): void {
    bucket.fired = true;
    const rows = bucket.keyIds.length;
    if (rows * Math.log2(rows + 1) < this.keys.size) {
      const slots = Array.from(bucket.keyIds.keys());
      const ids = bucket.keyIds;
      slots.sort((a, b) => compareCodeUnits(this.keys.order(ids[a]), this.keys.order(ids[b])));
      for (const slot of slots) this.emitRow(bucket, slot, emit);
      return;
    }
    const index = bucket.slotPlusOne;
    for (const id of this.keys.sortedIds()) {
      if (id < index.length && index[id] !== 0) this.emitRow(bucket, index[id] - 1, emit);
    }
  }

  private refreshDeadline(): void {
    const firstOpen = this.open.length > 0 ? this.open[0].end : Number.POSITIVE_INFINITY;
    const firstRetained =
      this.retained.length > 0 ? this.retained[0].end + this.lateness : Number.POSITIVE_INFINITY;
    this.nextDeadline = Math.min(firstOpen, firstRetained);
  }

  save(state: WindowOperatorState): void {
    const all = [...this.buckets.values()].sort((a, b) => a.start - b.start);
    for (const bucket of all) {
      state.buckets.push({
        start: bucket.start,
        fired: bucket.fired,
        rows: bucket.keyIds.map((id, slot) => [
          this.keys.values[id].slice(),
          bucket.versions[slot],
          bucket.table.save(slot),
        ]),
      });
    }
  }

  load(state: WindowOperatorState): void {
    for (const saved of state.buckets) {
      const bucket = new Bucket(saved.start, saved.start + this.size, this.context, this.keys.capacity);
      bucket.fired = saved.fired;
      for (const [key, version, aggregates] of saved.rows) {
        const event = keyAsEvent(this.groupBy, key);
        const slot = this.slotFor(bucket, this.encodeKey(event), event);
        bucket.table.load(slot, aggregates);
        bucket.versions[slot] = version;
      }
      this.buckets.set(bucket.start, bucket);
      insertByStart(bucket.fired ? this.retained : this.open, bucket);
    }
    this.refreshDeadline();
  }
}
