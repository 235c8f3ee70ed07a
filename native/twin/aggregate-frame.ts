import { decodeFrame } from '../../actors/codecs/frame.ts';
import type { FrameSpec, NativeBatch } from '../native-batch.ts';
import { aggregateEvents, fallbackBatch } from './aggregate-events.ts';

/** The TS twin of the addon's `aggregateFrame`: `decodeFrame`, then `aggregateEvents`. */
export function aggregateFrameTwin(frame: Buffer, spec: FrameSpec, watermark: number): NativeBatch {
  const decoded = decodeFrame(frame);
  if (!decoded.ok) return fallbackBatch(decoded.code);
  return aggregateEvents(decoded.events, spec, watermark);
}
