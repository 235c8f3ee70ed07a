/**
 * Scenario `native`: frame decode + pre-aggregation into a tumbling window, 100K keys —
 * the native addon against its TS twin and against the per-event path (`decodeFrame` +
 * `WindowOperator.processBatch`). Before timing, all paths must emit the same rows,
 * byte for byte; that check runs every path over every frame, which warms it up. Then
 * each path runs the same pre-built frames through a fresh operator, timed: events/s are
 * events per second of this process's CPU time (one thread does the work: per core),
 * latency is per frame. `aggregateFrame` alone (no merge into the operator)
 * is timed too: the figure of the crate itself.
 *
 *   node --import tsx bench/native/decode-aggregate.ts [events] [eventsPerFrame]
 */
import { fileURLToPath } from 'node:url';
import { decodeFrame, encodeFrame } from '../../actors/codecs/frame.ts';
import { createGenerator } from '../../actors/generator/index.ts';
import {
  type Emitter,
  formatRow,
  WindowOperator,
  type WindowOperatorConfig,
} from '../../actors/windows/index.ts';
import {
  aggregateFrameNative,
  aggregateFrameTwin,
  describeNativePath,
  type FrameSpec,
  frameSpecFor,
  type NativeBatch,
  nativeAddon,
  runBatch,
} from '../../native/index.ts';
import { runScenarioChild, scenarioMain } from '../lib/child-scenario.ts';
import { LatencyRecorder, measureProcess } from '../lib/figures.ts';
import { runContext } from '../lib/machine.ts';
import type { ScenarioResult, SystemFigures } from '../lib/scenario-result.ts';

export interface NativeOptions {
  quick: boolean;
  command: string;
  events?: number;
  perFrame?: number;
}

const config: WindowOperatorConfig = {
  window: { type: 'tumbling', sizeMs: 60_000 },
  allowedLatenessMs: 0,
  maxOutOfOrderMs: 5_000,
  groupBy: ['user_id'],
  aggregates: [
    { name: 'events', fn: 'count' },
    { name: 'amount', fn: 'sum', field: 'amount' },
    { name: 'largest', fn: 'max', field: 'amount' },
    { name: 'mean', fn: 'avg', field: 'amount' },
  ],
};
const spec = frameSpecFor(config, 'ts') as FrameSpec;

function buildFrames(events: number, perFrame: number): Buffer[] {
  const generator = createGenerator({ keys: 100_000, skew: 0.8, seed: 9 });
  const frames: Buffer[] = [];
  for (let made = 0; made < events; made += perFrame) {
    const batch = generator.nextBatch(Math.min(perFrame, events - made)).events;
    // Event time moves 60 ms per 1,000 events: ~1M events per one-minute window.
    batch.forEach((event, index) => {
      event.ts = 1_714_564_800_000 + Math.floor(((made + index) * 60) / 1000);
    });
    frames.push(encodeFrame(batch));
  }
  return frames;
}

type Path = (operator: WindowOperator, frame: Buffer, emit: Emitter) => void;

function fastPath(aggregate: (frame: Buffer, spec: FrameSpec, watermark: number) => NativeBatch): Path {
  return (operator, frame, emit) => {
    const batch = aggregate(frame, spec, operator.watermark);
    if (batch.fallback !== null) throw new Error(`unexpected fallback ${batch.fallback}`);
    runBatch(
      operator,
      batch,
      () => {
        throw new Error('the benchmark input has no late or malformed events');
      },
      emit,
    );
  };
}

/** System names stay short: they label the charts. */
const PER_EVENT = 'per-event TS';
const TWIN = 'TS twin';
const NATIVE = 'native';
const NATIVE_ALONE = 'native aggregate only';
const TWIN_ALONE = 'TS twin aggregate only';

const paths: Record<string, Path> = {
  ...(nativeAddon === null ? {} : { [NATIVE]: fastPath(aggregateFrameNative) }),
  [TWIN]: fastPath(aggregateFrameTwin),
  [PER_EVENT]: (operator, frame, emit) => {
    const decoded = decodeFrame(frame);
    if (!decoded.ok) throw new Error(decoded.reason);
    const times = new Float64Array(decoded.events.length);
    for (let i = 0; i < times.length; i++) times[i] = decoded.events[i].ts as number;
    operator.processBatch(decoded.events, times, emit);
  },
};

function rowsOf(path: Path, frames: readonly Buffer[]): string[] {
  const rows: string[] = [];
  const emit: Emitter = {
    row: (row) => rows.push(formatRow(row)),
    late: () => {
      throw new Error('no late records expected');
    },
  };
  const operator = new WindowOperator(config);
  for (const frame of frames) path(operator, frame, emit);
  operator.advanceWatermark(Number.POSITIVE_INFINITY, emit);
  return rows;
}

/**
 * Times `step` over every frame on this thread. No warm-up pass of its own: the agreement
 * check has run every path over every frame already.
 */
