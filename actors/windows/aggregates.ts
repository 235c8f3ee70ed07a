import type { PartialColumn } from './partial-batch.ts';
import type { AggregateRowState, AggregateSpec, SluiceEvent } from './types.ts';

/**
 * Aggregate accumulators, stored by column: each column keeps one flat array per
 * quantity, indexed by row slot, so the per-event path allocates nothing and a window
 * with 100K keys is a handful of arrays rather than 100K objects.
 *
 * Null handling is SQL's: a missing or null field is ignored. Values `eventMisfit`
 * refuses (non-numbers for sum/min/max/avg, objects, arrays, non-finite numbers) are
 * ignored too, so an operator fed a misfit event stays deterministic.
 *
 * Sums add in arrival order, so they are bit-identical whatever the batch boundaries.
 * Merging two sessions adds their partial sums: deterministic, and exact for integer
 * data, but for fractional data it may differ in the last bit from one pass in arrival
 * order.
 */
interface AggregateColumn {
  /** Appends one fresh slot. */
  grow(): void;
  /** Clears a slot for reuse. */
  reset(slot: number): void;
  add(slot: number, event: SluiceEvent, time: number): void;
  /** Folds the state of `source` into `target` (session merges). */
  merge(target: number, source: number): void;
  /**
   * Folds partial `partial` of a batch (events that arrived after everything in `slot`)
   * into `slot`, with the result `add` would give on each of those events in order.
   */
  mergePartial(slot: number, column: PartialColumn, partial: number): void;
  result(slot: number): unknown;
  save(slot: number): unknown;
  load(slot: number, state: unknown): void;
  /** The state of `slots`, in their order, as one plain-data column. */
  saveMany(slots: readonly number[]): unknown;
  /** Loads what `saveMany` gave into `slots`, in the same order. */
  loadMany(slots: readonly number[], state: unknown): void;
}

/** Values of `array` at `slots`. */
function pick<T>(array: readonly T[], slots: readonly number[]): T[] {
  const out = new Array<T>(slots.length);
  for (let i = 0; i < slots.length; i++) out[i] = array[slots[i]];
  return out;
}

/** Stores `values[i]` at `slots[i]`. */
function place<T>(array: T[], slots: readonly number[], values: readonly T[]): void {
  if (!Array.isArray(values) || values.length !== slots.length) {
    throw new TypeError(
      `aggregate column holds ${Array.isArray(values) ? values.length : 'no'} values for ${slots.length} rows`,
    );
  }
  for (let i = 0; i < slots.length; i++) array[slots[i]] = values[i];
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && value - value === 0;
}

/** A value count_distinct/first/last can hold: string, boolean or finite number. */
function isScalar(value: unknown): boolean {
  const type = typeof value;
  return (
    type === 'string' ||
    type === 'boolean' ||
    (type === 'number' && (value as number) - (value as number) === 0)
  );
}

/** count() counts events; count(field) counts events whose field is not null. */
class CountColumn implements AggregateColumn {
  private readonly counts: number[] = [];
  constructor(private readonly field: string | undefined) {}
  grow(): void {
    this.counts.push(0);
  }
  reset(slot: number): void {
    this.counts[slot] = 0;
  }
  add(slot: number, event: SluiceEvent): void {
    if (this.field === undefined) this.counts[slot]++;
    else {
      const value = event[this.field];
      if (value !== undefined && value !== null) this.counts[slot]++;
    }
  }
  merge(target: number, source: number): void {
    this.counts[target] += this.counts[source];
  }
  mergePartial(slot: number, column: PartialColumn, partial: number): void {
    this.counts[slot] += column.counts[partial];
  }
  result(slot: number): unknown {
    return this.counts[slot];
  }
  save(slot: number): unknown {
    return this.counts[slot];
  }
  load(slot: number, state: unknown): void {
    this.counts[slot] = state as number;
  }
  saveMany(slots: readonly number[]): unknown {
    return pick(this.counts, slots);
  }
  loadMany(slots: readonly number[], state: unknown): void {
    place(this.counts, slots, state as number[]);
  }
}

