/**
 * Loads the native hot path, or its TS twin. `SLUICE_NATIVE=0` forces the twin;
 * `SLUICE_NATIVE=1` makes a missing or broken addon an error at load instead of a
 * silent fallback. `nativePath` says which one serves; both give the same results.
 *
 * The addon is `sluice-native.node`, built from `native/` by `build.mjs` (npm `prepare`).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { FieldProjectorClass } from './field-projection.ts';
import type { FrameSpec, NativeBatch } from './native-batch.ts';
import { type FrameAggregatorClass, NativeFrameAggregator } from './native-frame-aggregator.ts';
import { fallbackBatch } from './twin/aggregate-events.ts';
import { aggregateFrameTwin } from './twin/aggregate-frame.ts';

export { frameSpecFor } from './frame-spec.ts';
export type { AggregateRef, FrameSpec, NativeBatch } from './native-batch.ts';
export { DEFAULT_MAX_KEYS, STEP_ADVANCE, STEP_APPLY, STEP_SLOW } from './native-batch.ts';
export type { NativeFrameAggregator } from './native-frame-aggregator.ts';
export { runBatch, type SlowStep } from './run-batch.ts';
export { aggregateEvents, TwinKeys } from './twin/aggregate-events.ts';
export { aggregateFrameTwin } from './twin/aggregate-frame.ts';

/** The addon's exports (see `src/lib.rs`). */
export interface NativeAddon {
  /** Pre-aggregates frames for one window spec (`native-frame-aggregator.ts`). */
  FrameAggregator: FrameAggregatorClass;
  /** The frame failure code, or null for a frame whose payload is an array of `count` maps. */
  checkFrame(frame: Buffer): string | null;
  /** Reads chosen top-level fields of JSON or msgpack messages (`field-projection.ts`). */
  FieldProjector: FieldProjectorClass;
}

/** The addon is required but cannot be loaded. */
export class NativeAddonError extends Error {
  readonly code = 'SLUICE_ERR_NATIVE_MISSING';
  readonly retriable = false;
}

/** `SLUICE_NATIVE_ADDON` points elsewhere (tests of a missing addon). */
const addonPath =
  process.env.SLUICE_NATIVE_ADDON ?? fileURLToPath(new URL('./sluice-native.node', import.meta.url));

function loadAddon(): NativeAddon | null {
  const wanted = process.env.SLUICE_NATIVE;
  if (wanted === '0') return null;
  let failure = 'not built (run `node native/build.mjs`; it needs cargo)';
  if (existsSync(addonPath)) {
    try {
      return createRequire(import.meta.url)(addonPath) as NativeAddon;
    } catch (error) {
      failure = (error as Error).message;
    }
  }
  if (wanted === '1')
    throw new NativeAddonError(`SLUICE_NATIVE=1 but the native addon is missing: ${failure}`);
  return null;
}

/** The addon when it loaded (tests use it beside the twin); null when the twin serves. */
export const nativeAddon: NativeAddon | null = loadAddon();

export const nativePath: 'native' | 'ts' = nativeAddon === null ? 'ts' : 'native';

/** One native aggregator per spec object: it keeps key ids from frame to frame. */
const aggregators = new WeakMap<FrameSpec, NativeFrameAggregator>();

/**
 * The addon's pre-aggregation, with the twin's conventions; throws when no addon loaded.
 * The batch's arrays are views of buffers the next call on this thread overwrites: play
 * it (`runBatch`) before aggregating the next frame, or copy it.
 */
export function aggregateFrameNative(frame: Buffer, spec: FrameSpec, watermark: number): NativeBatch {
  if (nativeAddon === null) throw new NativeAddonError('the native addon is not loaded');
  let aggregator = aggregators.get(spec);
  if (aggregator === undefined) {
    aggregator = createFrameAggregator(spec) as NativeFrameAggregator;
    aggregators.set(spec, aggregator);
  }
  return aggregator.aggregate(frame, watermark);
}

/** A native pre-aggregator for `spec` when the addon is loaded; null when the twin serves. */
export function createFrameAggregator(spec: FrameSpec): NativeFrameAggregator | null {
  return nativeAddon === null ? null : new NativeFrameAggregator(new nativeAddon.FrameAggregator(spec), spec);
}

/**
 * Decodes a sluice frame and pre-aggregates it for a tumbling or hopping window against the
 * operator's current `watermark`, on the path that serves. Play the result with
 * `runBatch`; a non-null `fallback` means: process the batch event by event.
 */
export function aggregateFrame(frame: Buffer, spec: FrameSpec, watermark: number): NativeBatch {
  if (Number.isFinite(watermark) && !Number.isSafeInteger(watermark)) {
    return fallbackBatch('UNSUPPORTED_WATERMARK');
  }
  return nativeAddon === null
    ? aggregateFrameTwin(frame, spec, watermark)
    : aggregateFrameNative(frame, spec, watermark);
}

/**
 * Whether work started now should take the native path: the addon is loaded and
 * `SLUICE_NATIVE` is not `0` at this moment. A worker loads the addon, or not, by the
 * variable at its start; the main thread's file reader asks this when a job starts, so
 * both follow the variable the job was started under.
 */
export function nativeWanted(): boolean {
  return nativeAddon !== null && process.env.SLUICE_NATIVE !== '0';
}

/** One line for the start-up log: which path serves, and why when it is the twin. */
export function describeNativePath(): string {
  if (nativeAddon !== null) return `native hot path: native (${addonPath})`;
  const why = process.env.SLUICE_NATIVE === '0' ? 'SLUICE_NATIVE=0' : 'addon not built';
  return `native hot path: ts twin (${why})`;
}
