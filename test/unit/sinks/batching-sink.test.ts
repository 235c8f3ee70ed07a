import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SinkWrite } from '../../../actors/partition/partition-plan.ts';
import { sinkError } from '../../../actors/sinks/batching-errors.ts';
import {
  BatchingSink,
  type BatchingSinkConfig,
  type BatchTarget,
  batchingSinkFactory,
  type RejectedRow,
} from '../../../actors/sinks/batching-sink.ts';
import { Metrics } from '../../../runtime/metrics.ts';
import { recordingContext } from './fake-sink-context.ts';

function write(rows: number[], output = 'per_user'): SinkWrite {
  return {
    sink: 'analytics',
    file: null,
    data: rows.map((row) => `{"n":${row}}\n`).join(''),
    rows: rows.length,
    outputs: { [output]: rows.length },
  };
}

function config(overrides: Partial<BatchingSinkConfig> = {}): BatchingSinkConfig {
  return {
    name: 'analytics',
    deadLetter: 'dlq',
    batch: { rows: 3, bytes: 1 << 20, intervalMs: 250 },
    retry: { initialDelayMs: 1, maxDelayMs: 2, multiplier: 2, maxAttempts: Number.POSITIVE_INFINITY },
    ...overrides,
  };
}

class RecordingTarget implements BatchTarget {
  batches: string[][] = [];
  failures = 0;
  reject: (line: string) => RejectedRow | null = () => null;
  gate: Promise<void> | null = null;
  closed = false;

