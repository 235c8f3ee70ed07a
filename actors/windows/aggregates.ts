import type { PartialColumn } from './partial-batch.ts';
import type { AggregateRowState, AggregateSpec, SluiceEvent } from './types.ts';

/**
 * Aggregate accumulators, stored by row: every number a row holds (its use stamp, when the
 * table keeps one, then each aggregate's counts, sums, extremes, times) sits in one
 * Float64Array, `width` cells per row slot. An event then touches one cache line of state
 * instead of one per array (with 100K keys each of those was a cache miss), the per-event
 * path allocates nothing, and a window with 100K keys is one typed array rather than 100K
 * objects. Values that are not numbers (count_distinct's sets, first/last's values) live
 * in per-column arrays beside it.
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

/** The numeric cells of a table's rows: row `slot` is `values[slot * width …]`. */
class RowCells {
  values: Float64Array;

  constructor(
    readonly width: number,
    capacity: number,
  ) {
    this.values = new Float64Array(width * Math.max(16, capacity));
  }

  /** Makes room for `rows` rows (doubling), keeping what is held. */
  reserve(rows: number): void {
    const needed = rows * this.width;
    if (needed <= this.values.length) return;
    const grown = new Float64Array(Math.max(needed, this.values.length * 2));
    grown.set(this.values);
    this.values = grown;
  }
}

/**
 * One aggregate's share of a table: `cellCount` cells of each row from `offset`, plus its
 * own per-slot arrays for values that are not numbers. The per-event add is compiled per
 * table layout (see `compileAdder`); a column that keeps non-numeric values adds through
 * its `add`.
 */
