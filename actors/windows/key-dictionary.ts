import { compareCodeUnits, keyGroup, keyOrder, keyValues } from './group-key.ts';
import type { SluiceEvent } from './types.ts';

/**
 * Interns the groupBy keys of epoch-aligned windows as small integer ids, shared by
 * every window. A window then finds its row for a key by array index, a new window
 * costs no hashing of its keys, and the keys' output order (their JSON compared by
 * UTF-16 code units) is sorted once and kept: firing a window walks the sorted ids
 * instead of sorting 100K strings again.
 *
 * Ids are reference-counted by the windows holding a row for them; when the last such
 * window is purged the key is forgotten, so key churn does not leak.
 *
 * A restore loads keys unindexed (`addUnindexed`): they get ids, values and groups but
 * no entry in the encoded → id map, the one per-key cost that dominated restoring a
 * million keys. The map learns them one key group at a time, on the first lookup that
 * misses in that group, so keys that no event names again (a closed window waiting to
 * fire) are never indexed.
 */
export class KeyDictionary {
  private readonly ids = new Map<string, number>();
  private readonly encodedOf: string[] = [];
  /** groupBy values per id. */
  readonly values: unknown[][] = [];
  /** Key group per id (see `keyGroup`). */
  readonly groups: number[] = [];
  /** Sort string per id, computed when first needed (firing), not per new key: a restore of 1M keys skips 1M JSON encodings. */
  private readonly orders: Array<string | null> = [];
  private readonly references: number[] = [];
  private readonly pending: boolean[] = [];
  private readonly freeIds: number[] = [];
  private added: number[] = [];
  private removed = false;
  private sorted: number[] = [];
  /** 1 per id loaded by `addUnindexed` and not yet in `ids` (cleared when indexed or released). */
  private unindexed = new Uint8Array(0);
  /** Per key group, ids loaded unindexed there (some may since be indexed or released). */
  private readonly unindexedByGroup: Array<number[] | undefined> = [];
  private unindexedCount = 0;
  /** Live ids whose key is not plain text (see `plainText`). */
  private unplain = 0;

  constructor(private readonly groupBy: readonly string[]) {}

  /** Number of ids ever allocated (the bound of every id). */
  get capacity(): number {
    return this.encodedOf.length;
  }

  get size(): number {
    return this.ids.size + this.unindexedCount;
  }

  /**
   * Whether every live key is one string without NUL that is its own encoding (see
   * `createKeyEncoder`), known without looking at them: a checkpoint then takes a key
   * group's keys from `encodedKeys` and stores them as one NUL-joined text unchecked.
   */
  get plainText(): boolean {
    return this.groupBy.length === 1 && this.unplain === 0;
  }

  /** The encoded key of each id (read-only; meaningful for live ids). */
  get encodedKeys(): readonly string[] {
    return this.encodedOf;
  }

  /** The id of a live key, or undefined. */
  idOf(encoded: string): number | undefined {
    const known = this.ids.get(encoded);
    if (known !== undefined || this.unindexedCount === 0) return known;
    const group = keyGroup(encoded);
    if (this.unindexedByGroup[group] === undefined) return undefined;
    this.indexGroup(group);
    return this.ids.get(encoded);
  }

  /** Enters the unindexed ids of one key group into the map. */
  private indexGroup(group: number): void {
    const pending = this.unindexedByGroup[group] as number[];
    this.unindexedByGroup[group] = undefined;
    for (const id of pending) {
      if (this.unindexed[id] === 0) continue;
      this.unindexed[id] = 0;
      this.unindexedCount--;
      this.ids.set(this.encodedOf[id], id);
    }
  }

  /**
   * A new id for `encoded` (the encoding of the tuple `values`, in key group `group`),
   * known not to be live, left out of the map until a lookup in its group needs it.
   */
  addUnindexed(encoded: string, values: unknown[], group: number): number {
    const id = this.allocate(encoded, values, group);
    if (id >= this.unindexed.length) {
      const grown = new Uint8Array(Math.max(1024, id + 1, this.unindexed.length * 2));
      grown.set(this.unindexed);
      this.unindexed = grown;
    }
    this.unindexed[id] = 1;
    this.unindexedCount++;
    let pending = this.unindexedByGroup[group];
    if (pending === undefined) {
      pending = [];
      this.unindexedByGroup[group] = pending;
    }
    pending.push(id);
    return id;
  }

