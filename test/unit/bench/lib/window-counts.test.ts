import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareCounts, countsFromRows, windowStartMs } from '../../../../bench/lib/window-counts.ts';

describe('window counts', () => {
  it('keeps the highest version of a re-fired window as its final count', () => {
    const counts = countsFromRows(
      [
        '{"window_start":60000,"window_end":120000,"user_id":"u1","events":3,"version":1}',
        '{"window_start":60000,"window_end":120000,"user_id":"u1","events":5,"version":2}',
        '',
        '{"window_start":0,"window_end":60000,"user_id":"u2","events":1,"version":1}',
      ],
      'user_id',
      'events',
    );
    assert.deepEqual([...counts].sort(), [
      ['0|u2', 1],
      ['60000|u1', 5],
    ]);
  });

  it('reads window starts given as ms or as ISO-8601 text', () => {
    assert.equal(windowStartMs(60000), 60000);
    assert.equal(windowStartMs('1970-01-01T00:01:00.000Z'), 60000);
    assert.throws(() => windowStartMs('soon'), /neither ms nor an ISO-8601 time/);
  });

  it('agrees only when every (window, key) pair has the same count on both sides', () => {
    const expected = new Map([
      ['0|a', 2],
      ['0|b', 1],
    ]);
    assert.deepEqual(compareCounts(expected, new Map(expected)), {
      agree: true,
      windows: 2,
      events: 3,
      differences: [],
    });
    const actual = new Map([
      ['0|a', 3],
      ['0|c', 1],
    ]);
    const result = compareCounts(expected, actual);
    assert.equal(result.agree, false);
    assert.deepEqual(result.differences, ['0|a: 2 → 3', '0|b: 1 → missing', '0|c: missing → 1']);
  });
});
