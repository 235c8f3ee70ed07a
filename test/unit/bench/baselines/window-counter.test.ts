import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WindowCounter } from '../../../../bench/baselines/naive-node/window-counter.ts';

describe('naive-node window counter', () => {
  it('flushes a window once the largest event time passes its end plus the allowed disorder', () => {
    const counter = new WindowCounter(60_000, 2000);
    assert.deepEqual(counter.add('u1', 59_000), []);
    assert.deepEqual(counter.add('u1', 59_500), []);
    assert.deepEqual(counter.add('u2', 61_000), [], 'the watermark 59,000 has not reached the end 60,000');
    assert.deepEqual(counter.add('u2', 62_000), [{ windowStart: 0, userId: 'u1', count: 2 }]);
  });

  it('flushes every open window at the end of the input', () => {
    const counter = new WindowCounter(60_000, 0);
    counter.add('u1', 1000);
    counter.add('u1', 1500);
    assert.deepEqual(counter.flushAll(), [{ windowStart: 0, userId: 'u1', count: 2 }]);
    assert.deepEqual(counter.flushAll(), []);
  });
});
