import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MinHeap } from '../../../actors/windows/min-heap.ts';

describe('min heap', () => {
  it('pops by priority what retain kept, and nothing it dropped', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -50, max: 50 }), { maxLength: 200 }), (values) => {
        const heap = new MinHeap<number>();
        for (const value of values) heap.push(value, value);
        heap.retain((value) => value % 3 !== 0);
        const popped: number[] = [];
        while (heap.size > 0) popped.push(heap.pop() as number);
        const expected = values.filter((value) => value % 3 !== 0).sort((a, b) => a - b);
        assert.deepEqual(popped, expected);
      }),
      { numRuns: 300 },
    );
  });
});
