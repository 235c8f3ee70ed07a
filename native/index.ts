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
import { fallbackBatch } from './twin/aggregate-events.ts';
import { aggregateFrameTwin } from './twin/aggregate-frame.ts';

export { frameSpecFor } from './frame-spec.ts';
export type { AggregateRef, FrameSpec, NativeBatch } from './native-batch.ts';
export { STEP_ADVANCE, STEP_APPLY, STEP_SLOW } from './native-batch.ts';
export { runBatch, type SlowStep } from './run-batch.ts';
export { aggregateEvents } from './twin/aggregate-events.ts';
export { aggregateFrameTwin } from './twin/aggregate-frame.ts';

/** What the addon returns: a `NativeBatch` whose key values travel compact. */
interface RawNativeBatch extends Omit<NativeBatch, 'keyValues' | 'fallback'> {
  fallback?: string | null;
  /** Per key value: 0 null, 1 false, 2 true, 3 number, 4 string. */
  keyKinds: Uint8Array;
  /** The number, or for a string the UTF-16 offset where it ends in `keyText`. */
  keyNumbers: Float64Array;
  keyText: string;
}

/** The addon's exports (see `src/lib.rs`). */
export interface NativeAddon {
  aggregateFrame(frame: Buffer, spec: FrameSpec, watermark: number): RawNativeBatch;
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

/**
 * The twin's shape from the addon's: key values rebuilt from their compact form (one
 * string for all key text: one boundary crossing instead of one per key), and null
 * where napi hands back undefined for an absent Option.
 */
function normalise(raw: RawNativeBatch): NativeBatch {
  const { keyKinds, keyNumbers, keyText, ...rest } = raw;
  const keyValues = new Array<unknown>(keyKinds.length);
  let textAt = 0;
  for (let i = 0; i < keyKinds.length; i++) {
    const kind = keyKinds[i];
    if (kind === 4) {
      const end = keyNumbers[i];
      keyValues[i] = keyText.slice(textAt, end);
      textAt = end;
    } else keyValues[i] = kind === 3 ? keyNumbers[i] : kind === 0 ? null : kind === 2;
  }
  for (const column of raw.columns) {
    const scalars = column.scalars as unknown[];
    for (let i = 0; i < scalars.length; i++) scalars[i] ??= null;
  }
  return { ...rest, fallback: raw.fallback ?? null, keyValues };
}

/** The addon's `aggregateFrame`, with the twin's conventions; throws when no addon loaded. */
export function aggregateFrameNative(frame: Buffer, spec: FrameSpec, watermark: number): NativeBatch {
  if (nativeAddon === null) throw new NativeAddonError('the native addon is not loaded');
  return normalise(nativeAddon.aggregateFrame(frame, spec, watermark));
}

/**
 * Decodes a sluice frame and pre-aggregates it for a tumbling window against the
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

/** One line for the start-up log: which path serves, and why when it is the twin. */
export function describeNativePath(): string {
  if (nativeAddon !== null) return `native hot path: native (${addonPath})`;
  const why = process.env.SLUICE_NATIVE === '0' ? 'SLUICE_NATIVE=0' : 'addon not built';
  return `native hot path: ts twin (${why})`;
}
