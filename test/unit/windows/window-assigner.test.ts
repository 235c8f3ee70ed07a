import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alignedStart, hoppingStarts } from '../../../actors/windows/window-assigner.ts';

describe('window assigner', () => {
  it('aligns tumbling windows to the Unix epoch', () => {
    assert.equal(alignedStart(0, 60_000), 0);
    assert.equal(alignedStart(59_999, 60_000), 0);
    assert.equal(alignedStart(60_000, 60_000), 60_000);
    assert.equal(alignedStart(1_767_225_612_345, 60_000), 1_767_225_600_000);
  });

  it('rounds negative times down, not towards zero', () => {
    assert.equal(alignedStart(-1, 10), -10);
    assert.equal(alignedStart(-10, 10), -10);
    assert.equal(alignedStart(-11, 10), -20);
    assert.ok(Object.is(alignedStart(-10, 10) + 0, -10));
  });

  it('puts an event in every hopping window whose start is a multiple of slide and covers it', () => {
    assert.deepEqual(hoppingStarts(12, 10, 5), [5, 10]);
    assert.deepEqual(hoppingStarts(10, 10, 5), [5, 10]);
    assert.deepEqual(hoppingStarts(-3, 10, 5), [-10, -5]);
    assert.deepEqual(hoppingStarts(7, 30, 10), [-20, -10, 0]);
  });

  it('handles sizes that are not a multiple of the slide', () => {
    assert.deepEqual(hoppingStarts(9, 7, 3), [3, 6, 9]);
    assert.deepEqual(hoppingStarts(10, 7, 3), [6, 9]);
  });

  it('leaves an event in a gap in no window when the slide exceeds the size', () => {
    assert.deepEqual(hoppingStarts(7, 5, 10), []);
    assert.deepEqual(hoppingStarts(12, 5, 10), [10]);
  });
});
