import { AccumulatorTable } from './aggregates.ts';
import {
  compareCodeUnits,
  KEY_GROUPS,
  type KeyEncoder,
  keyGroup,
  keyGroupsOf,
  keyValues,
} from './group-key.ts';
import { KeyDictionary } from './key-dictionary.ts';
import type { PartialBatch } from './partial-batch.ts';
import type { RowFactory } from './row-factory.ts';
import type {
  ChunkSink,
  Emitter,
  EvictedChunk,
  RowChunk,
  SluiceEvent,
  WindowMark,
  WindowOperatorState,
  WindowStateChanges,
} from './types.ts';
import { alignedStart } from './window-assigner.ts';
import { WindowOperatorError, WindowSnapshotError } from './window-errors.ts';
import { keyAsEvent, type StoreContext, type WindowStore } from './window-store.ts';

/**
 * Estimated heap bytes of one row of a window (slot entries, per-slot arrays, dictionary
 * slot) and of each of its aggregates; and of one key in the dictionary (encoded string,
 * values tuple, sort string, map entry). Rough, on purpose: they turn a row count into a
 * budget check, measured once with 1M keys (bench/state/window-checkpoint.ts).
 */
const ROW_BYTES = 72;
const AGGREGATE_BYTES = 20;
const KEY_BYTES = 180;

/** One epoch-aligned window and its rows, one per key. */
class Bucket {
  fired = false;
  /**
   * Row slot per encoded key: the per-event lookup. A null-prototype dictionary object
   * rather than a Map: V8 internalizes key strings used as property names, and with
   * 100K random keys this lookup measured ~25% faster than Map.get in the benchmark.
   * Without a prototype, names such as `__proto__` or `constructor` are plain keys.
   * A cache in front of `slotPlusOne`: rows loaded by a restore or a read-back enter it
   * on their first event, so loading a million rows costs no million property inserts.
   */
  readonly slotOf: Record<string, number> = Object.create(null);
  /** Row slot + 1 per key id (0: no row for that key): the firing walk in key order. */
  slotPlusOne: Int32Array;
  /** Key id per row slot; -1 for a slot freed by an eviction (reused by the next new row). */
  readonly keyIds: number[] = [];
  /** Last emitted version per row slot; 0 until the row first fires. */
  readonly versions: number[] = [];
  /**
   * The rows' aggregates, each row stamped with the use clock of its last change (see
   * `BucketedWindows.clock`): the one store the per-event path pays for incremental
   * checkpoints and eviction, on the cache line it updates anyway.
   */
  readonly table: AccumulatorTable;
  /** Rows held in memory. */
  resident = 0;
  /** Per key group: 1 when that group's rows of this window are in the store only (evicted). */
  evicted: Uint8Array | null = null;
  /** Rows held in the store only. */
  evictedRows = 0;
  /** Its mark (start, fired) differs from the stored one, or was never stored. */
  markDirty = true;
  /** Something of it is stored: a purge must delete it. */
  stored = false;

