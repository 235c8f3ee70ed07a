/**
 * Frame decode + pre-aggregation into a tumbling window, 100K keys: the native addon
 * against its TS twin and against today's per-event path (`decodeFrame` +
 * `WindowOperator.processBatch`). Before timing, all three must emit the same rows.
 * Each path runs the same pre-built frames through a fresh operator; figures are
 * events per second of CPU time on one thread, with per-batch latency percentiles.
 *
 *   node --import tsx bench/native/decode-aggregate.ts [events] [eventsPerFrame]
 */
import assert from 'node:assert/strict';
import * as hdr from 'hdr-histogram-js';
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
  type FrameSpec,
  frameSpecFor,
  type NativeBatch,
  nativeAddon,
  runBatch,
} from '../../native/index.ts';

const EVENTS = Number(process.argv[2] ?? 2_000_000);
const PER_FRAME = Number(process.argv[3] ?? 5_000);

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

const generator = createGenerator({ keys: 100_000, skew: 0.8, seed: 9 });
const frames: Buffer[] = [];
for (let made = 0; made < EVENTS; made += PER_FRAME) {
  const { events } = generator.nextBatch(PER_FRAME);
  // Event time moves 60 ms per 1,000 events: ~1M events per one-minute window.
  events.forEach((event, index) => {
    event.ts = 1_714_564_800_000 + Math.floor(((made + index) * 60) / 1000);
  });
  frames.push(encodeFrame(events));
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

const paths: Record<string, Path> = {
  'per-event TS (decodeFrame + processBatch)': (operator, frame, emit) => {
    const decoded = decodeFrame(frame);
    if (!decoded.ok) throw new Error(decoded.reason);
    const times = new Float64Array(decoded.events.length);
    for (let i = 0; i < times.length; i++) times[i] = decoded.events[i].ts as number;
    operator.processBatch(decoded.events, times, emit);
  },
  'TS twin (aggregate + runBatch)': fastPath(aggregateFrameTwin),
  ...(nativeAddon === null ? {} : { 'native (aggregate + runBatch)': fastPath(aggregateFrameNative) }),
};

function run(path: Path, keepRows: boolean) {
  const rows: string[] = [];
  let rowCount = 0;
  const emit: Emitter = {
    row: (row) => {
      rowCount++;
      if (keepRows) rows.push(formatRow(row));
    },
    late: () => {
      throw new Error('no late records expected');
    },
  };
  const operator = new WindowOperator(config);
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000 });
  const cpu = process.cpuUsage();
  for (const frame of frames) {
    const before = performance.now();
    path(operator, frame, emit);
    histogram.recordValue(Math.max(1, Math.round((performance.now() - before) * 1000)));
  }
  operator.advanceWatermark(Number.POSITIVE_INFINITY, emit);
  const used = process.cpuUsage(cpu);
  const seconds = (used.user + used.system) / 1e6;
  const figures = {
    eventsPerCpuSecond: EVENTS / seconds,
    p50: histogram.getValueAtPercentile(50),
    p99: histogram.getValueAtPercentile(99),
    p999: histogram.getValueAtPercentile(99.9),
  };
  histogram.destroy();
  return { rows, rowCount, figures };
}

// Agreement first: every path emits the same rows, byte for byte.
const reference = run(Object.values(paths)[0], true).rows;
for (const [name, path] of Object.entries(paths)) {
  assert.deepEqual(run(path, true).rows, reference, `${name} disagrees`);
}
console.log(`result check: ${Object.keys(paths).length} paths emit the same ${reference.length} rows`);
console.log(`${EVENTS} events, ${PER_FRAME} per LZ4 frame, 100K keys, tumbling 1 min, count/sum/max/avg`);

const rates: Record<string, number> = {};
for (const [name, path] of Object.entries(paths)) {
  run(path, false); // warm-up
  const { figures } = run(path, false);
  rates[name] = figures.eventsPerCpuSecond;
  console.log(
    `${name.padEnd(44)} ${(figures.eventsPerCpuSecond / 1e6).toFixed(2).padStart(6)}M events/s/core   batch p50 ${figures.p50}µs p99 ${figures.p99}µs p99.9 ${figures.p999}µs`,
  );
}

// The native side alone (decode + pre-aggregate, no merge), the figure of the crate itself.
if (nativeAddon !== null) {
  for (const [name, aggregate] of [
    ['native aggregateFrame alone', aggregateFrameNative],
    ['twin aggregateFrame alone', aggregateFrameTwin],
  ] as const) {
    const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000 });
    for (const frame of frames.slice(0, 20)) aggregate(frame, spec, Number.NEGATIVE_INFINITY);
    const cpu = process.cpuUsage();
    for (const frame of frames) {
      const before = performance.now();
      aggregate(frame, spec, Number.NEGATIVE_INFINITY);
      histogram.recordValue(Math.max(1, Math.round((performance.now() - before) * 1000)));
    }
    const used = process.cpuUsage(cpu);
    const rate = EVENTS / ((used.user + used.system) / 1e6);
    rates[name] = rate;
    console.log(
      `${name.padEnd(44)} ${(rate / 1e6).toFixed(2).padStart(6)}M events/s/core   batch p50 ${histogram.getValueAtPercentile(50)}µs p99 ${histogram.getValueAtPercentile(99)}µs`,
    );
    histogram.destroy();
  }
  const ratio = (a: string, b: string) => (rates[a] / rates[b]).toFixed(2);
  console.log(
    `native / twin, end to end: ${ratio('native (aggregate + runBatch)', 'TS twin (aggregate + runBatch)')}×`,
  );
  console.log(
    `native / per-event TS, end to end: ${ratio('native (aggregate + runBatch)', 'per-event TS (decodeFrame + processBatch)')}×`,
  );
  console.log(
    `native / twin, aggregateFrame alone: ${ratio('native aggregateFrame alone', 'twin aggregateFrame alone')}×`,
  );
}