  async write(lines: readonly string[]): Promise<RejectedRow[]> {
    if (this.gate) await this.gate;
    if (this.failures > 0) {
      this.failures--;
      throw sinkError('SLUICE_ERR_SINK_UNAVAILABLE', ['analytics', 'connection refused']);
    }
    this.batches.push([...lines]);
    return lines.map((line) => this.reject(line)).filter((row): row is RejectedRow => row !== null);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

describe('batching sink', () => {
  it('holds rows below the limits and writes them when the flush timer fires', async () => {
    const target = new RecordingTarget();
    const sink = new BatchingSink(config(), target);
    const { ctx, timers, counters } = recordingContext();
    await sink.receive(write([1, 2]), ctx);
    assert.deepEqual(target.batches, []);
    assert.equal(timers.get('flush'), 250);
    await sink.timer('flush', ctx);
    assert.deepEqual(target.batches, [['{"n":1}', '{"n":2}']]);
    assert.deepEqual(
      counters.filter((counter) => counter.name === 'sluice_events_out_total'),
      [{ name: 'sluice_events_out_total', labels: { output: 'per_user', sink: 'analytics' }, value: 2 }],
    );
  });

  it('writes a full batch before receive returns, so a slow target holds the mailbox back', async () => {
    const target = new RecordingTarget();
    let open = () => {};
    target.gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const sink = new BatchingSink(config(), target);
    const { ctx, timers } = recordingContext();
    let returned = false;
    const receiving = Promise.resolve(sink.receive(write([1, 2, 3]), ctx)).then(() => {
      returned = true;
    });
    await sleep(20);
    assert.equal(returned, false, 'receive waits for the write');
    open();
    await receiving;
    assert.deepEqual(target.batches, [['{"n":1}', '{"n":2}', '{"n":3}']]);
    assert.equal(timers.has('flush'), false);
  });

  it('retries a target that is down until it accepts the batch, losing nothing', async () => {
    const target = new RecordingTarget();
    target.failures = 5;
    const sink = new BatchingSink(config(), target);
    const { ctx, logs } = recordingContext();
    await sink.receive(write([1, 2, 3]), ctx);
    assert.deepEqual(target.batches, [['{"n":1}', '{"n":2}', '{"n":3}']]);
    assert.equal(logs.filter((line) => line.includes('sink retrying')).length, 5);
  });

  it('answers sync only after everything handed over is written', async () => {
    const target = new RecordingTarget();
    const sink = new BatchingSink(config(), target);
    const { ctx } = recordingContext();
    await sink.receive(write([1]), ctx);
    await sink.receive(write([2]), ctx);
    await sink.request('sync', [], ctx);
    assert.deepEqual(target.batches, [['{"n":1}', '{"n":2}']]);
  });

  it('sends rejected rows to the dead-letter sink with reason, code and the row, and counts them', async () => {
    const target = new RecordingTarget();
    target.reject = (line) =>
      line.includes('2') ? { line, code: 'CLICKHOUSE_27', reason: 'cannot parse' } : null;
    const sink = new BatchingSink(config(), target);
    const { ctx, emits, counters } = recordingContext();
    await sink.receive(write([1, 2, 3]), ctx);
    assert.deepEqual(emits, [
      {
        channel: 'sink',
        payload: {
          sink: 'dlq',
          file: null,
          data: '{"reason":"cannot parse","code":"CLICKHOUSE_27","sink":"analytics","row":{"n":2}}\n',
          rows: 1,
          outputs: { analytics: 1 },
        },
      },
    ]);
    assert.ok(
      counters.some(
        (counter) =>
          counter.name === 'sluice_dead_letters_total' &&
          counter.labels.source === 'analytics' &&
          counter.labels.reason === 'CLICKHOUSE_27' &&
          counter.value === 1,
      ),
    );
  });

  it('counts and logs rejected rows when the topology has no dead-letter sink', async () => {
    const target = new RecordingTarget();
    target.reject = (line) => ({ line, code: 'X', reason: 'no' });
    const sink = new BatchingSink(config({ deadLetter: null }), target);
    const { ctx, emits, counters, logs } = recordingContext();
    await sink.receive(write([1, 2, 3]), ctx);
    assert.deepEqual(emits, []);
    assert.equal(counters.find((counter) => counter.name === 'sluice_dead_letters_total')?.value, 3);
    assert.ok(logs.some((line) => line.includes('no deadLetter sink')));
  });

  it('refuses sync in a restarted incarnation, which may have lost rows of the failed one', async () => {
    const factory = batchingSinkFactory(() => new RecordingTarget());
    const restarted = (await factory(config(), { name: 'sink:analytics', restarts: 1 })) as BatchingSink;
    const { ctx } = recordingContext();
    await assert.rejects(
      Promise.resolve(restarted.request('sync', [], ctx)),
      /SINK|restart from the last checkpoint/,
    );
  });

  it('flushes and closes the target on stop', async () => {
    const target = new RecordingTarget();
    const sink = new BatchingSink(config(), target);
    const { ctx } = recordingContext();
    await sink.receive(write([7]), ctx);
    await sink.stop(ctx);
    assert.deepEqual(target.batches, [['{"n":7}']]);
    assert.equal(target.closed, true);
  });

  it('records rows and batches written, retries, failed attempts, refused rows, what it holds and write time', async () => {
    const target = new RecordingTarget();
    target.failures = 2;
    target.reject = (line) =>
      line.includes('3') ? { line, code: 'CLICKHOUSE_27', reason: 'cannot parse' } : null;
    const sink = new BatchingSink(config(), target);
    const { ctx, counters, gauges, observations } = recordingContext();
    await sink.receive(write([1, 2]), ctx);
    assert.deepEqual(gauges.slice(-2), [
      { name: 'sluice_sink_buffered_rows', labels: { sink: 'analytics' }, value: 2 },
      { name: 'sluice_sink_buffered_bytes', labels: { sink: 'analytics' }, value: 16 },
    ]);
    await sink.receive(write([3]), ctx);
    const total = (name: string) =>
      counters.filter((counter) => counter.name === name).reduce((sum, counter) => sum + counter.value, 0);
    assert.equal(total('sluice_sink_rows_written_total'), 2);
    assert.equal(total('sluice_sink_batches_total'), 1);
    assert.equal(total('sluice_sink_retries_total'), 2);
    assert.deepEqual(counters.find((counter) => counter.name === 'sluice_sink_errors_total')?.labels, {
      sink: 'analytics',
      operation: 'write',
      code: 'SLUICE_ERR_SINK_UNAVAILABLE',
    });
    assert.equal(total('sluice_sink_errors_total'), 2);
    assert.equal(total('sluice_sink_rows_rejected_total'), 1);
    const held = gauges
      .filter((gauge) => gauge.name === 'sluice_sink_buffered_rows')
      .map((gauge) => gauge.value);
    assert.deepEqual(held, [2, 3, 3, 0], 'rows are held while the write is retried, released once durable');
    assert.equal(observations.length, 1);
    assert.equal(observations[0]?.name, 'sluice_sink_write_seconds');
    assert.ok((observations[0]?.value ?? -1) >= 0);
  });

  it('records only families of the metric catalogue, so /metrics shows every one of them', async () => {
    const metrics = new Metrics();
    const target = new RecordingTarget();
    target.failures = 1;
    target.reject = (line) =>
      line.includes('2') ? { line, code: 'CLICKHOUSE_27', reason: 'cannot parse' } : null;
    const sink = new BatchingSink(config(), target);
    const { ctx } = recordingContext();
    await sink.receive(write([1, 2, 3]), { ...ctx, metrics });
    const text = await metrics.text();
    for (const line of [
      'sluice_sink_rows_written_total{sink="analytics"} 2',
      'sluice_sink_batches_total{sink="analytics"} 1',
      'sluice_sink_retries_total{sink="analytics",operation="write"} 1',
      'sluice_sink_errors_total{sink="analytics",operation="write",code="SLUICE_ERR_SINK_UNAVAILABLE"} 1',
      'sluice_sink_rows_rejected_total{sink="analytics",code="CLICKHOUSE_27"} 1',
      'sluice_sink_buffered_rows{sink="analytics"} 0',
      'sluice_sink_buffered_bytes{sink="analytics"} 0',
      'sluice_sink_write_seconds_count{sink="analytics"} 1',
    ]) {
      assert.ok(text.split('\n').includes(line), `missing: ${line}`);
    }
  });
});
