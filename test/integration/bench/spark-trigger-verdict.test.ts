import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type LiveProgress, sustains } from '../../../bench/baselines/spark/spark-live.ts';

// The live trigger search's verdict on one Spark run, from its progress reports alone:
// no Spark needed. Batches 0 and 1 are warm-up and never count.

const START = Date.UTC(2026, 10, 26, 12);

/** Progress for batches 0..n-1 triggered `everyMs` apart, each taking `durationMs(id)`. */
function batches(
  count: number,
  everyMs: number,
  durationMs: (id: number) => number,
  lagMs: (id: number) => number = () => 100,
): LiveProgress[] {
  return Array.from({ length: count }, (_unused, batchId) => {
    const triggered = START + batchId * everyMs;
    const duration = durationMs(batchId);
    return {
      batchId,
      timestamp: new Date(triggered).toISOString(),
      numInputRows: 1000,
      durationMs: { triggerExecution: duration },
      observedMetrics: {
        batch: { oldest: triggered - everyMs, newest: triggered + duration - lagMs(batchId) },
      },
    };
  });
}

test('a trigger whose batches finish within the interval with a small lag is sustained', () => {
  const verdict = sustains(
    500,
    21,
    batches(22, 500, (id) => (id < 2 ? 8000 : 300)),
  );
  assert.equal(verdict.sustained, true);
  assert.equal(verdict.batches, 20);
  assert.equal(verdict.p90BatchMs, 300);
  assert.equal(verdict.lastLagMs, 100);
});

test('slow warm-up batches do not count against a trigger', () => {
  assert.equal(
    sustains(
      1000,
      11,
      batches(12, 1000, (id) => (id < 2 ? 20_000 : 600)),
    ).sustained,
    true,
  );
});

test('batches longer than the interval fail the trigger', () => {
  const verdict = sustains(
    250,
    41,
    batches(42, 400, () => 400),
  );
  assert.equal(verdict.sustained, false);
  assert.equal(verdict.p90BatchMs, 400);
});

test('a growing consumer lag fails the trigger even when batches look fast', () => {
  const verdict = sustains(
    1000,
    11,
    batches(
      12,
      1000,
      () => 500,
      (id) => 400 * id,
    ),
  );
  assert.equal(verdict.sustained, false);
  assert.equal(verdict.lastLagMs, 4400);
});

test('a run cut short by the time limit before its batches completed is not sustained', () => {
  const verdict = sustains(
    100,
    101,
    batches(30, 100, () => 80),
  );
  assert.equal(verdict.sustained, false);
  assert.equal(verdict.batches, 28);
});
