/**
 * Public types of the pure event-time window operator. The topology loader maps its
 * (duration-string) window entries onto `WindowOperatorConfig`, with every duration
 * already converted to milliseconds.
 */

/**
 * The window shape. Windows align to the Unix epoch and cover `[start, end)`.
 * - tumbling: back-to-back windows of `sizeMs`.
 * - hopping: windows of `sizeMs` starting at every multiple of `slideMs`.
 * - session: per key, events closer than `gapMs` fall in one session; a session ends
 *   `gapMs` after its last event.
 */
export type WindowSpec =
  | { type: 'tumbling'; sizeMs: number }
  | { type: 'hopping'; sizeMs: number; slideMs: number }
  | { type: 'session'; gapMs: number };

/** Aggregate functions; null or missing field values are ignored, as in SQL. */
export type AggregateFn = 'count' | 'sum' | 'min' | 'max' | 'avg' | 'count_distinct' | 'first' | 'last';

/**
 * One output column. `field` is absent only for `count()`, which counts events;
 * `count(field)` counts the events whose field is not null.
 */
export interface AggregateSpec {
  name: string;
  fn: AggregateFn;
  field?: string;
}

export interface WindowOperatorConfig {
  window: WindowSpec;
  /** How long after a window fired late events still update it (re-fire, version + 1). */
  allowedLatenessMs: number;
  /** The watermark trails the largest event time seen by this much. */
  maxOutOfOrderMs: number;
  /** Key fields; a missing field groups as null. */
  groupBy: string[];
  /** Output columns, in output order. */
  aggregates: AggregateSpec[];
}

/** A decoded event. Its event time is passed beside it, already parsed to ms. */
export type SluiceEvent = Record<string, unknown>;

/**
 * A fired window for one key. `(window_start, key)` identifies the row; `version`
 * grows by one per firing so idempotent sinks keep the latest.
 */
export interface OutputRow {
  window_start: number;
  window_end: number;
  version: number;
  [field: string]: unknown;
}

/** An event that arrived after `window_end + allowedLateness` for one of its windows. */
export interface LateRecord {
  event: SluiceEvent;
  window_start: number;
  window_end: number;
  /** The watermark as it stood when the event arrived. */
  watermark: number;
}

/** Receives everything the operator emits, synchronously and in order. */
export interface Emitter {
  row(row: OutputRow): void;
  late(record: LateRecord): void;
}

/**
 * A watermark or time in a snapshot: finite numbers as-is, infinities as strings
 * (JSON has no Infinity).
 */
export type EncodedTime = number | '-inf' | 'inf';

/** Per-row aggregate state, one entry per aggregate, in config order (plain data). */
export type AggregateRowState = unknown[];

/** A tumbling or hopping window with its per-key rows. */
export interface BucketState {
  start: number;
  fired: boolean;
  /** Per row: the key values tuple, the last emitted version, the aggregate state. */
  rows: Array<[key: unknown[], version: number, aggregates: AggregateRowState]>;
}

/** One session of one key. */
export interface SessionState {
  key: unknown[];
  start: number;
  end: number;
  version: number;
  fired: boolean;
  aggregates: AggregateRowState;
}

/**
 * Everything a `WindowOperator` holds, as plain data (arrays, objects, finite numbers,
 * strings, booleans, null) that survives JSON and msgpack round-trips.
 */
export interface WindowOperatorState {
  format: 1;
  watermark: EncodedTime;
  buckets: BucketState[];
  sessions: SessionState[];
}

/**
 * The rows of one tumbling/hopping window for the keys of one key group (see
 * `keyGroup`), column by column: what one stored value holds. Row `r` has the key tuple
 * `keys[r * groupBy.length …]`, `refires[r]` firings past the window's own (its version
 * is `refires[r] + (fired ? 1 : 0)`, so a window firing changes no row), and the
 * aggregate state `columns[a]` of aggregate `a` (config order) in that column's form.
 */
export interface RowChunk {
  start: number;
  group: number;
  keys: unknown[];
  refires: number[];
  columns: unknown[];
}

/**
 * Takes the row chunks of a capture one by one (`WindowOperator.captureChanges`);
 * `plainText` when every key value in the chunk is known to be a string without NUL.
 */
export type ChunkSink = (chunk: RowChunk, plainText: boolean) => void;

/** A tumbling/hopping window's own state: its start and whether it has fired. */
export interface WindowMark {
  start: number;
  fired: boolean;
}

/** The sessions of every key of one key group; an empty list means the group holds none. */
export interface SessionGroup {
  group: number;
  sessions: SessionState[];
}

/**
 * What changed in a `WindowOperator` since its previous `captureChanges` (or all of its
 * state), as plain data: write `marks`, `chunks` and `sessionGroups` whole (each
 * replaces what was stored under its identity), and drop everything stored for the
 * windows in `purged`.
 */
export interface WindowStateChanges {
  watermark: EncodedTime;
  /** Rows (tumbling/hopping: one per window and key; sessions: one per session) held, in memory or evicted. */
  rows: number;
  marks: WindowMark[];
  chunks: RowChunk[];
  sessionGroups: SessionGroup[];
  purged: number[];
}

/** A stored row chunk the operator no longer holds in memory (evicted), to be read back. */
export interface EvictedChunk {
  start: number;
  group: number;
}
