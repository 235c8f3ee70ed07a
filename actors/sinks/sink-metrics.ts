import type { MetricsRecorder } from '../../runtime/metrics-recorder.ts';
import type { SinkWrite } from '../partition/partition-plan.ts';

/** Counts the rows of one write into `sluice_events_out_total`, per producing output. */
export function countRows(metrics: MetricsRecorder, sink: string, write: SinkWrite): void {
  for (const [output, rows] of Object.entries(write.outputs)) {
    metrics.inc('sluice_events_out_total', { output, sink }, rows);
  }
}
