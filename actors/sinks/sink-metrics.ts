/**
 * What the sinks record, in one place: rows out per producing output for every sink, and
 * for the batching sinks (ClickHouse, BigQuery, Kafka) rows and batches written, retries,
 * failed attempts, refused rows, what is held back, and write latency. The families are
 * declared in `runtime/metric-catalogue.ts`.
 */
import type { MetricsRecorder } from '../../runtime/metrics-recorder.ts';
import type { SinkWrite } from '../partition/partition-plan.ts';

/** Counts the rows of one write into `sluice_events_out_total`, per producing output. */
export function countRows(metrics: MetricsRecorder, sink: string, write: SinkWrite): void {
  countOutputs(metrics, sink, write.outputs);
}

export function countOutputs(
  metrics: MetricsRecorder,
  sink: string,
  outputs: Readonly<Record<string, number>>,
): void {
  for (const [output, rows] of Object.entries(outputs)) {
    metrics.inc('sluice_events_out_total', { output, sink }, rows);
  }
}

/** The metrics of one batching sink, labelled with its name. */
export class BatchingSinkMetrics {
  readonly #sink: string;

  constructor(sink: string) {
    this.#sink = sink;
  }

  /** One batch is durable: its rows, per output, and how long writing it took. */
  written(
    metrics: MetricsRecorder,
    rows: number,
    outputs: Readonly<Record<string, number>>,
    seconds: number,
  ): void {
    const labels = { sink: this.#sink };
    metrics.inc('sluice_sink_rows_written_total', labels, rows);
    metrics.inc('sluice_sink_batches_total', labels);
    metrics.observe('sluice_sink_write_seconds', labels, seconds);
    countOutputs(metrics, this.#sink, outputs);
  }

  /** An attempt of `operation` failed with `code`. */
  failed(metrics: MetricsRecorder, operation: string, code: string): void {
    metrics.inc('sluice_sink_errors_total', { sink: this.#sink, operation, code });
  }

  /** Another attempt of `operation` follows a failed one. */
  retrying(metrics: MetricsRecorder, operation: string): void {
    metrics.inc('sluice_sink_retries_total', { sink: this.#sink, operation });
  }

  /** Rows the target refused, by code (they go to the dead-letter output). */
  rejected(metrics: MetricsRecorder, code: string, rows: number): void {
    metrics.inc('sluice_sink_rows_rejected_total', { sink: this.#sink, code }, rows);
    metrics.inc('sluice_dead_letters_total', { source: this.#sink, reason: code }, rows);
  }

  /** Records a transactional sink has sent into transactions that have not committed. */
  uncommitted(metrics: MetricsRecorder, records: number): void {
    metrics.set('sluice_sink_uncommitted_records', { sink: this.#sink }, records);
  }

  /** What the sink holds that is not durable yet. */
  holding(metrics: MetricsRecorder, rows: number, bytes: number): void {
    metrics.set('sluice_sink_buffered_rows', { sink: this.#sink }, rows);
    metrics.set('sluice_sink_buffered_bytes', { sink: this.#sink }, bytes);
  }
}

/** The stable code of a failure, for labels: a SluiceError's `code`, else the error's name. */
export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.length > 0) return code;
  return (error as { name?: unknown } | null)?.name === undefined ? 'unknown' : String((error as Error).name);
}
