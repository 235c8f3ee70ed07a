import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MetricError } from '../../../runtime/actor-errors.ts';
import { Metrics } from '../../../runtime/metrics.ts';
import { BatchingRecorder, type MetricsBatch } from '../../../runtime/metrics-recorder.ts';

describe('Metrics', () => {
  it('exposes every catalogue family in the registry', async () => {
    const text = await new Metrics().text();
    for (const name of [
      'sluice_events_in_total',
      'sluice_events_out_total',
      'sluice_processing_latency_seconds',
      'sluice_watermark_ms',
      'sluice_watermark_lag_ms',
      'sluice_windows_open',
      'sluice_windows_emitted_total',
      'sluice_late_events_total',
      'sluice_dead_letters_total',
      'sluice_mailbox_depth',
      'sluice_actor_restarts_total',
    ]) {
      assert.match(text, new RegExp(`# TYPE ${name} `), name);
    }
  });

  it('buckets processing latency from 50 µs to 10 s', async () => {
    const metrics = new Metrics();
    metrics.observe('sluice_processing_latency_seconds', { source: 's' }, 0.00004);
    const text = await metrics.text();
    assert.match(text, /le="0.00005",source="s"\} 1/);
    assert.match(text, /le="10",source="s"\} 1/);
  });

  it('derives watermark lag from the watermark at scrape time', async () => {
    let now = 10_000;
    const metrics = new Metrics({ now: () => now });
    metrics.set('sluice_watermark_ms', { source: 's', partition: 0 }, 7_000);
    metrics.set('sluice_watermark_ms', { source: 's', partition: 1 }, 9_000);
    now = 12_000;
    const text = await metrics.text();
    assert.match(text, /sluice_watermark_lag_ms\{source="s",partition="0"\} 5000/);
    assert.match(text, /sluice_watermark_lag_ms\{source="s",partition="1"\} 3000/);
    const snapshot = metrics.snapshot();
    assert.equal(snapshot.minWatermarkLagMs, 3000);
    assert.equal(snapshot.maxWatermarkLagMs, 5000);
  });

  it('keeps the totals the status line reads', () => {
    const metrics = new Metrics();
    metrics.inc('sluice_events_in_total', { source: 's', partition: 0 }, 10);
    metrics.inc('sluice_events_in_total', { source: 's', partition: 1 }, 5);
    metrics.inc('sluice_windows_emitted_total', { window: 'w', partition: 0 }, 2);
    metrics.inc('sluice_late_events_total', { window: 'w', partition: 0 });
    metrics.inc('sluice_dead_letters_total', { source: 's', reason: 'not-json' }, 3);
    assert.deepEqual(metrics.snapshot(), {
      eventsIn: 15,
      windowsEmitted: 2,
      lateEvents: 1,
      deadLetters: 3,
      minWatermarkLagMs: undefined,
      maxWatermarkLagMs: undefined,
    });
  });

  it('registers extra counters and gauges for later layers and refuses unknown names', async () => {
    const metrics = new Metrics();
    metrics.registerCounter('sluice_example_retries_total', 'Sink write retries.', ['sink']);
    let collected = 0;
    metrics.registerGauge('sluice_checkpoint_age_seconds', 'Age of the last checkpoint.', [], () => {
      collected++;
    });
    metrics.inc('sluice_example_retries_total', { sink: 'ch' }, 2);
    const text = await metrics.text();
    assert.match(text, /sluice_example_retries_total\{sink="ch"\} 2/);
    assert.equal(collected, 1);
    assert.throws(() => metrics.inc('sluice_no_such_metric', {}), MetricError);
    assert.throws(() => metrics.registerCounter('sluice_example_retries_total', 'again', []), MetricError);
    assert.throws(() => metrics.set('sluice_events_in_total', { source: 's', partition: 0 }, 1), MetricError);
  });

  it('replays a worker batch exactly: counter deltas, last gauges, every observation', async () => {
    const batches: MetricsBatch[] = [];
    const recorder = new BatchingRecorder((batch) => batches.push(batch));
    recorder.inc('sluice_events_in_total', { source: 's', partition: 0 }, 3);
    recorder.inc('sluice_events_in_total', { partition: 0, source: 's' }, 4);
    recorder.set('sluice_mailbox_depth', { actor: 'a' }, 9);
    recorder.set('sluice_mailbox_depth', { actor: 'a' }, 2);
    recorder.observe('sluice_processing_latency_seconds', { source: 's' }, 0.001);
    assert.equal(batches.length, 1, "a histogram series' first observation flushes at once");
    recorder.observe('sluice_processing_latency_seconds', { source: 's' }, 0.003);
    recorder.flush();
    recorder.flush();
    assert.equal(batches.length, 2, 'an empty flush sends nothing');
    const metrics = new Metrics();
    for (const batch of batches) metrics.apply(batch);
    metrics.apply({
      counters: [['sluice_events_in_total', { source: 's', partition: 0 }, 1]],
      gauges: [],
      histograms: [],
    });
    const text = await metrics.text();
    assert.match(text, /sluice_events_in_total\{source="s",partition="0"\} 8/);
    assert.match(text, /sluice_mailbox_depth\{actor="a"\} 2/);
    assert.match(text, /sluice_processing_latency_seconds_sum\{source="s"\} 0.004/);
    assert.match(text, /sluice_processing_latency_seconds_count\{source="s"\} 2/);
  });

  it('flushes a worker recorder early when a histogram series fills up', () => {
    const batches: MetricsBatch[] = [];
    const recorder = new BatchingRecorder((batch) => batches.push(batch), 3);
    for (let i = 0; i < 7; i++) recorder.observe('h', {}, i);
    // The first observation flushes alone; then every third one fills the series.
    assert.equal(batches.length, 3);
    assert.deepEqual(batches[0]!.histograms[0]![2], [0]);
    assert.deepEqual(batches[2]!.histograms[0]![2], [4, 5, 6]);
  });
});
