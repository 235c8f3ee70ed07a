/**
 * The metrics registry a benchmark hands to an in-process job: it keeps every per-batch
 * processing latency in an HdrHistogram and notes when the first batch was processed,
 * so throughput can count from the first processed record and leave start-up (worker
 * threads compiling their modules, LevelDB opening, a consumer group joining) apart.
 *
 * Worker threads flush a histogram series' first observation at once (BatchingRecorder),
 * so `firstBatchAt` is late by one message hop, not by a flush interval.
 */
import { type MetricLabels, Metrics } from '../../runtime/metrics.ts';
import { LatencyRecorder } from './figures.ts';

export class RecordingMetrics extends Metrics {
  readonly latency = new LatencyRecorder();
  /** performance.now() when the first batch began processing (its arrival minus its latency). */
  firstBatchAt: number | null = null;

  override observe(name: string, labels: MetricLabels, value: number): void {
    super.observe(name, labels, value);
    if (name !== 'sluice_processing_latency_seconds') return;
    this.latency.record(value * 1e6);
    this.firstBatchAt ??= performance.now() - value * 1000;
  }

  /** Start-up and processing time of a run that began at `began` and took `wallMs`. */
  phases(began: number, wallMs: number): { startupMs: number; processingMs: number } {
    const firstBatchAt = Math.min(this.firstBatchAt ?? began, began + wallMs);
    return {
      startupMs: Math.max(0, firstBatchAt - began),
      processingMs: Math.max(1, began + wallMs - firstBatchAt),
    };
  }
}