function timed(
  system: string,
  events: number,
  frames: readonly Buffer[],
  fresh: () => (frame: Buffer) => void,
  latencyOf: string,
): SystemFigures {
  const step = fresh();
  const latency = new LatencyRecorder();
  const measure = measureProcess();
  for (const frame of frames) {
    const before = performance.now();
    step(frame);
    latency.record((performance.now() - before) * 1000);
  }
  const usage = measure.stop();
  return {
    system,
    scenario: system,
    events,
    ...usage,
    eventsPerSecond: events / (usage.cpuMs / 1000),
    latencyUs: latency.percentiles(),
    latencyOf,
  };
}

export async function runNative(options: NativeOptions): Promise<ScenarioResult> {
  const context = runContext(options.command);
  const events = options.events ?? (options.quick ? 100_000 : 500_000);
  const perFrame = options.perFrame ?? 5_000;
  const frames = buildFrames(events, perFrame);
  // Agreement first: every path emits the same rows, byte for byte.
  const [referenceName, ...others] = Object.keys(paths) as [string, ...string[]];
  const reference = rowsOf(paths[referenceName] as Path, frames);
  const lines = [`${referenceName}: ${reference.length.toLocaleString('en-US')} rows (reference)`];
  let agree = true;
  for (const name of others) {
    const rows = rowsOf(paths[name] as Path, frames);
    const same = rows.length === reference.length && rows.every((row, index) => row === reference[index]);
    agree &&= same;
    lines.push(`${name}: ${same ? 'the same rows, byte for byte' : 'DIFFERENT rows'}`);
  }
  const systems: SystemFigures[] = [];
  if (agree) {
    for (const [name, path] of Object.entries(paths)) {
      systems.push(
        timed(
          name,
          events,
          frames,
          () => {
            const operator = new WindowOperator(config);
            const emit: Emitter = { row: () => {}, late: () => {} };
            return (frame) => path(operator, frame, emit);
          },
          `${name === PER_EVENT ? 'decodeFrame + processBatch' : 'aggregateFrame + runBatch'}, per frame of ${perFrame.toLocaleString('en-US')} events: decode → window state applied; events/s per second of CPU on one thread`,
        ),
      );
    }
    const alone: Array<[string, typeof aggregateFrameTwin]> = [
      ...(nativeAddon === null
        ? []
        : [[NATIVE_ALONE, aggregateFrameNative] as [string, typeof aggregateFrameTwin]]),
      [TWIN_ALONE, aggregateFrameTwin],
    ];
    for (const [name, aggregate] of alone) {
      systems.push(
        timed(
          name,
          events,
          frames,
          () => (frame) => aggregate(frame, spec, Number.NEGATIVE_INFINITY),
          `aggregateFrame alone, per frame of ${perFrame.toLocaleString('en-US')} events: decode + pre-aggregate, no merge into the operator; events/s per second of CPU`,
        ),
      );
    }
  }
  const rate = (name: string) => systems.find((system) => system.system === name)?.eventsPerSecond;
  const ratio = (a: string, b: string): string => {
    const top = rate(a);
    const bottom = rate(b);
    return top === undefined || bottom === undefined ? '–' : `${(top / bottom).toFixed(2)}×`;
  };
  return {
    scenario: 'native',
    context,
    quick: options.quick,
    input: `${events.toLocaleString('en-US')} generator events (100,000 keys, skew 0.8) in LZ4 sluice frames of ${perFrame.toLocaleString('en-US')}, in memory; tumbling 1 min, count/sum/max/avg by user_id; ${describeNativePath()}`,
    check: { agree, lines },
    systems,
    skipped: [
      ...(nativeAddon === null ? [`native: skipped — ${describeNativePath()}; only the TS paths ran`] : []),
      'native on JSON: skipped — the addon has no JSON entry (it exports aggregateFrame and checkFrame only); JSON events always take the TS path',
      'the last column compares with the first row (native end to end); the aggregateFrame-alone ratio is in the table below',
    ],
    table: {
      header: ['ratio (events/s per core)', 'value', 'target'],
      rows: [
        ['native ÷ TS twin, end to end', ratio(NATIVE, TWIN), '≥ 3×'],
        ['native ÷ TS twin, aggregateFrame alone', ratio(NATIVE_ALONE, TWIN_ALONE), '≥ 3×'],
        ['native ÷ per-event TS, end to end', ratio(NATIVE, PER_EVENT), '–'],
      ],
    },
  };
}

/** The scenario for the suite: in its own process, so RSS and CPU are its own. */
export function runNativeScenario(options: NativeOptions): Promise<ScenarioResult> {
  return runScenarioChild(fileURLToPath(import.meta.url), options);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await scenarioMain(runNative, (command) => ({
    quick: false,
    command,
    events: process.argv[2] === undefined ? undefined : Number(process.argv[2]),
    perFrame: process.argv[3] === undefined ? undefined : Number(process.argv[3]),
  }));
}