interface AggregateColumn {
  /** Appends one fresh slot to the column's own arrays (cells are the table's). */
  grow(): void;
  /** Clears a slot's own arrays for reuse (the table zeroes its cells). */
  reset(slot: number): void;
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

/** Row cells an aggregate function keeps. */
function cellsOf(spec: AggregateSpec): number {
  switch (spec.fn) {
    case 'count':
    case 'first':
    case 'last':
      return 1;
    case 'sum':
    case 'avg':
    case 'min':
    case 'max':
      return 2;
    case 'count_distinct':
      return 0;
  }
}

/** Cell `offset` of `slots`, in their order. */
function pickCells(cells: RowCells, offset: number, slots: readonly number[]): number[] {
  const { values, width } = cells;
  const out = new Array<number>(slots.length);
  for (let i = 0; i < slots.length; i++) out[i] = values[slots[i] * width + offset];
  return out;
}

/** Refuses a stored column that does not hold one value per row. */
function checkColumn(values: unknown, rows: number): void {
  if (!Array.isArray(values) || values.length !== rows) {
    throw new TypeError(
      `aggregate column holds ${Array.isArray(values) ? values.length : 'no'} values for ${rows} rows`,
    );
  }
}

/** Stores `values[i]` in cell `offset` of `slots[i]`. */
function placeCells(cells: RowCells, offset: number, slots: readonly number[], values: unknown): void {
  checkColumn(values, slots.length);
  const stored = values as number[];
  const { values: target, width } = cells;
  for (let i = 0; i < slots.length; i++) target[slots[i] * width + offset] = stored[i];
}

/** Values of `array` at `slots`. */
function pick<T>(array: readonly T[], slots: readonly number[]): T[] {
  const out = new Array<T>(slots.length);
  for (let i = 0; i < slots.length; i++) out[i] = array[slots[i]];
  return out;
}

/** Stores `values[i]` at `slots[i]`. */
function place<T>(array: T[], slots: readonly number[], values: unknown): void {
  checkColumn(values, slots.length);
  const stored = values as T[];
  for (let i = 0; i < slots.length; i++) array[slots[i]] = stored[i];
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

/** count() counts events; count(field) counts events whose field is not null. Cell: the count. */
class CountColumn implements AggregateColumn {
  constructor(
    private readonly cells: RowCells,
    private readonly offset: number,
  ) {}
  grow(): void {}
  reset(): void {}
  merge(target: number, source: number): void {
    const { values, width } = this.cells;
    values[target * width + this.offset] += values[source * width + this.offset];
  }
  mergePartial(slot: number, column: PartialColumn, partial: number): void {
    this.cells.values[slot * this.cells.width + this.offset] += column.counts[partial];
  }
  result(slot: number): unknown {
    return this.cells.values[slot * this.cells.width + this.offset];
  }
  save(slot: number): unknown {
    return this.result(slot);
  }
  load(slot: number, state: unknown): void {
    this.cells.values[slot * this.cells.width + this.offset] = state as number;
  }
  saveMany(slots: readonly number[]): unknown {
    return pickCells(this.cells, this.offset, slots);
  }
  loadMany(slots: readonly number[], state: unknown): void {
    placeCells(this.cells, this.offset, slots, state);
  }
}

/** sum(field) and avg(field) over finite numbers; null when the window saw none. Cells: sum, count. */
class SumColumn implements AggregateColumn {
  constructor(
    private readonly cells: RowCells,
    private readonly offset: number,
    private readonly average: boolean,
  ) {}
  grow(): void {}
  reset(): void {}
  merge(target: number, source: number): void {
    const { values, width } = this.cells;
    const into = target * width + this.offset;
    const from = source * width + this.offset;
    values[into] += values[from];
    values[into + 1] += values[from + 1];
  }
  /** The partial sum is exact only when added to 0; otherwise the values are re-added in order. */
  mergePartial(slot: number, column: PartialColumn, partial: number): void {
    const seen = column.counts[partial];
    if (seen === 0) return;
    const cells = this.cells.values;
    const at = slot * this.cells.width + this.offset;
    if (cells[at] === 0) cells[at] = column.numbers[partial];
    else {
      const values = column.values;
      let sum = cells[at];
      for (let i = column.offsets[partial]; i < column.offsets[partial + 1]; i++) sum += values[i];
      cells[at] = sum;
    }
    cells[at + 1] += seen;
  }
  result(slot: number): unknown {
    const cells = this.cells.values;
    const at = slot * this.cells.width + this.offset;
    const count = cells[at + 1];
    if (count === 0) return null;
    return this.average ? cells[at] / count : cells[at];
  }
  save(slot: number): unknown {
    const at = slot * this.cells.width + this.offset;
    return [this.cells.values[at], this.cells.values[at + 1]];
  }
  load(slot: number, state: unknown): void {
    const [sum, count] = state as [number, number];
    const at = slot * this.cells.width + this.offset;
    this.cells.values[at] = sum;
    this.cells.values[at + 1] = count;
  }
  saveMany(slots: readonly number[]): unknown {
    return [pickCells(this.cells, this.offset, slots), pickCells(this.cells, this.offset + 1, slots)];
  }
  loadMany(slots: readonly number[], state: unknown): void {
    const [sums, counts] = state as [unknown, unknown];
    placeCells(this.cells, this.offset, slots, sums);
    placeCells(this.cells, this.offset + 1, slots, counts);
  }
}

/** min(field) / max(field) over finite numbers; null when the window saw none. Cells: extreme, count. */
class ExtremeColumn implements AggregateColumn {
  constructor(
    private readonly cells: RowCells,
    private readonly offset: number,
    private readonly largest: boolean,
  ) {}
  grow(): void {}
  reset(): void {}
  private better(candidate: number, current: number): boolean {
    return this.largest ? candidate > current : candidate < current;
  }
  merge(target: number, source: number): void {
    const { values, width } = this.cells;
    const into = target * width + this.offset;
    const from = source * width + this.offset;
    if (values[from + 1] === 0) return;
    if (values[into + 1] === 0 || this.better(values[from], values[into])) values[into] = values[from];
    values[into + 1] += values[from + 1];
  }
  mergePartial(slot: number, column: PartialColumn, partial: number): void {
    const seen = column.counts[partial];
    if (seen === 0) return;
    const cells = this.cells.values;
    const at = slot * this.cells.width + this.offset;
    const value = column.numbers[partial];
    if (cells[at + 1] === 0 || this.better(value, cells[at])) cells[at] = value;
    cells[at + 1] += seen;
  }
  result(slot: number): unknown {
    const at = slot * this.cells.width + this.offset;
    return this.cells.values[at + 1] === 0 ? null : this.cells.values[at];
  }
  save(slot: number): unknown {
    const at = slot * this.cells.width + this.offset;
    return [this.cells.values[at], this.cells.values[at + 1]];
  }
  load(slot: number, state: unknown): void {
    const [value, count] = state as [number, number];
    const at = slot * this.cells.width + this.offset;
    this.cells.values[at] = value;
    this.cells.values[at + 1] = count;
  }
  saveMany(slots: readonly number[]): unknown {
    return [pickCells(this.cells, this.offset, slots), pickCells(this.cells, this.offset + 1, slots)];
  }
  loadMany(slots: readonly number[], state: unknown): void {
    const [values, counts] = state as [unknown, unknown];
    placeCells(this.cells, this.offset, slots, values);
    placeCells(this.cells, this.offset + 1, slots, counts);
  }
}

/** count_distinct(field): exact count of distinct non-null values; 1 and "1" differ. No cells. */
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
    if (!Array.isArray(state) || state.length !== slots.length)
      throw new TypeError('count_distinct column does not match its rows');
    for (let i = 0; i < slots.length; i++) this.load(slots[i], state[i]);
  }
}

