import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { MetricError } from './actor-errors.ts';
import { type MetricSpec, metricCatalogue } from './metric-catalogue.ts';
import { type MetricLabels, type MetricsBatch, type MetricsRecorder, seriesKey } from './metrics-recorder.ts';

export type { MetricLabels, MetricsBatch, MetricsRecorder } from './metrics-recorder.ts';

/** Totals the status line shows; lags are `undefined` before any watermark is known. */
export interface MetricsSnapshot {
  eventsIn: number;
  windowsEmitted: number;
  lateEvents: number;
  deadLetters: number;
  minWatermarkLagMs: number | undefined;
  maxWatermarkLagMs: number | undefined;
}

type AnyMetric = Counter<string> | Gauge<string> | Histogram<string>;

const totalled: Record<string, keyof Omit<MetricsSnapshot, 'minWatermarkLagMs' | 'maxWatermarkLagMs'>> = {
  sluice_events_in_total: 'eventsIn',
  sluice_windows_emitted_total: 'windowsEmitted',
  sluice_late_events_total: 'lateEvents',
  sluice_dead_letters_total: 'deadLetters',
};

/**
 * The process's metrics: a prom-client `Registry` holding the catalogue, plus the escape
 * hatch `registerCounter/registerGauge/registerHistogram` for later layers.
 *
 * Threading model: main thread only. Workers record into a `BatchingRecorder` whose
 * batches arrive here through `apply`.
 * `sluice_watermark_lag_ms` is derived at scrape time from `sluice_watermark_ms` (now −
 * watermark), so it never goes stale while a partition is idle.
 */
export class Metrics implements MetricsRecorder {
  readonly registry = new Registry();
  private readonly metrics = new Map<string, { type: MetricSpec['type']; metric: AnyMetric }>();
  private readonly totals = { eventsIn: 0, windowsEmitted: 0, lateEvents: 0, deadLetters: 0 };
  private readonly watermarks = new Map<string, { labels: MetricLabels; value: number }>();
  private readonly now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.now = options.now ?? Date.now;
    for (const spec of metricCatalogue) {
      if (spec.name === 'sluice_watermark_lag_ms') this.register(spec, () => this.refreshLag());
      else this.register(spec);
    }
  }

  registerCounter(name: string, help: string, labelNames: readonly string[]): void {
    this.register({ name, help, type: 'counter', labelNames });
  }

  /** `collect` runs before each scrape, for gauges read from somewhere else. */
  registerGauge(name: string, help: string, labelNames: readonly string[], collect?: () => void): void {
    this.register({ name, help, type: 'gauge', labelNames }, collect);
  }

  registerHistogram(
    name: string,
    help: string,
    labelNames: readonly string[],
    buckets: readonly number[],
  ): void {
    this.register({ name, help, type: 'histogram', labelNames, buckets });
  }

  inc(name: string, labels: MetricLabels, value = 1): void {
    const entry = this.lookup(name);
    if (entry.type === 'histogram') throw new MetricError(`metric ${name} is a histogram; use observe`);
    (entry.metric as Counter<string>).inc(labels, value);
    const total = totalled[name];
    if (total) this.totals[total] += value;
  }

  set(name: string, labels: MetricLabels, value: number): void {
    const entry = this.lookup(name);
    if (entry.type !== 'gauge')
      throw new MetricError(`metric ${name} is a ${entry.type}; only gauges can be set`);
    (entry.metric as Gauge<string>).set(labels, value);
    if (name === 'sluice_watermark_ms') this.watermarks.set(seriesKey(name, labels), { labels, value });
  }

  observe(name: string, labels: MetricLabels, value: number): void {
    const entry = this.lookup(name);
    if (entry.type !== 'histogram')
      throw new MetricError(`metric ${name} is a ${entry.type}; not a histogram`);
    (entry.metric as Histogram<string>).observe(labels, value);
  }

  /** Replays a worker's batch: deltas added, gauges set, observations observed. */
  apply(batch: MetricsBatch): void {
    for (const [name, labels, delta] of batch.counters) this.inc(name, labels, delta);
    for (const [name, labels, value] of batch.gauges) this.set(name, labels, value);
    for (const [name, labels, observations] of batch.histograms) {
      for (const value of observations) this.observe(name, labels, value);
    }
  }

  /** Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  snapshot(): MetricsSnapshot {
    let min: number | undefined;
    let max: number | undefined;
    const now = this.now();
    for (const { value } of this.watermarks.values()) {
      const lag = now - value;
      if (min === undefined || lag < min) min = lag;
      if (max === undefined || lag > max) max = lag;
    }
    return { ...this.totals, minWatermarkLagMs: min, maxWatermarkLagMs: max };
  }

  private refreshLag(): void {
    const lag = this.metrics.get('sluice_watermark_lag_ms')!.metric as Gauge<string>;
    const now = this.now();
    for (const { labels, value } of this.watermarks.values()) lag.set(labels, now - value);
  }

  private lookup(name: string) {
    const entry = this.metrics.get(name);
    if (!entry) throw new MetricError(`unknown metric ${name}; register it first`);
    return entry;
  }

  private register(spec: MetricSpec, collect?: () => void): void {
    if (this.metrics.has(spec.name)) throw new MetricError(`metric ${spec.name} is already registered`);
    const common = {
      name: spec.name,
      help: spec.help,
      labelNames: [...spec.labelNames],
      registers: [this.registry],
    };
    let metric: AnyMetric;
    if (spec.type === 'counter') metric = new Counter(common);
    else if (spec.type === 'gauge') metric = new Gauge(collect ? { ...common, collect } : common);
    else metric = new Histogram({ ...common, buckets: [...(spec.buckets ?? latencyFallback)] });
    this.metrics.set(spec.name, { type: spec.type, metric });
  }
}

const latencyFallback = [0.001, 0.01, 0.1, 1, 10];
