/**
 * What every benchmark reports: events/s, latency percentiles from HdrHistogram, CPU time
 * and peak RSS — never averages alone.
 */
import * as hdr from 'hdr-histogram-js';

export interface LatencyPercentiles {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  count: number;
}

export interface ProcessUsage {
  wallMs: number;
  cpuMs: number;
  peakRssMiB: number;
}

export interface BenchFigures extends ProcessUsage {
  scenario: string;
  events: number;
  eventsPerSecond: number;
  /** Microseconds. */
  latencyUs: LatencyPercentiles | null;
  latencyOf: string;
  /** Extra figures worth keeping (startup time, micro-batch durations…). */
  extra?: Record<string, number | string>;
}

/** Records latencies in microseconds, 1 µs to 1 hour, 3 significant digits. */
export class LatencyRecorder {
  readonly #histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });

  record(microseconds: number): void {
    this.#histogram.recordValue(Math.max(1, Math.round(microseconds)));
  }

  percentiles(): LatencyPercentiles | null {
    const histogram = this.#histogram;
    if (histogram.totalCount === 0) return null;
    return {
      p50: histogram.getValueAtPercentile(50),
      p90: histogram.getValueAtPercentile(90),
      p99: histogram.getValueAtPercentile(99),
      p999: histogram.getValueAtPercentile(99.9),
      max: histogram.maxValue,
      count: histogram.totalCount,
    };
  }
}

/** Wall time, CPU time (this process, all threads) and peak RSS from now until `stop()`. */
export function measureProcess(): { stop(): ProcessUsage } {
  const began = performance.now();
  const cpu = process.cpuUsage();
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 50);
  return {
    stop() {
      clearInterval(sampler);
      const used = process.cpuUsage(cpu);
      peak = Math.max(peak, process.memoryUsage.rss());
      return {
        wallMs: performance.now() - began,
        cpuMs: (used.user + used.system) / 1000,
        peakRssMiB: peak / 1048576,
      };
    },
  };
}

function microseconds(value: number): string {
  return value >= 1000 ? `${(value / 1000).toFixed(value >= 100_000 ? 0 : 1)} ms` : `${value} µs`;
}

export function formatFigures(figures: BenchFigures): string {
  const latency = figures.latencyUs;
  const percentiles = latency
    ? `p50 ${microseconds(latency.p50)} · p90 ${microseconds(latency.p90)} · p99 ${microseconds(latency.p99)} · p99.9 ${microseconds(latency.p999)} · max ${microseconds(latency.max)} (${latency.count} samples, ${figures.latencyOf})`
    : 'no latency samples';
  return [
    `${figures.scenario}: ${Math.round(figures.eventsPerSecond).toLocaleString('en-US')} events/s (${figures.events.toLocaleString('en-US')} events in ${(figures.wallMs / 1000).toFixed(2)} s)`,
    `  latency ${percentiles}`,
    `  cpu ${(figures.cpuMs / 1000).toFixed(2)} s · peak rss ${Math.round(figures.peakRssMiB)} MiB`,
    ...(figures.extra
      ? [
          `  ${Object.entries(figures.extra)
            .map(
              ([name, value]) =>
                `${name} ${typeof value === 'number' ? value.toLocaleString('en-US') : value}`,
            )
            .join(' · ')}`,
        ]
      : []),
  ].join('\n');
}
