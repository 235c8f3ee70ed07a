/**
 * Window operator alone: 5M pre-generated events over 100K keys, tumbling 1m,
 * count + sum, about 10% out of order within maxOutOfOrder, fed through processBatch
 * in batches of 1,000. Prints events/s and per-batch latency percentiles.
 *
 * Before timing, it checks on a prefix that batched and per-event processing agree.
 *
 *   node --import tsx bench/windows/operator.ts [events] [keys]
 */
import * as hdr from 'hdr-histogram-js';
import {
  type Emitter,
  formatRow,
  type OutputRow,
  type SluiceEvent,
  WindowOperator,
  type WindowOperatorConfig,
} from '../../actors/windows/index.ts';

const EVENTS = Number(process.argv[2] ?? 5_000_000);
const KEYS = Number(process.argv[3] ?? 100_000);
const BATCH = 1_000;
/** Event time advances 60 ms per 1,000 events: 1M events (~10 per key) per one-minute window. */
const MS_PER_EVENT = Number(process.argv[4] ?? 0.06);

const config: WindowOperatorConfig = {
  window: { type: 'tumbling', sizeMs: 60_000 },
  allowedLatenessMs: 30_000,
  maxOutOfOrderMs: 5_000,
  groupBy: ['user_id'],
  aggregates: [
    { name: 'events', fn: 'count' },
    { name: 'amount', fn: 'sum', field: 'amount' },
  ],
};

/** A small deterministic PRNG (mulberry32) so every run times the same input. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generate(): { events: SluiceEvent[]; times: Float64Array } {
  const next = random(42);
  const names = Array.from({ length: KEYS }, (_, index) => `user-${index}`);
  const events: SluiceEvent[] = new Array(EVENTS);
  const times = new Float64Array(EVENTS);
  const base = 1_767_225_600_000;
  for (let i = 0; i < EVENTS; i++) {
    events[i] = { user_id: names[Math.floor(next() * KEYS)], amount: 1 + Math.floor(next() * 1000) };
    const inOrder = base + Math.floor(i * MS_PER_EVENT);
    times[i] = next() < 0.1 ? inOrder - Math.floor(next() * 5_000) : inOrder;
  }
  return { events, times };
}

/** Counts what the operator emits and totals the rows per window, for the agreement check. */
class CountingEmitter implements Emitter {
  rowCount = 0;
  lateCount = 0;
  readonly totals = new Map<number, string>();
  private readonly sums = new Map<number, [rows: number, events: number, amount: number]>();
  row(row: OutputRow): void {
    this.rowCount++;
    let sum = this.sums.get(row.window_start);
    if (sum === undefined) {
      sum = [0, 0, 0];
      this.sums.set(row.window_start, sum);
    }
    sum[0]++;
    sum[1] += row.events as number;
    sum[2] += row.amount as number;
  }
  late(): void {
    this.lateCount++;
  }
  describe(): string {
    return [...this.sums]
      .map(([start, [rows, events, amount]]) => `${start}:${rows}/${events}/${amount}`)
      .join(' ');
  }
}

/**
 * The floor to compare with: a bare two-level Map (window start → key → slot) with
 * count and sum in flat arrays, no watermark, lateness, versions or firing. Returns
 * the same per-window totals as `CountingEmitter.describe`.
 */
function baseline(events: SluiceEvent[], times: Float64Array): { seconds: number; totals: string } {
  const size = 60_000;
  const windows = new Map<number, { slots: Map<string, number>; counts: number[]; sums: number[] }>();
  const started = process.hrtime.bigint();
  for (let i = 0; i < events.length; i++) {
    const time = times[i];
    const start = time - (time % size);
    let window = windows.get(start);
    if (window === undefined) {
      window = { slots: new Map(), counts: [], sums: [] };
      windows.set(start, window);
    }
    const key = events[i].user_id as string;
    let slot = window.slots.get(key);
    if (slot === undefined) {
      slot = window.counts.length;
      window.slots.set(key, slot);
      window.counts.push(0);
      window.sums.push(0);
    }
    window.counts[slot]++;
    window.sums[slot] += events[i].amount as number;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const totals = [...windows]
    .sort((a, b) => a[0] - b[0])
    .map(([start, w]) => {
      const events = w.counts.reduce((a, b) => a + b, 0);
      const amount = w.sums.reduce((a, b) => a + b, 0);
      return `${start}:${w.counts.length}/${events}/${amount}`;
    })
    .join(' ');
  return { seconds, totals };
}

function agreeOnPrefix(events: SluiceEvent[], times: Float64Array): void {
  const length = Math.min(200_000, events.length);
  const outputs = [1, BATCH].map((batch) => {
    const lines: string[] = [];
    const operator = new WindowOperator(config);
    const emit: Emitter = {
      row: (row) => lines.push(formatRow(row)),
      late: (r) => lines.push(JSON.stringify(r)),
    };
    for (let i = 0; i < length; i += batch) {
      const end = Math.min(i + batch, length);
      operator.processBatch(events.slice(i, end), times.subarray(i, end), emit);
    }
    operator.advanceWatermark(Number.POSITIVE_INFINITY, emit);
    return lines.join('\n');
  });
  if (outputs[0] !== outputs[1]) throw new Error('batched and per-event processing disagree');
}

const { events, times } = generate();
agreeOnPrefix(events, times);

const histogram = hdr.build({
  lowestDiscernibleValue: 1,
  highestTrackableValue: 60_000_000,
  numberOfSignificantValueDigits: 3,
});
const operator = new WindowOperator(config);
const emit = new CountingEmitter();
const batches: Array<[SluiceEvent[], Float64Array]> = [];
for (let i = 0; i < EVENTS; i += BATCH) {
  batches.push([events.slice(i, i + BATCH), times.subarray(i, i + BATCH)]);
}
const cpuBefore = process.cpuUsage();
const started = process.hrtime.bigint();
for (const [batchEvents, batchTimes] of batches) {
  const before = process.hrtime.bigint();
  operator.processBatch(batchEvents, batchTimes, emit);
  histogram.recordValue(Number(process.hrtime.bigint() - before) / 1000);
}
operator.advanceWatermark(Number.POSITIVE_INFINITY, emit);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const cpu = process.cpuUsage(cpuBefore);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;

const floor = baseline(events, times);
if (floor.totals !== emit.describe())
  throw new Error('the operator and the bare baseline disagree on window totals');

const perSecond = Math.round(EVENTS / seconds);
console.log(
  `window operator, tumbling 1m, count+sum, ${KEYS.toLocaleString('en')} keys, batches of ${BATCH}`,
);
console.log(`events      ${EVENTS.toLocaleString('en')} in ${seconds.toFixed(2)} s`);
console.log(`throughput  ${perSecond.toLocaleString('en')} events/s (wall clock)`);
console.log(
  `cpu         ${cpuSeconds.toFixed(2)} s: ${Math.round(EVENTS / cpuSeconds).toLocaleString('en')} events per CPU second` +
    ' (GC threads included; the figure to compare on a busy machine)',
);
console.log(
  `baseline    bare two-level Map loop (no watermark, firing or rows): ` +
    `${Math.round(EVENTS / floor.seconds).toLocaleString('en')} events/s; totals agree`,
);
console.log(`rows        ${emit.rowCount.toLocaleString('en')}, late records ${emit.lateCount}`);
console.log(
  `batch µs    p50 ${histogram.getValueAtPercentile(50)}  p99 ${histogram.getValueAtPercentile(99)}  ` +
    `p99.9 ${histogram.getValueAtPercentile(99.9)}  max ${histogram.maxValue}`,
);
