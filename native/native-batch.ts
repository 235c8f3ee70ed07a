import type { PartialBatch } from '../actors/windows/index.ts';

/**
 * What crosses the boundary: the spec of the fields a tumbling or hopping window reads, and the
 * pre-aggregated batch that comes back. The Rust addon (`src/lib.rs`) and the TS twin
 * (`twin/aggregate-events.ts`) produce the same `NativeBatch` for the same input.
 */
export interface AggregateRef {
  /** count, sum, min, max, first or last (avg travels as sum). */
  kind: 'count' | 'sum' | 'min' | 'max' | 'first' | 'last';
  /** Index into `FrameSpec.fields`; absent for count(). */
  field?: number;
}

export interface FrameSpec {
  /** Field names read per event: the time field, then the groupBy fields, then the others. */
  fields: string[];
  groupBy: number;
  aggregates: AggregateRef[];
  sizeMs: number;
  /** A hopping window's slide; absent (or `sizeMs`) for a tumbling window. */
  slideMs?: number;
  allowedLatenessMs: number;
  maxOutOfOrderMs: number;
  /**
   * Key ids are kept from batch to batch (`NativeBatch.keyValues`) up to this many keys;
   * a batch that starts with more forgets them all and numbers its keys from 0 again.
   * Default `DEFAULT_MAX_KEYS`.
   */
  maxKeys?: number;
}

/** Key ids kept by default (`FrameSpec.maxKeys`); the addon has the same default. */
export const DEFAULT_MAX_KEYS = 1 << 18;

/** Steps, as pairs in `steps`: what the operator does with the batch, in order. */
export const STEP_APPLY = 0;
export const STEP_ADVANCE = 1;
export const STEP_SLOW = 2;

export interface NativeBatch extends PartialBatch {
  /**
   * Null when the batch was aggregated. Otherwise a code saying why the per-event TS path
   * must take the whole batch: a frame failure code (`FRAME_…`), or `UNSUPPORTED_…` for
   * valid input the fast path leaves alone (ISO time strings, fractional times, ext types).
   */
  fallback: string | null;
  count: number;
  /**
   * Pairs (step, argument): (0, p) merge partials up to p (exclusive); (1, m) advance the
   * watermark to marks[m]; (2, i) run event i through the per-event path.
   */
  steps: Int32Array;
  marks: Float64Array;
  /** Per event: its time, NaN when the time field is missing or not a number. */
  times: Float64Array;
}