/**
 * first(field) / last(field): the value of the event with the smallest / largest event
 * time among events with a non-null field. Ties go to the earliest arrival for first
 * and the latest arrival for last. Merged sessions never tie: their events' times lie
 * in disjoint spans. Cell: the time of the value held; the value itself (null: none yet)
 * in the column's own array.
 */
class FirstLastColumn implements AggregateColumn {
  private readonly values: unknown[] = [];
  constructor(
    private readonly cells: RowCells,
    private readonly offset: number,
    private readonly field: string,
    private readonly latest: boolean,
  ) {}
  grow(): void {
    this.values.push(null);
  }
  reset(slot: number): void {
    this.values[slot] = null;
  }
  add(slot: number, event: SluiceEvent, time: number): void {
    const value = event[this.field];
    if (!isScalar(value)) return;
    this.offer(slot, time, value);
  }
  /** Holds `value` at `time` if it beats what the slot holds (later arrival: ties go to last). */
  private offer(slot: number, time: number, value: unknown): void {
    const at = slot * this.cells.width + this.offset;
    const held = this.cells.values[at];
    if (this.values[slot] === null || (this.latest ? time >= held : time < held)) {
      this.cells.values[at] = time;
      this.values[slot] = value;
    }
  }
  merge(target: number, source: number): void {
    if (this.values[source] === null) return;
    const { values, width } = this.cells;
    const sourceTime = values[source * width + this.offset];
    const targetTime = values[target * width + this.offset];
    if (this.values[target] === null || (this.latest ? sourceTime > targetTime : sourceTime < targetTime)) {
      values[target * width + this.offset] = sourceTime;
      this.values[target] = this.values[source];
    }
  }
  /** The partial's events came later, so for last a tie goes to the partial, for first to the slot. */
  mergePartial(slot: number, column: PartialColumn, partial: number): void {
    if (column.counts[partial] === 0) return;
    this.offer(slot, column.numbers[partial], column.scalars[partial]);
  }
  result(slot: number): unknown {
    return this.values[slot];
  }
  save(slot: number): unknown {
    return this.values[slot] === null
      ? null
      : [this.cells.values[slot * this.cells.width + this.offset], this.values[slot]];
  }
  load(slot: number, state: unknown): void {
    const at = slot * this.cells.width + this.offset;
    if (state === null) {
      this.cells.values[at] = 0;
      this.values[slot] = null;
    } else {
      const [time, value] = state as [number, unknown];
      this.cells.values[at] = time;
      this.values[slot] = value;
    }
  }
  /** Times and values; a null value is a row that holds none. */
  saveMany(slots: readonly number[]): unknown {
    return [pickCells(this.cells, this.offset, slots), pick(this.values, slots)];
  }
  loadMany(slots: readonly number[], state: unknown): void {
    const [times, values] = state as [unknown, unknown];
    placeCells(this.cells, this.offset, slots, times);
    place(this.values, slots, values);
  }
}

function createColumn(spec: AggregateSpec, cells: RowCells, offset: number): AggregateColumn {
  const field = spec.field as string;
  switch (spec.fn) {
    case 'count':
      return new CountColumn(cells, offset);
    case 'sum':
      return new SumColumn(cells, offset, false);
    case 'avg':
      return new SumColumn(cells, offset, true);
    case 'min':
      return new ExtremeColumn(cells, offset, false);
    case 'max':
      return new ExtremeColumn(cells, offset, true);
    case 'count_distinct':
      return new DistinctColumn(field);
    case 'first':
      return new FirstLastColumn(cells, offset, field, false);
    case 'last':
      return new FirstLastColumn(cells, offset, field, true);
  }
}

/**
 * Adds one event to one row: `cells` the table's cells, `base` the row's first cell,
 * `columns` the table's columns (those with non-numeric state add through them).
 */
type RowAdder = (
  cells: Float64Array,
  base: number,
  slot: number,
  event: SluiceEvent,
  time: number,
  columns: readonly AggregateColumn[],
) => void;

/** Where each aggregate's cells start in a row, and the row width. */
interface RowLayout {
  width: number;
  offsets: number[];
  add: RowAdder;
}

/** Layouts by aggregate list: every table of one config shares one compiled adder (one call target). */
const layouts = new Map<string, RowLayout>();

/**
 * The row layout of `specs`, with cell 0 the use stamp when `stamped`. Rows wider than two
 * cells are padded to 4 or a multiple of 8, so that an aligned row never straddles a
 * cache line.
 */
