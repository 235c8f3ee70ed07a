import { hoppingStarts, type SluiceEvent } from '../../actors/windows/index.ts';
import {
  DEFAULT_MAX_KEYS,
  type FrameSpec,
  type NativeBatch,
  STEP_ADVANCE,
  STEP_APPLY,
  STEP_SLOW,
} from '../native-batch.ts';

/**
 * The TS twin of `native/src/batch.rs`: the same pre-aggregation, step for step, on
 * decoded events. Kept line-for-line close to the Rust so the differential tests can
 * compare the two whole results, not just the rows they lead to.
 */

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function scalarFits(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  const type = typeof value;
  return type === 'string' || type === 'boolean' || (type === 'number' && Number.isFinite(value));
}

function isValue(value: unknown): boolean {
  return typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number';
}

function keyPart(value: unknown): string {
  if (value === undefined || value === null) return 'n';
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (typeof value === 'number') return `d${value === 0 ? 0 : value}`;
  const text = value as string;
  return `s${text.length}:${text}`;
}

function period(at: number, offset: number, size: number): number {
  return Math.floor((at - offset) / size);
}

interface ColumnBuilder {
  counts: number[];
  numbers: number[];
  scalars: unknown[];
  values: Array<[number, number]>;
}

/** A batch the fast path leaves whole to the per-event path, and why. */
export function fallbackBatch(code: string): NativeBatch {
  return {
    fallback: code,
    count: 0,
    steps: new Int32Array(0),
    marks: new Float64Array(0),
    times: new Float64Array(0),
    windowStarts: new Float64Array(0),
    keyIds: new Uint32Array(0),
    keyValues: [],
    columns: [],
  };
}

/**
 * Key ids kept from batch to batch, as the addon keeps them (`src/keys.rs`): numbered in
 * order of first sight, forgotten all at once when a batch starts with `maxKeys` or more,
 * and those a refused batch added taken back.
 */
export class TwinKeys {
  ids = new Map<string, number>();
  /** groupBy values per id, flat: the batches' `keyValues` (a new array after a reset). */
  values: unknown[] = [];
}