/** sum(field) and avg(field) over finite numbers; null when the window saw none. */
class SumColumn implements AggregateColumn {
  private readonly sums: number[] = [];
  private readonly counts: number[] = [];
  constructor(
    private readonly field: string,
    private readonly average: boolean,
  ) {}
  grow(): void {
    this.sums.push(0);
    this.counts.push(0);
  }
  reset(slot: number): void {
    this.sums[slot] = 0;
    this.counts[slot] = 0;
  }
  add(slot: number, event: SluiceEvent): void {
    const value = event[this.field];
    if (isFiniteNumber(value)) {
      this.sums[slot] += value;
      this.counts[slot]++;
    }
  }
  merge(target: number, source: number): void {
    this.sums[target] += this.sums[source];
    this.counts[target] += this.counts[source];
  }
  /** The partial sum is exact only when added to 0; otherwise the values are re-added in order. */
  mergePartial(slot: number, column: PartialColumn, partial: number): void {
    const seen = column.counts[partial];
    if (seen === 0) return;
    if (this.sums[slot] === 0) this.sums[slot] = column.numbers[partial];
    else {
      const values = column.values;
      let sum = this.sums[slot];
      for (let i = column.offsets[partial]; i < column.offsets[partial + 1]; i++) sum += values[i];
      this.sums[slot] = sum;
    }
    this.counts[slot] += seen;
  }
  result(slot: number): unknown {
    const count = this.counts[slot];
    if (count === 0) return null;
    return this.average ? this.sums[slot] / count : this.sums[slot];
  }
  save(slot: number): unknown {
    return [this.sums[slot], this.counts[slot]];
  }
  load(slot: number, state: unknown): void {
    const [sum, count] = state as [number, number];
    this.sums[slot] = sum;
    this.counts[slot] = count;
  }
  saveMany(slots: readonly number[]): unknown {
    return [pick(this.sums, slots), pick(this.counts, slots)];
  }
  loadMany(slots: readonly number[], state: unknown): void {
    const [sums, counts] = state as [number[], number[]];
    place(this.sums, slots, sums);
    place(this.counts, slots, counts);
  }
}

/** min(field) / max(field) over finite numbers; null when the window saw none. */
class ExtremeColumn implements AggregateColumn {
  private readonly values: number[] = [];
  private readonly counts: number[] = [];
  constructor(
    private readonly field: string,
    private readonly largest: boolean,
  ) {}
  grow(): void {
    this.values.push(0);
    this.counts.push(0);
  }
  reset(slot: number): void {
    this.values[slot] = 0;
    this.counts[slot] = 0;
  }
  private better(candidate: number, current: number): boolean {
    return this.largest ? candidate > current : candidate < current;
  }
  add(slot: number, event: SluiceEvent): void {
    const value = event[this.field];
    if (!isFiniteNumber(value)) return;
    if (this.counts[slot] === 0 || this.better(value, this.values[slot])) this.values[slot] = value;
    this.counts[slot]++;
  }
  merge(target: number, source: number): void {
    if (this.counts[source] === 0) return;
    if (this.counts[target] === 0 || this.better(this.values[source], this.values[target])) {
      this.values[target] = this.values[source];
    }
    this.counts[target] += this.counts[source];
  }
  mergePartial(slot: number, column: PartialColumn, partial: number): void {
    const seen = column.counts[partial];
    if (seen === 0) return;
    const value = column.numbers[partial];
    if (this.counts[slot] === 0 || this.better(value, this.values[slot])) this.values[slot] = value;
    this.counts[slot] += seen;
  }
  result(slot: number): unknown {
    return this.counts[slot] === 0 ? null : this.values[slot];
  }
  save(slot: number): unknown {
    return [this.values[slot], this.counts[slot]];
  }
  load(slot: number, state: unknown): void {
    const [value, count] = state as [number, number];
    this.values[slot] = value;
    this.counts[slot] = count;
  }
  saveMany(slots: readonly number[]): unknown {
    return [pick(this.values, slots), pick(this.counts, slots)];
  }
  loadMany(slots: readonly number[], state: unknown): void {
    const [values, counts] = state as [number[], number[]];
    place(this.values, slots, values);
    place(this.counts, slots, counts);
  }
}

