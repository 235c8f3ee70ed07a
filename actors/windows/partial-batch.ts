/**
 * Partial aggregates of one batch, per (window start, key), folded outside the operator
 * (by the native hot path or its TS twin) and merged with `WindowOperator.applyPartials`.
 * Plain typed arrays so a native addon can hand them over without per-event objects.
 *
 * Partial `p` is for the window starting at `windowStarts[p]` and the key tuple
 * `keyValues[keyIds[p] * groupBy.length …]` (null for a missing value). Batches may share
 * one `keyValues` array, growing from batch to batch: a key id then means the same key in
 * each of them (the operator keeps what it derived per id while the array is the same). Its events were
 * all for a window still open when they arrived, and partials are listed in order of
 * their first event, so merging them allocates rows in the order `process` would.
 */
export interface PartialColumn {
  /** count: events counted; sum/avg/min/max: values seen; first/last: 1 if a value is held. */
  readonly counts: Float64Array;
  /** sum: the sum from 0 in arrival order; min/max: the extreme; first/last: its event time. */
  readonly numbers: Float64Array;
  /** first/last: the value held. */
  readonly scalars: readonly unknown[];
  /** sum/avg: each value in arrival order, partial p at `offsets[p] … offsets[p + 1]`. */
  readonly values: Float64Array;
  readonly offsets: Uint32Array;
}

export interface PartialBatch {
  readonly windowStarts: Float64Array;
  readonly keyIds: Uint32Array;
  readonly keyValues: readonly unknown[];
  /** One per aggregate, in config order. */
  readonly columns: readonly PartialColumn[];
}