function layoutOf(specs: readonly AggregateSpec[], stamped: boolean): RowLayout {
  const signature = JSON.stringify([stamped, specs.map((spec) => [spec.fn, spec.field ?? null])]);
  const known = layouts.get(signature);
  if (known !== undefined) return known;
  const offsets: number[] = [];
  let used = stamped ? 1 : 0;
  for (const spec of specs) {
    offsets.push(used);
    used += cellsOf(spec);
  }
  const width = used <= 2 ? used : used <= 4 ? 4 : Math.ceil(used / 8) * 8;
  const layout = { width, offsets, add: compileAdder(specs, offsets) };
  layouts.set(signature, layout);
  return layout;
}

/** The source of one aggregate's per-event step (see `compileAdder`); its cells start at `offset`. */
function addStep(spec: AggregateSpec, offset: number, index: number): string {
  const at = `base + ${offset}`;
  const next = `base + ${offset + 1}`;
  const read = spec.field === undefined ? '' : `value = event[${JSON.stringify(spec.field)}];`;
  switch (spec.fn) {
    case 'count':
      return spec.field === undefined
        ? `cells[${at}] += 1;`
        : `${read} if (value !== undefined && value !== null) cells[${at}] += 1;`;
    case 'sum':
    case 'avg':
      return `${read} if (typeof value === 'number' && value - value === 0) { cells[${at}] += value; cells[${next}] += 1; }`;
    case 'min':
    case 'max': {
      const beats = spec.fn === 'min' ? '<' : '>';
      return `${read} if (typeof value === 'number' && value - value === 0) { if (cells[${next}] === 0 || value ${beats} cells[${at}]) cells[${at}] = value; cells[${next}] += 1; }`;
    }
    case 'count_distinct':
    case 'first':
    case 'last':
      return `columns[${index}].add(slot, event, time);`;
  }
}

/**
 * Compiles the per-event add of one aggregate list: one function with each aggregate's
 * step inline (no per-aggregate call, no loop), the hot path of every window. Field names
 * enter the source only as JSON string literals. Each step does exactly what the column's
 * rules above say: count(field) skips null and missing, sum/avg/min/max take finite
 * numbers only.
 */
function compileAdder(specs: readonly AggregateSpec[], offsets: readonly number[]): RowAdder {
  const steps = specs.map((spec, index) => addStep(spec, offsets[index], index));
  return new Function(
    'cells',
    'base',
    'slot',
    'event',
    'time',
    'columns',
    `let value;\n${steps.join('\n')}`,
  ) as RowAdder;
}

/**
 * Rows of aggregate state addressed by slot. Freed slots are reused, so a table that
 * sessions come and go in does not grow without bound. A `stamped` table also keeps a use
 * stamp per row (the window's use clock at the row's last change) in the row's first
 * cell, on the cache line the event touches anyway.
 */
export class AccumulatorTable {
  private readonly cells: RowCells;
  private readonly columns: AggregateColumn[];
  private readonly addRow: RowAdder;
  private readonly width: number;
  private readonly freeSlots: number[] = [];
  private size = 0;

  constructor(specs: readonly AggregateSpec[], options: { stamped?: boolean; capacity?: number } = {}) {
    const layout = layoutOf(specs, options.stamped === true);
    this.width = layout.width;
    this.cells = new RowCells(layout.width, options.capacity ?? 0);
    this.columns = specs.map((spec, index) => createColumn(spec, this.cells, layout.offsets[index]));
    this.addRow = layout.add;
  }

  allocate(): number {
    const columns = this.columns;
    const reused = this.freeSlots.pop();
    if (reused !== undefined) {
      this.cells.values.fill(0, reused * this.width, (reused + 1) * this.width);
      for (let i = 0; i < columns.length; i++) columns[i].reset(reused);
      return reused;
    }
    this.cells.reserve(this.size + 1);
    for (let i = 0; i < columns.length; i++) columns[i].grow();
    return this.size++;
  }

  release(slot: number): void {
    this.freeSlots.push(slot);
  }

  add(slot: number, event: SluiceEvent, time: number): void {
    this.addRow(this.cells.values, slot * this.width, slot, event, time, this.columns);
  }

  /** Stamps a row of a stamped table with `stamp`. */
  touch(slot: number, stamp: number): void {
    this.cells.values[slot * this.width] = stamp;
  }

  /**
   * Reads the first cell of row `slot` (its stamp in a stamped table), only to bring the
   * row into the cache ahead of its update (see `BucketedWindows.warm`).
   */
  peek(slot: number): number {
    return this.cells.values[slot * this.width];
  }

  /** The stamp of a row of a stamped table. */
  stampOf(slot: number): number {
    return this.cells.values[slot * this.width];
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