/** count_distinct(field): exact count of distinct non-null values; 1 and "1" differ. */
class DistinctColumn implements AggregateColumn {
  private readonly sets: Array<Set<unknown> | null> = [];
  constructor(private readonly field: string) {}
  grow(): void {
    this.sets.push(null);
  }
  reset(slot: number): void {
    this.sets[slot] = null;
  }
  add(slot: number, event: SluiceEvent): void {
    const value = event[this.field];
    if (!isScalar(value)) return;
    const set = this.sets[slot];
    if (set === null) this.sets[slot] = new Set([value]);
    else set.add(value);
  }
  merge(target: number, source: number): void {
    const from = this.sets[source];
    if (from === null) return;
    const into = this.sets[target];
    if (into === null) this.sets[target] = new Set(from);
    else for (const value of from) into.add(value);
  }
  mergePartial(): void {
    throw new TypeError('count_distinct has no partial form; its events take the per-event path');
  }
  result(slot: number): unknown {
    return this.sets[slot]?.size ?? 0;
  }
  save(slot: number): unknown {
    return [...(this.sets[slot] ?? [])];
  }
  load(slot: number, state: unknown): void {
    const values = state as unknown[];
    this.sets[slot] = values.length === 0 ? null : new Set(values);
  }
  saveMany(slots: readonly number[]): unknown {
    return slots.map((slot) => this.save(slot));
  }
  loadMany(slots: readonly number[], state: unknown): void {
    const values = state as unknown[][];
    if (!Array.isArray(values) || values.length !== slots.length)
      throw new TypeError('count_distinct column does not match its rows');
    for (let i = 0; i < slots.length; i++) this.load(slots[i], values[i]);
  }
}

/**
 * first(field) / last(field): the value of the event with the smallest / largest event
 * time among events with a non-null field. Ties go to the earliest arrival for first
 * and the latest arrival for last. Merged sessions never tie: their events' times lie
 * in disjoint spans.
 */
class FirstLastColumn implements AggregateColumn {
  private readonly times: number[] = [];
  private readonly values: unknown[] = [];
  constructor(
    private readonly field: string,
    private readonly latest: boolean,
  ) {}
  grow(): void {
    this.times.push(0);
    this.values.push(null);
  }
  reset(slot: number): void {
    this.times[slot] = 0;
    this.values[slot] = null;
  }
  add(slot: number, event: SluiceEvent, time: number): void {
    const value = event[this.field];
    if (!isScalar(value)) return;
    if (this.values[slot] === null || (this.latest ? time >= this.times[slot] : time < this.times[slot])) {
      this.times[slot] = time;
      this.values[slot] = value;
    }
  }
  merge(target: number, source: number): void {
    if (this.values[source] === null) return;
    const sourceTime = this.times[source];
    if (
      this.values[target] === null ||
      (this.latest ? sourceTime > this.times[target] : sourceTime < this.times[target])
    ) {
      this.times[target] = sourceTime;
      this.values[target] = this.values[source];
    }
  }
  /** The partial's events came later, so for last a tie goes to the partial, for first to the slot. */
  mergePartial(slot: number, column: PartialColumn, partial: number): void {
    if (column.counts[partial] === 0) return;
    const time = column.numbers[partial];
    if (this.values[slot] === null || (this.latest ? time >= this.times[slot] : time < this.times[slot])) {
      this.times[slot] = time;
      this.values[slot] = column.scalars[partial];
    }
  }
  result(slot: number): unknown {
    return this.values[slot];
  }
  save(slot: number): unknown {
    return this.values[slot] === null ? null : [this.times[slot], this.values[slot]];
  }
  load(slot: number, state: unknown): void {
    if (state === null) this.reset(slot);
    else {
      const [time, value] = state as [number, unknown];
      this.times[slot] = time;
      this.values[slot] = value;
    }
  }
  /** Times and values; a null value is a row that holds none. */
  saveMany(slots: readonly number[]): unknown {
    return [pick(this.times, slots), pick(this.values, slots)];
  }
  loadMany(slots: readonly number[], state: unknown): void {
    const [times, values] = state as [number[], unknown[]];
    place(this.times, slots, times);
    place(this.values, slots, values);
  }
}