  /** The id of the key `encoded`, which is the encoding of `event`'s groupBy values. */
  intern(encoded: string, event: SluiceEvent): number {
    const known = this.idOf(encoded);
    if (known !== undefined) return known;
    return this.add(encoded, event);
  }

  /** A new id for `encoded`, known not to be live (`idOf` said so). */
  add(encoded: string, event: SluiceEvent): number {
    const id = this.allocate(encoded, keyValues(this.groupBy, event), keyGroup(encoded));
    this.ids.set(encoded, id);
    return id;
  }

  private allocate(encoded: string, values: unknown[], group: number): number {
    if (!isPlainText(values)) this.unplain++;
    let id = this.freeIds.pop();
    if (id === undefined) {
      id = this.encodedOf.length;
      this.encodedOf.push(encoded);
      this.values.push(values);
      this.groups.push(group);
      this.orders.push(null);
      this.references.push(0);
      this.pending.push(true);
    } else {
      this.encodedOf[id] = encoded;
      this.values[id] = values;
      this.groups[id] = group;
      this.orders[id] = null;
      this.pending[id] = true;
    }
    this.added.push(id);
    return id;
  }

  /** The encoded key of a live id. */
  encoded(id: number): string {
    return this.encodedOf[id];
  }

  order(id: number): string {
    const known = this.orders[id];
    if (known !== null) return known;
    const order = keyOrder(this.values[id]);
    this.orders[id] = order;
    return order;
  }

  retain(id: number): void {
    this.references[id]++;
  }

  release(id: number): void {
    if (--this.references[id] > 0) return;
    if (id < this.unindexed.length && this.unindexed[id] !== 0) {
      this.unindexed[id] = 0;
      if (--this.unindexedCount === 0) this.unindexedByGroup.length = 0;
    } else this.ids.delete(this.encodedOf[id]);
    if (!isPlainText(this.values[id])) this.unplain--;
    this.freeIds.push(id);
    this.removed = true;
  }

  /**
   * `release` of each of `ids` (distinct live ids), in order. When they hold the last
   * reference of every live key (the last window purged, as at the end of a bounded
   * input), the map is emptied at once instead of by one delete per key.
   */
  releaseMany(ids: readonly number[]): void {
    const references = this.references;
    let last = this.unindexedCount === 0;
    let count = 0;
    for (let i = 0; last && i < ids.length; i++) {
      const id = ids[i];
      if (id < 0) continue;
      count++;
      last = references[id] === 1;
    }
    if (!last || count !== this.ids.size) {
      for (const id of ids) if (id >= 0) this.release(id);
      return;
    }
    for (const id of ids) {
      if (id < 0) continue;
      references[id] = 0;
      this.freeIds.push(id);
    }
    this.ids.clear();
    this.unplain = 0;
    if (count > 0) this.removed = true;
  }

  /** Live ids in output order. Valid until the next intern or release. */
  sortedIds(): readonly number[] {
    if (this.added.length === 0 && !this.removed) return this.sorted;
    const unindexed = this.unindexed;
    const live = (id: number) =>
      (id < unindexed.length && unindexed[id] !== 0) || this.ids.get(this.encodedOf[id]) === id;
    const kept = this.sorted.filter((id) => !this.pending[id] && live(id));
    const fresh: number[] = [];
    for (const id of this.added) {
      if (this.pending[id] && live(id)) {
        this.pending[id] = false;
        fresh.push(id);
      }
    }
    for (const id of fresh) this.order(id);
    const orders = this.orders as string[];
    fresh.sort((a, b) => compareCodeUnits(orders[a], orders[b]));
    const merged: number[] = new Array(kept.length + fresh.length);
    let i = 0;
    let j = 0;
    let out = 0;
    while (i < kept.length && j < fresh.length) {
      merged[out++] = orders[kept[i]] < orders[fresh[j]] ? kept[i++] : fresh[j++];
    }
    while (i < kept.length) merged[out++] = kept[i++];
    while (j < fresh.length) merged[out++] = fresh[j++];
    this.sorted = merged;
    this.added = [];
    this.removed = false;
    return merged;
  }
}

/** Whether a key tuple is one string without NUL that encodes as itself (no leading U+0001). */
function isPlainText(values: readonly unknown[]): boolean {
  const value = values[0];
  return (
    values.length === 1 && typeof value === 'string' && value.charCodeAt(0) !== 1 && !value.includes('\u0000')
  );
}
