export type MetricLabels = Readonly<Record<string, string | number>>;

/** The one way code records metrics, identical on the main thread and in workers. */
export interface MetricsRecorder {
  inc(name: string, labels: MetricLabels, value?: number): void;
  set(name: string, labels: MetricLabels, value: number): void;
  observe(name: string, labels: MetricLabels, value: number): void;
}

/** For actors run where nobody collects metrics (tests, tools). */
export const discardingRecorder: MetricsRecorder = {
  inc() {},
  set() {},
  observe() {},
};

/**
 * Updates a worker collected since its last flush: counter deltas, last gauge values and
 * raw histogram observations (raw, so the main registry's sums and buckets stay exact).
 */
export interface MetricsBatch {
  counters: Array<[name: string, labels: MetricLabels, delta: number]>;
  gauges: Array<[name: string, labels: MetricLabels, value: number]>;
  histograms: Array<[name: string, labels: MetricLabels, observations: number[]]>;
}

interface Series<V> {
  name: string;
  labels: MetricLabels;
  value: V;
}

/**
 * A recorder that accumulates updates and hands them over as one `MetricsBatch`.
 *
 * Threading model: used by the actors of one worker thread only; `flush` posts the batch
 * to the main thread, where `Metrics.apply` replays it.
 * Life cycle: the host calls `flush()` on an interval and on stop. A histogram series that
 * reaches `maxObservations` flushes at once, so memory stays bounded between flushes; so
 * does a histogram series' first observation ever, so the main thread learns when a
 * partition processed its first batch without waiting up to a flush interval (benchmarks
 * time throughput from it, and a new series shows on `/metrics` at once).
 */
export class BatchingRecorder implements MetricsRecorder {
  private counters = new Map<string, Series<number>>();
  private gauges = new Map<string, Series<number>>();
  private histograms = new Map<string, Series<number[]>>();
  /** Histogram series observed at least once: one entry per series, never per observation. */
  private readonly observedSeries = new Set<string>();
  private readonly send: (batch: MetricsBatch) => void;
  private readonly maxObservations: number;

  constructor(send: (batch: MetricsBatch) => void, maxObservations = 4096) {
    this.send = send;
    this.maxObservations = maxObservations;
  }

  inc(name: string, labels: MetricLabels, value = 1): void {
    const series = seriesFor(this.counters, name, labels, 0);
    series.value += value;
  }

  set(name: string, labels: MetricLabels, value: number): void {
    seriesFor(this.gauges, name, labels, 0).value = value;
  }

  observe(name: string, labels: MetricLabels, value: number): void {
    const key = seriesKey(name, labels);
    let series = this.histograms.get(key);
    if (!series) {
      series = { name, labels, value: [] };
      this.histograms.set(key, series);
    }
    series.value.push(value);
    if (series.value.length >= this.maxObservations) this.flush();
    else if (!this.observedSeries.has(key)) {
      this.observedSeries.add(key);
      this.flush();
    }
  }

  /** Takes everything recorded so far, or `undefined` when nothing was. */
  drain(): MetricsBatch | undefined {
    if (this.counters.size === 0 && this.gauges.size === 0 && this.histograms.size === 0) return undefined;
    const batch: MetricsBatch = {
      counters: [...this.counters.values()].map((s) => [s.name, s.labels, s.value]),
      gauges: [...this.gauges.values()].map((s) => [s.name, s.labels, s.value]),
      histograms: [...this.histograms.values()].map((s) => [s.name, s.labels, s.value]),
    };
    this.counters = new Map();
    this.gauges = new Map();
    this.histograms = new Map();
    return batch;
  }

  flush(): void {
    const batch = this.drain();
    if (batch) this.send(batch);
  }
}

function seriesFor(
  map: Map<string, Series<number>>,
  name: string,
  labels: MetricLabels,
  initial: number,
): Series<number> {
  const key = seriesKey(name, labels);
  let series = map.get(key);
  if (!series) {
    series = { name, labels, value: initial };
    map.set(key, series);
  }
  return series;
}

export function seriesKey(name: string, labels: MetricLabels): string {
  const keys = Object.keys(labels).sort();
  let key = name;
  for (const label of keys) key += `\u0000${label}=${labels[label]}`;
  return key;
}