function createColumn(spec: AggregateSpec): AggregateColumn {
  const field = spec.field as string;
  switch (spec.fn) {
    case 'count':
      return new CountColumn(spec.field);
    case 'sum':
      return new SumColumn(field, false);
    case 'avg':
      return new SumColumn(field, true);
    case 'min':
      return new ExtremeColumn(field, false);
    case 'max':
      return new ExtremeColumn(field, true);
    case 'count_distinct':
      return new DistinctColumn(field);
    case 'first':
      return new FirstLastColumn(field, false);
    case 'last':
      return new FirstLastColumn(field, true);
  }
}

/**
 * Rows of aggregate state addressed by slot. Freed slots are reused, so a table that
 * sessions come and go in does not grow without bound.
 */
export class AccumulatorTable {
  private readonly columns: AggregateColumn[];
  private readonly freeSlots: number[] = [];
  private size = 0;

  constructor(specs: readonly AggregateSpec[]) {
    this.columns = specs.map(createColumn);
  }

  allocate(): number {
    const columns = this.columns;
    const reused = this.freeSlots.pop();
    if (reused !== undefined) {
      for (let i = 0; i < columns.length; i++) columns[i].reset(reused);
      return reused;
    }
    for (let i = 0; i < columns.length; i++) columns[i].grow();
    return this.size++;
  }

  release(slot: number): void {
    this.freeSlots.push(slot);
  }

  add(slot: number, event: SluiceEvent, time: number): void {
    const columns = this.columns;
    for (let i = 0; i < columns.length; i++) columns[i].add(slot, event, time);
  }

  merge(target: number, source: number): void {
    for (const column of this.columns) column.merge(target, source);
  }

  /** Folds partial `partial` of a batch into `slot`; `columns` are in config order. */
  mergePartial(slot: number, columns: readonly PartialColumn[], partial: number): void {
    for (let i = 0; i < this.columns.length; i++) this.columns[i].mergePartial(slot, columns[i], partial);
  }

  /** The result of aggregate number `column` (config order) for `slot`. */
  result(column: number, slot: number): unknown {
    return this.columns[column].result(slot);
  }

  save(slot: number): AggregateRowState {
    return this.columns.map((column) => column.save(slot));
  }

  load(slot: number, state: AggregateRowState): void {
    for (let i = 0; i < this.columns.length; i++) this.columns[i].load(slot, state[i]);
  }

  /** The state of `slots` column by column: one plain-data value per aggregate. */
  saveMany(slots: readonly number[]): unknown[] {
    return this.columns.map((column) => column.saveMany(slots));
  }

  /** Loads what `saveMany` gave into `slots` (allocated, in the same order). */
  loadMany(slots: readonly number[], state: readonly unknown[]): void {
    if (!Array.isArray(state) || state.length !== this.columns.length) {
      throw new TypeError(
        `row chunk holds ${Array.isArray(state) ? state.length : 'no'} aggregate columns, the window has ${this.columns.length}`,
      );
    }
    for (let i = 0; i < this.columns.length; i++) this.columns[i].loadMany(slots, state[i]);
  }
}
