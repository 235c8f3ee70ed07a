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

/** One sink write spans milliseconds (a healthy server) to minutes (retried through an outage). */
export const sinkWriteBucketsSeconds: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
];

export const metricCatalogue: readonly MetricSpec[] = [
  {
    name: 'sluice_native_path',
    help: 'Which path decodes a source partition: 1 the native addon (messages read for the fields the windows use), 0 the TS path.',
    type: 'gauge',
    labelNames: ['source', 'partition'],
  },
  {
    name: 'sluice_native_events_total',
    help: 'Events the native path read (the rest of sluice_events_in_total took the TS path).',
    type: 'counter',
    labelNames: ['source'],
  },
  {
    name: 'sluice_native_preaggregated_batches_total',
    help: "Kafka batches of sluice frames pre-aggregated natively for the partition's one tumbling window and merged into it (the rest took the field reader or the TS path).",
    type: 'counter',
    labelNames: ['source'],
  },
  {
    name: 'sluice_native_fallback_batches_total',
    help: 'Batches the native path handed to the TS path (a message it does not read, or one that becomes a dead letter).',
    type: 'counter',
    labelNames: ['source'],
  },
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
    name: 'sluice_table_changes_total',
    help: 'CDC changes a lookup table received, by kind: upserts, deletes, repeated (already applied), unusable (no key).',
    type: 'counter',
    labelNames: ['table', 'kind'],
  },
  {
    name: 'sluice_enrich_missing_total',
    help: 'Events whose key found no row in a lookup table, by the output and its onMissing policy.',
    type: 'counter',
    labelNames: ['table', 'output', 'policy'],
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
  {
    name: 'sluice_sink_rows_written_total',
    help: 'Rows a batching sink (ClickHouse, BigQuery, Kafka) wrote durably to its target.',
    type: 'counter',
    labelNames: ['sink'],
  },
  {
    name: 'sluice_sink_batches_total',
    help: 'Batches a batching sink wrote durably to its target.',
    type: 'counter',
    labelNames: ['sink'],
  },
  {
    name: 'sluice_sink_retries_total',
    help: 'Retries of a sink operation (open, write) after a retriable failure.',
    type: 'counter',
    labelNames: ['sink', 'operation'],
  },
  {
    name: 'sluice_sink_errors_total',
    help: 'Failed attempts of a sink operation, by error code (retried ones included).',
    type: 'counter',
    labelNames: ['sink', 'operation', 'code'],
  },
  {
    name: 'sluice_sink_rows_rejected_total',
    help: 'Rows the target refused; they went to the dead-letter output.',
    type: 'counter',
    labelNames: ['sink', 'code'],
  },
  {
    name: 'sluice_sink_buffered_rows',
    help: 'Rows a batching sink holds that are not yet durable (buffered, or in a write being retried).',
    type: 'gauge',
    labelNames: ['sink'],
  },
  {
    name: 'sluice_sink_uncommitted_records',
    help: 'Records a transactional sink has sent into open transactions: invisible to read_committed consumers until the checkpoint commits them.',
    type: 'gauge',
    labelNames: ['sink'],
  },
  {
    name: 'sluice_sink_buffered_bytes',
    help: 'Bytes of JSON rows a batching sink holds that are not yet durable.',
    type: 'gauge',
    labelNames: ['sink'],
  },
  {
    name: 'sluice_sink_write_seconds',
    help: 'Time to write one batch durably, retries included.',
    type: 'histogram',
    labelNames: ['sink'],
    buckets: sinkWriteBucketsSeconds,
  },
  {
    name: 'sluice_cdc_retained_wal_bytes',
    help: "WAL a CDC source's replication slot keeps on the PostgreSQL server (current WAL position minus the slot's restart LSN), refreshed every heartbeat.",
    type: 'gauge',
    labelNames: ['source', 'slot'],
  },
  {
    name: 'sluice_state_rows_in_memory',
    help: 'Window rows (sessions, for session windows) a partition holds in memory; the rest of its state is evicted to its store under state.memory.',
    type: 'gauge',
    labelNames: ['window', 'partition'],
  },
  {
    name: 'sluice_state_evicted_groups_total',
    help: 'Key groups of window state dropped from memory after a checkpoint (per window and key group for tumbling/hopping windows), under state.memory.',
    type: 'counter',
    labelNames: ['window', 'partition'],
  },
  {
    name: 'sluice_state_readback_groups_total',
    help: 'Evicted key groups of window state read back from the store before a batch or watermark move needed them.',
    type: 'counter',
    labelNames: ['window', 'partition'],
  },
  {
    name: 'sluice_state_readback_seconds',
    help: 'Time to read evicted window state back before one batch or watermark move (only when something was read).',
    type: 'histogram',
    labelNames: [],
    buckets: latencyBucketsSeconds,
  },
  {
    name: 'sluice_checkpoint_bytes_written_total',
    help: 'Bytes of keys and values a partition wrote in its checkpoint commits.',
    type: 'counter',
    labelNames: ['source', 'partition'],
  },
  {
    name: 'sluice_checkpoint_duration_seconds',
    help: 'Time of one partition checkpoint commit: capturing what changed, the atomic write and its snapshot file when one is due.',
    type: 'histogram',
    labelNames: ['source'],
    buckets: latencyBucketsSeconds,
  },
];
