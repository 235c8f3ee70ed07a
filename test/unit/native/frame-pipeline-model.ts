/**
 * Two ways to run frames into a tumbling window, for the differential tests: event by
 * event as the partition pipeline does (the reference), and through a pre-aggregated
 * `NativeBatch` (native or twin) played with `runBatch`. Both record rows, late records
 * and dead letters (index and code) as lines, so results compare byte for byte.
 */

import { parseEventTime } from '../../../actors/codecs/event-time.ts';
import { decodeFrame } from '../../../actors/codecs/frame.ts';
import {
  type Emitter,
  eventMisfit,
  formatRow,
  type SluiceEvent,
  WindowOperator,
  type WindowOperatorConfig,
} from '../../../actors/windows/index.ts';
import { type FrameSpec, type NativeBatch, runBatch } from '../../../native/index.ts';

export interface RunOutput {
  lines: string[];
  fallbacks: string[];
  state: unknown;
}

export type Aggregate = (frame: Buffer, spec: FrameSpec, watermark: number) => NativeBatch;

class Recorder implements Emitter {
  readonly lines: string[] = [];
  row(row: Parameters<Emitter['row']>[0]): void {
    this.lines.push(`row ${formatRow(row)}`);
  }
  late(record: Parameters<Emitter['late']>[0]): void {
    this.lines.push(`late ${JSON.stringify(record)}`);
  }
}

/** The partition pipeline's per-event path for one event of a batch. */
function processOne(
  operator: WindowOperator,
  config: WindowOperatorConfig,
  event: SluiceEvent,
  label: string,
  timeField: string,
  recorder: Recorder,
): void {
  const time = parseEventTime(event[timeField]);
  if (time === undefined) {
    recorder.lines.push(`dead ${label} TIME_INVALID`);
    return;
  }
  const misfit = eventMisfit(config, event);
  if (misfit !== null) {
    recorder.lines.push(`dead ${label} SCHEMA_MISFIT ${misfit}`);
    operator.advanceWatermark(time - config.maxOutOfOrderMs, recorder);
    return;
  }
  operator.process(event, time, recorder);
}

function processFrameEventByEvent(
  operator: WindowOperator,
  config: WindowOperatorConfig,
  frame: Buffer,
  batch: number,
  timeField: string,
  recorder: Recorder,
): void {
  const decoded = decodeFrame(frame);
  if (!decoded.ok) {
    recorder.lines.push(`dead frame ${batch} ${decoded.code} ${decoded.reason}`);
    return;
  }
  decoded.events.forEach((event, index) => {
    processOne(operator, config, event, `${batch}:${index}`, timeField, recorder);
  });
}

/** Every frame event by event, then the end of input. */
export function runReference(config: WindowOperatorConfig, frames: Buffer[], timeField: string): RunOutput {
  const operator = new WindowOperator(config);
  const recorder = new Recorder();
  frames.forEach((frame, batch) => {
    processFrameEventByEvent(operator, config, frame, batch, timeField, recorder);
  });
  operator.advanceWatermark(Number.POSITIVE_INFINITY, recorder);
  return { lines: recorder.lines, fallbacks: [], state: operator.snapshot() };
}

/** Every frame through `aggregate` and `runBatch` (per event where the batch says so). */
export function runFast(
  config: WindowOperatorConfig,
  spec: FrameSpec,
  frames: Buffer[],
  timeField: string,
  aggregate: Aggregate,
): RunOutput {
  const operator = new WindowOperator(config);
  const recorder = new Recorder();
  const fallbacks: string[] = [];
  frames.forEach((frame, batch) => {
    const result = aggregate(frame, spec, operator.watermark);
    if (result.fallback !== null) {
      fallbacks.push(result.fallback);
      processFrameEventByEvent(operator, config, frame, batch, timeField, recorder);
      return;
    }
    let events: SluiceEvent[] | null = null;
    runBatch(
      operator,
      result,
      (index) => {
        if (events === null) {
          const decoded = decodeFrame(frame);
          if (!decoded.ok) throw new Error('a frame the fast path read does not decode');
          events = decoded.events;
        }
        processOne(operator, config, events[index], `${batch}:${index}`, timeField, recorder);
      },
      recorder,
    );
  });
  operator.advanceWatermark(Number.POSITIVE_INFINITY, recorder);
  return { lines: recorder.lines, fallbacks, state: operator.snapshot() };
}
