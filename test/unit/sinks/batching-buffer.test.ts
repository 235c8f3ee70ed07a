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

  it("groups rows by partition and checkpoint and numbers each partition's parts from 0 after every checkpoint", () => {
    const buffer = new BatchBuffer({ rows: 100, bytes: 10_000, intervalMs: 100 });
    const p0 = (checkpoint: number) => ({ partition: 'events/0', checkpoint });
    const p1 = (checkpoint: number) => ({ partition: 'events/1', checkpoint });
    buffer.add('{"a":1}\n', { w: 1 }, p0(4));
    buffer.add('{"b":1}\n', { w: 1 }, p1(9));
    buffer.add('{"a":2}\n', { w: 1 }, p0(4));
    buffer.add('{"dead":1}\n', { dlq: 1 });
    const first = buffer.take();
    assert.deepEqual(first.lines, ['{"a":1}', '{"b":1}', '{"a":2}', '{"dead":1}']);
    assert.deepEqual(first.parts, [
      { origin: p0(4), sequence: 0, lines: ['{"a":1}', '{"a":2}'] },
      { origin: p1(9), sequence: 0, lines: ['{"b":1}'] },
      { origin: null, sequence: 0, lines: ['{"dead":1}'] },
    ]);
    buffer.add('{"a":3}\n', { w: 1 }, p0(4));
    buffer.add('{"b":2}\n', { w: 1 }, p1(10));
    assert.deepEqual(
      buffer.take().parts.map((part) => [part.origin?.partition, part.origin?.checkpoint, part.sequence]),
      [
        ['events/0', 4, 1],
        ['events/1', 10, 0],
      ],
    );
    buffer.add('{"a":4}\n', { w: 1 }, p0(5));
    assert.equal(buffer.take().parts[0]?.sequence, 0, 'a new checkpoint starts the count again');
  });

  it('gives a replay after a crash the numbers the first run gave, when it takes the same rows', () => {
    const run = () => {
      const buffer = new BatchBuffer({ rows: 2, bytes: 10_000, intervalMs: 100 });
      const numbered: Array<[number, string[]]> = [];
      for (let row = 0; row < 6; row++) {
        buffer.add(`{"n":${row}}\n`, { w: 1 }, { partition: 'events/3', checkpoint: 7 });
        if (buffer.full) for (const part of buffer.take().parts) numbered.push([part.sequence, part.lines]);
      }
      return numbered;
    };
    const first = run();
    assert.deepEqual(
      first.map(([sequence]) => sequence),
      [0, 1, 2],
    );
    assert.deepEqual(run(), first);
  });
});
