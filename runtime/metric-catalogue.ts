/**
 * The metric families every sluice process exposes, in one place so the admin server,
 * the status line and the docs agree on names, label sets and meaning.
 */
export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricSpec {
  name: string;
  help: string;
  type: MetricType;
  labelNames: readonly string[];
  buckets?: readonly number[];
}

/** Per-batch processing latency spans tens of microseconds (native path) to seconds (stalls). */
export const latencyBucketsSeconds: readonly number[] = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export const metricCatalogue: readonly MetricSpec[] = [
  {
    name: 'sluice_events_in_total',
    help: 'Events read from a source partition.',
    type: 'counter',
    labelNames: ['source', 'partition'],
  },
  {
    name: 'sluice_events_out_total',
    help: 'Rows written to a sink, per output.',
    type: 'counter',
    labelNames: ['output', 'sink'],
  },
  {
    name: 'sluice_processing_latency_seconds',
    help: 'Time to process one batch, from dequeue to emitted results.',
    type: 'histogram',
    labelNames: ['source'],
    buckets: latencyBucketsSeconds,
  },
  {
    name: 'sluice_watermark_ms',
    help: 'Event-time watermark of a source partition, ms since the epoch.',
    type: 'gauge',
    labelNames: ['source', 'partition'],
  },
  {
    name: 'sluice_watermark_lag_ms',
    help: 'Wall-clock time minus the watermark, computed at scrape time.',
    type: 'gauge',
    labelNames: ['source', 'partition'],
  },
  {
    name: 'sluice_windows_open',
    help: 'Windows holding state and not yet fired for the last time.',
    type: 'gauge',
    labelNames: ['window', 'partition'],
  },
  {
    name: 'sluice_windows_emitted_total',
    help: 'Window results emitted (each firing, re-firings included).',
    type: 'counter',
    labelNames: ['window', 'partition'],
  },
  {
    name: 'sluice_late_events_total',
    help: 'Events that arrived after their window closed for good and went to the late output.',
    type: 'counter',
    labelNames: ['window', 'partition'],
  },
  {
    name: 'sluice_dead_letters_total',
    help: 'Records sent to the dead-letter output, by reason.',
    type: 'counter',
    labelNames: ['source', 'reason'],
  },
  {
    name: 'sluice_mailbox_depth',
    help: 'Messages accepted by an actor mailbox and not yet processed.',
    type: 'gauge',
    labelNames: ['actor'],
  },
  {
    name: 'sluice_actor_restarts_total',
    help: 'Supervised restarts of an actor after a failure.',
    type: 'counter',
    labelNames: ['actor'],
  },
];
