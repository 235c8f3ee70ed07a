import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { insertToken } from '../../../actors/sinks/clickhouse-insert-token.ts';

const origin = { partition: 'events/2', checkpoint: 41 };
const rows = ['{"user_id":"u1","version":1}', '{"user_id":"u2","version":1}'];

describe('ClickHouse insert deduplication token', () => {
  it('is the same for a retried or replayed insert of the same part', () => {
    const first = insertToken(origin, 3, rows);
    assert.equal(insertToken({ ...origin }, 3, [...rows]), first);
    assert.match(first, /^events\/2:41:3:2:[0-9a-f]{32}$/);
  });

  it('differs when the partition, the checkpoint or the part number differs', () => {
    const first = insertToken(origin, 3, rows);
    assert.notEqual(insertToken({ partition: 'events/1', checkpoint: 41 }, 3, rows), first);
    assert.notEqual(insertToken({ partition: 'events/2', checkpoint: 42 }, 3, rows), first);
    assert.notEqual(insertToken(origin, 4, rows), first);
  });

  it('differs when a part of the same number holds other rows, so the server never drops rows it has not stored', () => {
    const first = insertToken(origin, 3, rows);
    assert.notEqual(insertToken(origin, 3, rows.slice(0, 1)), first);
    assert.notEqual(insertToken(origin, 3, [...rows, '{"user_id":"u3","version":1}']), first);
    assert.notEqual(insertToken(origin, 3, [rows[1] as string, rows[0] as string]), first);
    // Line boundaries count: ["ab"] and ["a", "b"] are different rows.
    assert.notEqual(insertToken(origin, 0, ['ab']), insertToken(origin, 0, ['a', 'b']));
  });

  it('names rows of no partition (forwarded dead letters) as such', () => {
    assert.match(insertToken(null, 0, rows), /^none:0:2:/);
  });
});
