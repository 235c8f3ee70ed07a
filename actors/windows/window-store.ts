import type { KeyEncoder } from './group-key.ts';
import type { RowFactory } from './row-factory.ts';
import type {
  ChunkSink,
  Emitter,
  SluiceEvent,
  WindowOperatorConfig,
  WindowOperatorState,
  WindowStateChanges,
} from './types.ts';

/**
 * The window state behind a `WindowOperator`: one implementation for epoch-aligned
 * windows (tumbling, hopping), one for sessions. The operator owns the watermark and
 * tells the store where it stood; the store decides what fires, re-fires, is late and
 * is purged.
 */
export interface WindowStore {
  /**
   * Step (1) for one event: add it to its windows, re-fire retained windows it updates
   * (in window_start order) and emit a late record for each window it missed.
   */
  assign(event: SluiceEvent, time: number, watermarkBefore: number, emit: Emitter): void;
  /** Fires every unfired window with end <= watermark, then purges expired ones. */
  advance(watermark: number, emit: Emitter): void;
  /** The lowest watermark at which `advance` may have work (may be early, never late). */
  readonly nextDeadline: number;
  /** Windows (per key) held in state. */
  readonly openWindows: number;
  save(state: WindowOperatorState): void;
  load(state: WindowOperatorState): void;
  /**
   * Adds what changed since the last capture (everything, when `all`) to `changes`, row
   * chunks to `onChunk` as each is built; then all is clean.
   */
  captureChanges(all: boolean, changes: WindowStateChanges, onChunk: ChunkSink): void;
  /** Moves the use clock on (between batches): later changes count as more recent. */
  tick(): void;
  /** Estimated heap bytes of the state held in memory. */
  readonly estimatedBytes: number;
}

/** What every store needs from the config, resolved once. */
export interface StoreContext {
  config: WindowOperatorConfig;
  encodeKey: KeyEncoder;
  buildRow: RowFactory;
}

/** The event whose groupBy fields are `key`: lets a restore re-encode stored keys. */
export function keyAsEvent(groupBy: readonly string[], key: readonly unknown[]): SluiceEvent {
  const event: SluiceEvent = {};
  for (let i = 0; i < groupBy.length; i++) event[groupBy[i]] = key[i];
  return event;
}
