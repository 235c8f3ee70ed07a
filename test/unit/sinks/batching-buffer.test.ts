import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchBuffer } from '../../../actors/sinks/batching-buffer.ts';

describe('batch buffer', () => {
  it('splits JSON lines into rows and sums rows per output', () => {
    const buffer = new BatchBuffer({ rows: 10, bytes: 1000, intervalMs: 100 });
    assert.equal(buffer.add('{"a":1}\n{"a":2}\n', { w: 2 }), 2);
    buffer.add('{"a":3}\n', { w: 1, late: 0 });
    const batch = buffer.take();
    assert.deepEqual(batch.lines, ['{"a":1}', '{"a":2}', '{"a":3}']);
    assert.deepEqual(batch.outputs, { w: 3, late: 0 });
    assert.equal(batch.bytes, 24);
    assert.equal(buffer.rows, 0);
    assert.equal(buffer.bytes, 0);
  });

  it('is full at the rows limit', () => {
    const buffer = new BatchBuffer({ rows: 2, bytes: 1000, intervalMs: 100 });
    buffer.add('{}\n', {});
    assert.equal(buffer.full, false);
    buffer.add('{}\n', {});
    assert.equal(buffer.full, true);
  });

  it('is full at the bytes limit', () => {
    const buffer = new BatchBuffer({ rows: 1000, bytes: 10, intervalMs: 100 });
    buffer.add('{"a":1}\n', {});
    assert.equal(buffer.full, false);
    buffer.add('{"b":2}\n', {});
    assert.equal(buffer.full, true);
  });
});
