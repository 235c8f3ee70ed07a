/**
 * Times a per-batch operation for a fixed wall-clock duration and reports throughput and
 * per-batch latency percentiles (HdrHistogram, microseconds), as the codec benchmarks print them.
 */
import * as hdr from 'hdr-histogram-js';

export interface BatchTiming {
  name: string;
  eventsPerSecond: number;
  /** Events/s a median batch implies: robust to the machine being shared. */
  p50EventsPerSecond: number;
  batches: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
}

/** Runs `batch()` (which handles `eventsPerBatch` events) for `warmupMs`, then measures for `durationMs`. */
export function timeBatches(
  name: string,
  eventsPerBatch: number,
  batch: () => unknown,
  durationMs = 2000,
  warmupMs = 500,
): BatchTiming {
  const warmupEnd = performance.now() + warmupMs;
  while (performance.now() < warmupEnd) batch();
  const histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  let batches = 0;
  const started = performance.now();
  const end = started + durationMs;
  let now = started;
  while (now < end) {
    const before = now;
    batch();
    now = performance.now();
    histogram.recordValue(Math.max(1, Math.round((now - before) * 1000)));
    batches++;
  }
  const seconds = (now - started) / 1000;
  const timing: BatchTiming = {
    name,
    eventsPerSecond: (batches * eventsPerBatch) / seconds,
    p50EventsPerSecond: (eventsPerBatch * 1e6) / histogram.getValueAtPercentile(50),
    batches,
    p50Us: histogram.getValueAtPercentile(50),
    p99Us: histogram.getValueAtPercentile(99),
    p999Us: histogram.getValueAtPercentile(99.9),
  };
  histogram.destroy();
  return timing;
}

export function formatTiming(timing: BatchTiming, extra = ''): string {
  const rate = `${(timing.eventsPerSecond / 1e6).toFixed(2)}M events/s (p50 ${(timing.p50EventsPerSecond / 1e6).toFixed(1)}M)`;
  const latency = `batch p50 ${timing.p50Us}µs p99 ${timing.p99Us}µs p99.9 ${timing.p999Us}µs`;
  return `${timing.name.padEnd(34)} ${rate.padStart(30)}   ${latency}${extra ? `   ${extra}` : ''}`;
}