/** Pre-aggregates decoded events against the operator's `watermark` (see `NativeBatch`). */
export function aggregateEvents(
  events: readonly SluiceEvent[],
  spec: FrameSpec,
  watermark: number,
  keys: TwinKeys = new TwinKeys(),
): NativeBatch {
  if (keys.ids.size >= Math.max(1, spec.maxKeys ?? DEFAULT_MAX_KEYS)) {
    keys.ids = new Map();
    keys.values = [];
  }
  const firstNewKey = keys.ids.size;
  const added: string[] = [];
  const refuse = (code: string): NativeBatch => {
    for (const key of added) keys.ids.delete(key);
    keys.values.length = firstNewKey * spec.groupBy;
    return fallbackBatch(code);
  };
  const size = spec.sizeMs;
  const slide = spec.slideMs ?? size;
  const lateness = spec.allowedLatenessMs;
  const steps: number[] = [];
  const marks: number[] = [];
  const times = new Float64Array(events.length);
  const windowStarts: number[] = [];
  const keyIds: number[] = [];
  const keyValues = keys.values;
  const columns: ColumnBuilder[] = spec.aggregates.map(() => ({
    counts: [],
    numbers: [],
    scalars: [],
    values: [],
  }));
  let segment = new Map<string, number>();
  let openEvents = 0;
  let marked = watermark;
  const fields = new Array<unknown>(spec.fields.length);

  const closeSegment = () => {
    if (openEvents > 0) {
      steps.push(STEP_APPLY, windowStarts.length);
      segment = new Map();
      openEvents = 0;
    }
  };
  const syncWatermark = () => {
    if (watermark !== marked) {
      steps.push(STEP_ADVANCE, marks.length);
      marks.push(watermark);
      marked = watermark;
    }
  };
  const slow = (index: number) => {
    closeSegment();
    syncWatermark();
    steps.push(STEP_SLOW, index);
  };
  // Windows start at multiples of `slide`: they end at `size` plus a multiple of it.
  const crosses = (from: number, to: number) =>
    from === Number.NEGATIVE_INFINITY ||
    period(to, size, slide) > period(from, size, slide) ||
    period(to, size + lateness, slide) > period(from, size + lateness, slide);

  for (let index = 0; index < events.length; index++) {
    const event = events[index];
    for (let i = 0; i < fields.length; i++) fields[i] = event[spec.fields[i]];
    const timeValue = fields[0];
    if (typeof timeValue === 'string') return refuse('UNSUPPORTED_TIME_STRING');
    if (timeValue instanceof Date) return refuse('UNSUPPORTED_MSGPACK');
    if (!isFiniteNumber(timeValue)) {
      times[index] = Number.NaN;
      slow(index);
      continue;
    }
    const time = timeValue;
    if (!Number.isInteger(time) || Math.abs(time) > MAX_SAFE) return refuse('UNSUPPORTED_FRACTIONAL_TIME');
    times[index] = time;
    let fits = true;
    for (let i = 1; i <= spec.groupBy; i++) if (!scalarFits(fields[i])) fits = false;
    for (const { kind, field } of spec.aggregates) {
      if (field === undefined) continue;
      const value = fields[field];
      if (kind === 'sum' || kind === 'min' || kind === 'max') {
        if (value !== undefined && value !== null && !isFiniteNumber(value)) fits = false;
      } else if (kind === 'first' || kind === 'last') {
        if (!scalarFits(value)) fits = false;
      }
    }
    // The event's windows, ascending (none in a gap between hopping windows); the first ends soonest.
    const starts = hoppingStarts(time, size, slide);
    if (!fits || starts.length === 0 || starts[0] + size <= watermark) slow(index);
    else {
      let key = '';
      for (let i = 1; i <= spec.groupBy; i++) key += `${keyPart(fields[i])}|`;
      let keyId = keys.ids.get(key);
      if (keyId === undefined) {
        keyId = keys.ids.size;
        keys.ids.set(key, keyId);
        added.push(key);
        for (let i = 1; i <= spec.groupBy; i++) keyValues.push(fields[i] ?? null);
      }
      openEvents++;
      for (const start of starts) {
        const partialKey = `${start}/${keyId}`;
        let partial = segment.get(partialKey);
        if (partial === undefined) {
          partial = windowStarts.length;
          segment.set(partialKey, partial);
          windowStarts.push(start);
          keyIds.push(keyId);
          spec.aggregates.forEach(({ kind }, c) => {
            columns[c].counts.push(0);
            columns[c].numbers.push(0);
            if (kind === 'first' || kind === 'last') columns[c].scalars.push(null);
          });
        }
        spec.aggregates.forEach(({ kind, field }, c) => {
          const column = columns[c];
          const value = field === undefined ? undefined : fields[field];
          switch (kind) {
            case 'count':
              if (field === undefined || (value !== undefined && value !== null)) column.counts[partial]++;
              break;
            case 'sum':
              if (typeof value === 'number') {
                column.numbers[partial] += value;
                column.counts[partial]++;
                column.values.push([partial, value]);
              }
              break;
            case 'min':
            case 'max':
              if (typeof value === 'number') {
                const better =
                  kind === 'max' ? value > column.numbers[partial] : value < column.numbers[partial];
                if (column.counts[partial] === 0 || better) column.numbers[partial] = value;
                column.counts[partial]++;
              }
              break;
            case 'first':
            case 'last':
              if (isValue(value)) {
                const held = column.counts[partial] > 0;
                const replace =
                  kind === 'last' ? time >= column.numbers[partial] : time < column.numbers[partial];
                if (!held || replace) {
                  column.numbers[partial] = time;
                  column.scalars[partial] = value;
                  column.counts[partial] = 1;
                }
              }
              break;
          }
        });
      }
    }
    const candidate = time - spec.maxOutOfOrderMs;
    if (candidate > watermark) {
      if (crosses(watermark, candidate)) {
        closeSegment();
        watermark = candidate;
        syncWatermark();
      } else watermark = candidate;
    }
  }
  closeSegment();
  syncWatermark();
  const partials = windowStarts.length;
  return {
    fallback: null,
    count: events.length,
    steps: Int32Array.from(steps),
    marks: Float64Array.from(marks),
    times,
    windowStarts: Float64Array.from(windowStarts),
    keyIds: Uint32Array.from(keyIds),
    keyValues,
    columns: columns.map((column) => {
      const offsets = new Uint32Array(partials + 1);
      for (const [partial] of column.values) offsets[partial + 1]++;
      for (let p = 0; p < partials; p++) offsets[p + 1] += offsets[p];
      const fill = offsets.slice();
      const values = new Float64Array(column.values.length);
      for (const [partial, value] of column.values) values[fill[partial]++] = value;
      return {
        counts: Float64Array.from(column.counts),
        numbers: Float64Array.from(column.numbers),
        scalars: column.scalars,
        values,
        offsets,
      };
    }),
  };
}
