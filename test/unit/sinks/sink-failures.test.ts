import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SinkWrite } from '../../../actors/partition/partition-plan.ts';
import { convertLines, deadLetterRows, retryingSinkCall } from '../../../actors/sinks/sink-failures.ts';
import { BatchingSinkMetrics } from '../../../actors/sinks/sink-metrics.ts';
import { recordingContext } from './fake-sink-context.ts';

const fast = { initialDelayMs: 1, maxDelayMs: 2, multiplier: 2, maxAttempts: Number.POSITIVE_INFINITY };

/** An `append` of sink `analytics` through retryingSinkCall, recorded. */
function append<T>(operation: () => Promise<T>, retriable: (error: unknown) => boolean) {
  const recorded = recordingContext();
  const sink = { name: 'analytics', deadLetter: null, retry: fast };
  const result = retryingSinkCall(
    recorded.ctx,
    sink,
    new BatchingSinkMetrics('analytics'),
    'append',
    operation,
    retriable,
  );
  return { recorded, result };
}

describe('sink failures', () => {
  it('keeps the lines a conversion refuses, with the reason, and converts the rest', () => {
    const { converted, rejected } = convertLines(
      '{"n":1}\nnot json\n\n{"n":2}\n',
      'SINK_BAD_JSON',
      (line) => {
        return (JSON.parse(line) as { n: number }).n;
      },
    );
    assert.deepEqual(converted, [1, 2]);
    assert.equal(rejected.length, 1);
    assert.equal(rejected[0].line, 'not json');
    assert.equal(rejected[0].code, 'SINK_BAD_JSON');
    assert.match(rejected[0].reason, /JSON/);
  });

  it('sends refused rows to the dead-letter sink, the row as JSON when it parses, and counts them by code', async () => {
    const recorded = recordingContext();
    const sink = { name: 'analytics', deadLetter: 'dlq' };
    await deadLetterRows(recorded.ctx, sink, new BatchingSinkMetrics('analytics'), [
      { line: '{"n":1}', code: 'SINK_BAD_ROW', reason: 'no such column' },
      { line: 'torn', code: 'SINK_BAD_JSON', reason: 'not JSON' },
      { line: '{"n":3}', code: 'SINK_BAD_ROW', reason: 'no such column' },
    ]);
    assert.equal(recorded.emits.length, 1);
    const write = recorded.emits[0].payload as SinkWrite;
    assert.equal(recorded.emits[0].channel, 'sink');
    assert.equal(write.sink, 'dlq');
    assert.equal(write.rows, 3);
    assert.deepEqual(write.outputs, { analytics: 3 });
    assert.deepEqual(
      write.data
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
      [
        { reason: 'no such column', code: 'SINK_BAD_ROW', sink: 'analytics', row: { n: 1 } },
        { reason: 'not JSON', code: 'SINK_BAD_JSON', sink: 'analytics', row: 'torn' },
        { reason: 'no such column', code: 'SINK_BAD_ROW', sink: 'analytics', row: { n: 3 } },
      ],
    );
    const counted = (name: string, code: string) =>
      recorded.counters
        .filter((c) => c.name === name && (c.labels.code ?? c.labels.reason) === code)
        .reduce((sum, c) => sum + c.value, 0);
    assert.equal(counted('sluice_sink_rows_rejected_total', 'SINK_BAD_ROW'), 2);
    assert.equal(counted('sluice_sink_rows_rejected_total', 'SINK_BAD_JSON'), 1);
    assert.equal(counted('sluice_dead_letters_total', 'SINK_BAD_ROW'), 2);
    assert.equal(counted('sluice_dead_letters_total', 'SINK_BAD_JSON'), 1);
  });

  it('without a dead-letter sink, counts and logs refused rows and emits nothing', async () => {
    const recorded = recordingContext();
    await deadLetterRows(
      recorded.ctx,
      { name: 'analytics', deadLetter: null },
      new BatchingSinkMetrics('analytics'),
      [{ line: '{"n":1}', code: 'SINK_BAD_ROW', reason: 'no such column' }],
    );
    assert.equal(recorded.emits.length, 0);
    assert.ok(recorded.logs.some((line) => line.includes('no deadLetter sink configured')));
    assert.ok(recorded.counters.some((c) => c.name === 'sluice_sink_rows_rejected_total' && c.value === 1));
  });

  it('does nothing for no refused rows', async () => {
    const recorded = recordingContext();
    await deadLetterRows(
      recorded.ctx,
      { name: 'analytics', deadLetter: 'dlq' },
      new BatchingSinkMetrics('analytics'),
      [],
    );
    assert.equal(recorded.emits.length, 0);
    assert.equal(recorded.counters.length, 0);
  });

  it('retries what the classifier calls retriable, counting each failure and retry', async () => {
    let calls = 0;
    const { recorded, result } = append(
      async () => {
        calls++;
        if (calls < 3) throw Object.assign(new Error('connection reset'), { code: 14 });
        return 'done';
      },
      (error) => (error as { code?: unknown }).code === 14,
    );
    assert.equal(await result, 'done');
    assert.equal(calls, 3);
    const failures = recorded.counters.filter((c) => c.name === 'sluice_sink_errors_total');
    assert.equal(failures.length, 2);
    assert.deepEqual(failures[0].labels, {
      sink: 'analytics',
      operation: 'append',
      code: 'SLUICE_ERR_SINK_UNAVAILABLE',
    });
    assert.equal(recorded.counters.filter((c) => c.name === 'sluice_sink_retries_total').length, 2);
    assert.equal(recorded.logs.filter((line) => line.includes('sink retrying')).length, 2);
  });

  it('stops at once on what the classifier calls permanent, as a write failure keeping the cause', async () => {
    let calls = 0;
    const refused = new Error('permission denied');
    const { recorded, result } = append(
      async () => {
        calls++;
        throw refused;
      },
      () => false,
    );
    await assert.rejects(result, (error: Error & { code?: string; cause?: unknown }) => {
      assert.equal(error.code, 'SLUICE_ERR_SINK_WRITE_FAILED');
      assert.match(error.message, /analytics.*permission denied/);
      assert.equal(error.cause, refused);
      return true;
    });
    assert.equal(calls, 1);
    assert.equal(recorded.counters.filter((c) => c.name === 'sluice_sink_retries_total').length, 0);
  });
});
