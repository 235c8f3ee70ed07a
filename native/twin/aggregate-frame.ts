import { decodeFrame } from '../../actors/codecs/frame.ts';
import type { FrameSpec, NativeBatch } from '../native-batch.ts';
import { aggregateEvents, fallbackBatch, TwinKeys } from './aggregate-events.ts';

/** The key ids of each spec, kept from frame to frame as the addon keeps them. */
const keysOf = new WeakMap<FrameSpec, TwinKeys>();

/** The TS twin of the addon's `FrameAggregator`: `decodeFrame`, then `aggregateEvents`. */
export function aggregateFrameTwin(frame: Buffer, spec: FrameSpec, watermark: number): NativeBatch {
  const decoded = decodeFrame(frame);
  if (!decoded.ok) return fallbackBatch(decoded.code);
  let keys = keysOf.get(spec);
  if (keys === undefined) {
    keys = new TwinKeys();
    keysOf.set(spec, keys);
  }
  return aggregateEvents(decoded.events, spec, watermark, keys);
}