  constructor(
    readonly start: number,
    readonly end: number,
    context: StoreContext,
    capacity: number,
  ) {
    this.table = new AccumulatorTable(context.config.aggregates, { stamped: true });
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
  /** Rows held in state, in memory or evicted. */
  openWindows = 0;
  /**
   * The use clock: every row change stamps its slot with it. `captureChanges` moves it on
   * and remembers the last value it covered, so a row is dirty when its stamp is newer;
   * `tick` moves it on between batches, so the stamps also rank rows by recency of use.
   */
  private clock = 1;
  /** Stamps up to this are stored (0: restored rows, clean). */
  private cleanClock = 0;
  /** Starts of stored windows purged since the last capture. */
  private purged: number[] = [];
  /** Per key group, the windows holding that group's rows evicted. */
  private readonly evictedWindows = new Int32Array(KEY_GROUPS);
  /** (window, key group) pairs evicted. */
  private evictedChunks = 0;
  private readonly rowBytes: number;

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
  /**
   * Per key id of `partialKeyValues`, its encoded key, key event and the dictionary id
   * its rows had when last merged. Batches that share one `keyValues` array share key
   * ids (the native path keeps them from batch to batch), so each key is encoded once and
   * then finds its row in a window by array index.
   */
  private partialKeyValues: readonly unknown[] | null = null;
  private partialKeys: Array<{ encoded: string; event: SluiceEvent; id: number } | undefined> = [];
  /** What `warm` last read (a sum of row cells, meaningless), kept so that its reads stay in the code. */
  warmed = 0;

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
    this.rowBytes = ROW_BYTES + AGGREGATE_BYTES * context.config.aggregates.length;
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
   * Reads ahead, without changing anything, what events `from … to - 1` will touch in
   * the window the previous event went to: each key's string, its entry in the window's
   * row dictionary and its row. At 100K keys each of those is a cache miss; in this tight
   * loop of independent lookups the processor overlaps them, where the event-by-event path
   * that follows (which must stay event by event: the watermark moves between events)
   * waits for each in turn. Only for one groupBy field, and only string values (their own
   * encoded key, see `createKeyEncoder`): other keys would cost an encoding twice. A key
   * without a row there, or an event for another window, is simply not warmed.
   */
  warm(events: readonly SluiceEvent[], from: number, to: number): void {
    const bucket = this.recent;
    if (bucket === null || this.size !== this.slide || this.groupBy.length !== 1) return;
    const field = this.groupBy[0];
    const slotOf = bucket.slotOf;
    const table = bucket.table;
    let sum = 0;
    for (let i = from; i < to; i++) {
      const value = events[i][field];
      if (typeof value !== 'string') continue;
      const slot = slotOf[value];
      if (slot !== undefined) sum += table.peek(slot);
    }
    this.warmed = sum;
  }

  /**
   * Merges partials `from … to - 1` of `batch`. Each is for a window still open (the
   * caller checked end > watermark for every event in it), so nothing fires here.
   */
  applyPartials(batch: PartialBatch, from: number, to: number): void {
    const width = this.groupBy.length;
    if (batch.keyValues !== this.partialKeyValues) {
      this.partialKeyValues = batch.keyValues;
      this.partialKeys = [];
    }
    const keys = this.partialKeys;
    for (let partial = from; partial < to; partial++) {
      const keyId = batch.keyIds[partial];
      let key = keys[keyId];
      if (key === undefined) {
        const values = new Array<unknown>(width);
        for (let i = 0; i < width; i++) values[i] = batch.keyValues[keyId * width + i] ?? null;
        const event = keyAsEvent(this.groupBy, values);
        key = { encoded: this.encodeKey(event), event, id: -1 };
        keys[keyId] = key;
      }
      const bucket = this.bucketAt(batch.windowStarts[partial], false);
      // The row by the key's dictionary id, as last seen: still this key's while a row of
      // this window holds it (a live id) under the same encoded key.
      const id = key.id;
      const plusOne = id >= 0 && id < bucket.slotPlusOne.length ? bucket.slotPlusOne[id] : 0;
      let slot: number;
      if (plusOne !== 0 && this.keys.encodedKeys[id] === key.encoded) {
        slot = plusOne - 1;
        bucket.table.touch(slot, this.clock);
      } else {
        slot = this.slotFor(bucket, key.encoded, key.event);
        key.id = bucket.keyIds[slot];
      }
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
    if (known !== undefined) {
      bucket.table.touch(known, this.clock);
      return known;
    }
    const existing = this.keys.idOf(encoded);
    if (
      existing !== undefined &&
      existing < bucket.slotPlusOne.length &&
      bucket.slotPlusOne[existing] !== 0
    ) {
      const slot = bucket.slotPlusOne[existing] - 1;
      bucket.slotOf[encoded] = slot;
      bucket.table.touch(slot, this.clock);
      return slot;
    }
    const slot = this.newRow(bucket, encoded, event, existing);
    bucket.slotOf[encoded] = slot;
    return slot;
  }

  /** A new row for the key `encoded` (id `existing` when live in another window), slotted by id only. */
  private newRow(bucket: Bucket, encoded: string, event: SluiceEvent, existing: number | undefined): number {
    if (bucket.evicted !== null && bucket.evicted[keyGroup(encoded)] !== 0) {
      // Reading the group back is the caller's job (`missingChunks` before the batch);
      // a new row here would shadow the stored one and lose it at the next checkpoint.
      throw new WindowOperatorError(
        'SLUICE_ERR_WINDOW_EVICTED',
        `window ${bucket.start}: key group ${keyGroup(encoded)} is evicted and was not read back`,
      );
    }
    const id = existing ?? this.keys.add(encoded, event);
    if (id >= bucket.slotPlusOne.length) {
      const grown = new Int32Array(Math.max(id + 1, bucket.slotPlusOne.length * 2));
      grown.set(bucket.slotPlusOne);
      bucket.slotPlusOne = grown;
    }
    const slot = bucket.table.allocate();
    bucket.slotPlusOne[id] = slot + 1;
    bucket.table.touch(slot, this.clock);
    if (slot === bucket.keyIds.length) {
      bucket.keyIds.push(id);
      bucket.versions.push(0);
    } else {
      bucket.keyIds[slot] = id;
      bucket.versions[slot] = 0;
    }
    bucket.resident++;
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
      if (bucket.evictedRows > 0) {
        throw new WindowOperatorError(
          'SLUICE_ERR_WINDOW_EVICTED',
          `window ${bucket.start} fires with ${bucket.evictedRows} rows evicted and not read back`,
        );
      }
      this.fire(bucket, emit);
      insertByStart(this.retained, bucket);
    }
    const retained = this.retained;
    while (retained.length > 0 && retained[0].end + this.lateness <= watermark) {
      const bucket = retained.shift() as Bucket;
      this.buckets.delete(bucket.start);
      this.openWindows -= bucket.resident + bucket.evictedRows;
      this.keys.releaseMany(bucket.keyIds);
      if (bucket.evicted !== null) this.forgetEvicted(bucket);
      if (bucket.stored) this.purged.push(bucket.start);
      if (this.recent === bucket) this.recent = null;
    }
    this.refreshDeadline();
  }

  /** Emits every row of the window in key order (see `KeyDictionary`). */
  private fire(bucket: Bucket, emit: Emitter): void {
    bucket.fired = true;
    bucket.markDirty = true;
    const rows = bucket.resident;
    if (rows * Math.log2(rows + 1) < this.keys.size) {
      const ids = bucket.keyIds;
      const slots: number[] = [];
      for (let slot = 0; slot < ids.length; slot++) if (ids[slot] >= 0) slots.push(slot);
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
    if (this.evictedChunks > 0) {
      throw new WindowOperatorError('SLUICE_ERR_WINDOW_EVICTED', 'a snapshot needs every row in memory');
    }
    const all = [...this.buckets.values()].sort((a, b) => a.start - b.start);
    for (const bucket of all) {
      const rows: WindowOperatorState['buckets'][number]['rows'] = [];
      bucket.keyIds.forEach((id, slot) => {
        if (id >= 0)
          rows.push([this.keys.values[id].slice(), bucket.versions[slot], bucket.table.save(slot)]);
      });
      state.buckets.push({ start: bucket.start, fired: bucket.fired, rows });
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

  tick(): void {
    this.clock++;
  }

  /**
   * Everything changed since the last capture (or everything, when `all`), then marks it
   * clean. A key group of a window is written whole when any of its rows changed.
   */
  captureChanges(all: boolean, changes: WindowStateChanges, onChunk: ChunkSink): void {
    const clean = all ? Number.NEGATIVE_INFINITY : this.cleanClock;
    const groups = this.keys.groups;
    const starts = [...this.buckets.keys()].sort((a, b) => a - b);
    for (const start of starts) {
      const bucket = this.buckets.get(start) as Bucket;
      if (all || bucket.markDirty) changes.marks.push({ start, fired: bucket.fired });
      bucket.markDirty = false;
      bucket.stored = true;
      const ids = bucket.keyIds;
      const table = bucket.table;
      let dirty: Uint8Array | null = null;
      for (let slot = 0; slot < ids.length; slot++) {
        if (ids[slot] < 0 || !(table.stampOf(slot) > clean)) continue;
        dirty ??= new Uint8Array(KEY_GROUPS);
        dirty[groups[ids[slot]]] = 1;
      }
      if (dirty !== null) this.captureGroups(bucket, dirty, onChunk);
    }
    changes.purged.push(...this.purged);
    this.purged = [];
    this.cleanClock = this.clock;
    this.clock++;
  }

  /**
   * The row chunks of the key groups flagged in `dirty`, each handed to `onChunk` as soon
   * as it is built. One counting pass over the window's slots in order (sequential reads;
   * a pass per group would jump about) lists each group's slots; then each chunk is built
   * from its list, so only one chunk's arrays are alive at a time.
   */
  private captureGroups(bucket: Bucket, dirty: Uint8Array, onChunk: ChunkSink): void {
    const width = this.groupBy.length;
    const base = bucket.fired ? 1 : 0;
    const ids = bucket.keyIds;
    const versions = bucket.versions;
    const groups = this.keys.groups;
    const values = this.keys.values;
    const plainText = this.keys.plainText;
    const encoded = this.keys.encodedKeys;
    // ends[g] ends up as the end of group g's slots in `listed`, which lists them by group.
    const ends = new Int32Array(KEY_GROUPS);
    for (let slot = 0; slot < ids.length; slot++) {
      const id = ids[slot];
      if (id >= 0 && dirty[groups[id]] !== 0) ends[groups[id]]++;
    }
    for (let group = 1; group < KEY_GROUPS; group++) ends[group] += ends[group - 1];
    const next = new Int32Array(KEY_GROUPS);
    for (let group = 1; group < KEY_GROUPS; group++) next[group] = ends[group - 1];
    const listed = new Int32Array(ends[KEY_GROUPS - 1]);
    for (let slot = 0; slot < ids.length; slot++) {
      const id = ids[slot];
      if (id >= 0 && dirty[groups[id]] !== 0) listed[next[groups[id]]++] = slot;
    }
    for (let group = 0; group < KEY_GROUPS; group++) {
      if (dirty[group] === 0) continue;
      const from = group === 0 ? 0 : ends[group - 1];
      const rows = ends[group] - from;
      const slots = new Array<number>(rows);
      const keys = new Array<unknown>(rows * width);
      const refires = new Array<number>(rows);
      for (let row = 0; row < rows; row++) {
        const slot = listed[from + row];
        slots[row] = slot;
        refires[row] = versions[slot] - base;
        // One string field that is its own encoding: one read per key, not three.
        if (plainText) keys[row] = encoded[ids[slot]];
        else {
          const key = values[ids[slot]];
          for (let i = 0; i < width; i++) keys[row * width + i] = key[i];
        }
      }
      onChunk(
        { start: bucket.start, group, keys, refires, columns: bucket.table.saveMany(slots) as unknown[] },
        plainText,
      );
    }
  }

  /** Restore: a stored window, before its rows. */
  restoreMark(mark: WindowMark): void {
    if (this.buckets.has(mark.start)) throw new WindowSnapshotError(`window ${mark.start} is stored twice`);
    const bucket = new Bucket(mark.start, mark.start + this.size, this.context, this.keys.capacity);
    bucket.fired = mark.fired === true;
    bucket.markDirty = false;
    bucket.stored = true;
    this.buckets.set(bucket.start, bucket);
    insertByStart(bucket.fired ? this.retained : this.open, bucket);
    this.refreshDeadline();
  }

  /**
   * Restore: the stored rows of one key group of a window. `resident` false records them
   * as evicted instead (state larger than its memory budget), counting `rows` only.
   */
  restoreChunk(chunk: RowChunk, resident: boolean): void {
    const bucket = this.buckets.get(chunk.start);
    if (bucket === undefined)
      throw new WindowSnapshotError(`rows of window ${chunk.start} without the window`);
    const rows = chunk.refires.length;
    if (!resident) {
      bucket.evicted ??= new Uint8Array(KEY_GROUPS);
      if (bucket.evicted[chunk.group] === 0) {
        bucket.evicted[chunk.group] = 1;
        this.evictedWindows[chunk.group]++;
        this.evictedChunks++;
      }
      bucket.evictedRows += rows;
      this.openWindows += rows;
      return;
    }
    this.loadRows(bucket, chunk, 0);
  }

  /** Loads a chunk's rows into a window, stamped `stamp` (clean when ≤ the clean clock). */
  private loadRows(bucket: Bucket, chunk: RowChunk, stamp: number): void {
    const width = this.groupBy.length;
    const rows = chunk.refires.length;
    if (chunk.keys.length !== rows * width) {
      throw new WindowSnapshotError(
        `window ${chunk.start}: key group ${chunk.group} has a malformed row chunk`,
      );
    }
    const scratch: SluiceEvent = {};
    const slots = new Array<number>(rows);
    const base = bucket.fired ? 1 : 0;
    // A key group's keys are in no other group, so when no other window holds a row no
    // key of this chunk is known yet: the lookup (a million misses for a million keys)
    // is skipped, and the keys enter the dictionary unindexed (indexed per key group on
    // the first lookup there).
    const alone = this.openWindows === bucket.resident + bucket.evictedRows;
    for (let row = 0; row < rows; row++) {
      for (let i = 0; i < width; i++) scratch[this.groupBy[i]] = chunk.keys[row * width + i];
      const encoded = this.encodeKey(scratch);
      let id: number | undefined;
      if (alone) {
        if (keyGroup(encoded) !== chunk.group) {
          throw new WindowSnapshotError(
            `window ${chunk.start}: a key of key group ${keyGroup(encoded)} is stored in group ${chunk.group}`,
          );
        }
        id = this.keys.addUnindexed(encoded, keyValues(this.groupBy, scratch), chunk.group);
      } else id = this.keys.idOf(encoded);
      const slot = this.newRow(bucket, encoded, scratch, id);
      bucket.versions[slot] = chunk.refires[row] + base;
      bucket.table.touch(slot, stamp);
      slots[row] = slot;
    }
    bucket.table.loadMany(slots, chunk.columns);
  }

  /** Estimated heap bytes of the rows and keys held in memory. */
  get estimatedBytes(): number {
    return (this.openWindows - this.evictedRowCount()) * this.rowBytes + this.keys.size * KEY_BYTES;
  }

  private evictedRowCount(): number {
    if (this.evictedChunks === 0) return 0;
    let rows = 0;
    for (const bucket of this.buckets.values()) rows += bucket.evictedRows;
    return rows;
  }

  /** (window, key group) pairs evicted. */
  get evictedGroups(): number {
    return this.evictedChunks;
  }

  /** Whether any key group of any window is evicted (read-backs may be due). */
  get hasEvicted(): boolean {
    return this.evictedChunks > 0;
  }

  /** Rows held in memory. */
  get residentRows(): number {
    return this.openWindows - this.evictedRowCount();
  }

  /**
   * Drops clean key groups of windows from memory, least recently used first, until the
   * estimate is at most `targetBytes`; they stay readable in the store, which holds them
   * exactly as they are (clean: unchanged since the last checkpoint committed). Returns
   * the rows evicted. Call right after a checkpoint committed, when every row is clean.
   */
  evict(targetBytes: number): number {
    let excess = this.estimatedBytes - targetBytes;
    if (excess <= 0) return 0;
    const candidates: Array<{ bucket: Bucket; group: number; lastUse: number; slots: number[] }> = [];
    for (const bucket of this.buckets.values()) {
      const perGroup: Array<{ lastUse: number; slots: number[]; dirty: boolean } | undefined> = new Array(
        KEY_GROUPS,
      );
      const ids = bucket.keyIds;
      for (let slot = 0; slot < ids.length; slot++) {
        if (ids[slot] < 0) continue;
        const group = this.keys.groups[ids[slot]];
        let entry = perGroup[group];
        if (entry === undefined) {
          entry = { lastUse: 0, slots: [], dirty: false };
          perGroup[group] = entry;
        }
        entry.slots.push(slot);
        const stamp = bucket.table.stampOf(slot);
        if (stamp > entry.lastUse) entry.lastUse = stamp;
        if (stamp > this.cleanClock) entry.dirty = true;
      }
      perGroup.forEach((entry, group) => {
        if (entry !== undefined && !entry.dirty)
          candidates.push({ bucket, group, lastUse: entry.lastUse, slots: entry.slots });
      });
    }
    // Coldest first; among equals, fired windows (only late events touch them) before open ones.
    candidates.sort(
      (a, b) =>
        a.lastUse - b.lastUse ||
        Number(b.bucket.fired) - Number(a.bucket.fired) ||
        a.bucket.start - b.bucket.start ||
        a.group - b.group,
    );
    let evicted = 0;
    for (const { bucket, group, slots } of candidates) {
      if (excess <= 0) break;
      const keysBefore = this.keys.size;
      for (const slot of slots) {
        const id = bucket.keyIds[slot];
        delete bucket.slotOf[this.keys.encoded(id)];
        bucket.slotPlusOne[id] = 0;
        bucket.keyIds[slot] = -1;
        bucket.table.release(slot);
        this.keys.release(id);
      }
      bucket.resident -= slots.length;
      bucket.evictedRows += slots.length;
      bucket.evicted ??= new Uint8Array(KEY_GROUPS);
      bucket.evicted[group] = 1;
      this.evictedWindows[group]++;
      this.evictedChunks++;
      if (this.recent === bucket) this.recent = null;
      evicted += slots.length;
      excess -= slots.length * this.rowBytes;
      if (this.keys.size < keysBefore) excess -= (keysBefore - this.keys.size) * KEY_BYTES;
    }
    return evicted;
  }

  /**
   * The evicted (window, key group) pairs to read back before processing `events` (with
   * event times `times`) in one batch, with `watermarkBound` the highest watermark that
   * batch can reach: each event's key group in every window, and every evicted group of
   * a window that fires. `encode` gives the event the window sees (null: it skips the
   * window). Empty, at the cost of one check, when nothing is evicted.
   */
  missingChunks(
    events: readonly (SluiceEvent | null)[],
    watermarkBound: number,
    encode: (event: SluiceEvent, index: number) => string | null,
  ): EvictedChunk[] {
    const missing: EvictedChunk[] = [];
    if (this.evictedChunks === 0) return missing;
    const wanted = keyGroupsOf(events, encode);
    for (const bucket of this.buckets.values()) {
      const evicted = bucket.evicted;
      if (evicted === null || bucket.evictedRows === 0) continue;
      const fires = !bucket.fired && bucket.end <= watermarkBound;
      for (let group = 0; group < KEY_GROUPS; group++) {
        if (evicted[group] !== 0 && (fires || wanted[group] !== 0))
          missing.push({ start: bucket.start, group });
      }
    }
    return missing;
  }

  /** Reads evicted rows back: `chunks` are the stored values of (window, key group) pairs `missingChunks` named. */
  readBack(chunks: readonly RowChunk[]): void {
    for (const chunk of chunks) {
      const bucket = this.buckets.get(chunk.start);
      if (bucket === undefined || bucket.evicted === null || bucket.evicted[chunk.group] === 0) {
        throw new WindowOperatorError(
          'SLUICE_ERR_WINDOW_EVICTED',
          `window ${chunk.start}: key group ${chunk.group} is not evicted`,
        );
      }
      bucket.evicted[chunk.group] = 0;
      this.evictedWindows[chunk.group]--;
      this.evictedChunks--;
      bucket.evictedRows -= chunk.refires.length;
      this.openWindows -= chunk.refires.length;
      this.loadRows(bucket, chunk, this.cleanClock);
    }
  }

  /** A purged window's evicted groups are no longer anyone's to read back. */
  private forgetEvicted(bucket: Bucket): void {
    const evicted = bucket.evicted as Uint8Array;
    for (let group = 0; group < KEY_GROUPS; group++) {
      if (evicted[group] === 0) continue;
      this.evictedWindows[group]--;
      this.evictedChunks--;
    }
    bucket.evicted = null;
  }
}
