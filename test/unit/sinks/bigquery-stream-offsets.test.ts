import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type AppendAnswer,
  appendSkippingStored,
  planRecovery,
  type StreamRecord,
} from '../../../actors/sinks/bigquery-stream-offsets.ts';

const stream = 'projects/p/datasets/d/tables/t/streams/s1';

describe('planRecovery', () => {
  it('starts a new stream at offset 0 without a checkpoint, even if a record is left', () => {
    const record: StreamRecord = { stream, checkpoint: 4, next: 90 };
    assert.deepEqual(planRecovery(record, 0, 0, true), {
      kind: 'resume',
      stream: null,
      offset: 0,
      appendPending: false,
    });
  });

  it('appends the pending rows from offset 0 when no row was ever appended (no record)', () => {
    assert.deepEqual(planRecovery(null, 1, 12, true), {
      kind: 'resume',
      stream: null,
      offset: 0,
      appendPending: true,
    });
  });

  it('appends nothing when the record says the restored checkpoint is stored', () => {
    assert.deepEqual(planRecovery({ stream, checkpoint: 7, next: 300 }, 7, 25, true), {
      kind: 'resume',
      stream,
      offset: 300,
      appendPending: false,
    });
  });

  it('re-appends the pending rows right after the previous checkpoint when the record is behind', () => {
    // Checkpoint 8 recorded 25 rows; the crash came before their append finished.
    assert.deepEqual(planRecovery({ stream, checkpoint: 7, next: 300 }, 8, 25, true), {
      kind: 'resume',
      stream,
      offset: 300,
      appendPending: true,
    });
  });

  it('refuses a restored checkpoint older than the record', () => {
    const plan = planRecovery({ stream, checkpoint: 9, next: 300 }, 8, 25, true);
    assert.equal(plan.kind, 'refuse');
    assert.match(plan.kind === 'refuse' ? plan.reason : '', /older checkpoint/);
  });

  it('takes a new stream when the old one is gone and holds every recorded row', () => {
    assert.deepEqual(planRecovery({ stream, checkpoint: 8, next: 300 }, 8, 25, false), {
      kind: 'resume',
      stream: null,
      offset: 0,
      appendPending: false,
    });
  });

  it('refuses when the old stream is gone and the pending rows cannot be verified', () => {
    const plan = planRecovery({ stream, checkpoint: 7, next: 300 }, 8, 25, false);
    assert.equal(plan.kind, 'refuse');
    assert.match(plan.kind === 'refuse' ? plan.reason : '', /cannot be verified/);
  });
});

/** A COMMITTED stream as the Storage Write API keeps one: offsets must equal its end. */
function fakeStream(stored: number) {
  const rows: string[] = Array.from({ length: stored }, (_, index) => `old${index}`);
  const calls: Array<[number, number]> = [];
  return {
    rows,
    calls,
    append(batch: readonly string[]) {
      return async (from: number, to: number, offset: number): Promise<AppendAnswer> => {
        calls.push([offset, to - from]);
        if (offset < rows.length) return 'already-exists';
        if (offset > rows.length) return 'out-of-range';
        rows.push(...batch.slice(from, to));
        return 'ok';
      };
    },
  };
}

describe('appendSkippingStored', () => {
  it('appends a batch at the end of the stream in one request', async () => {
    const target = fakeStream(10);
    const batch = ['a', 'b', 'c'];
    assert.equal(await appendSkippingStored(3, 10, target.append(batch)), 0);
    assert.deepEqual(target.rows.slice(10), batch);
    assert.deepEqual(target.calls, [[10, 3]]);
  });

  it('skips the rows the stream already holds and appends the rest once', async () => {
    // Offsets 10..14 of a checkpoint; 10 and 11 were stored before the crash.
    const target = fakeStream(12);
    const batch = ['a', 'b', 'c', 'd', 'e'];
    assert.equal(await appendSkippingStored(5, 10, target.append(batch)), 2);
    assert.deepEqual(target.rows.slice(10), ['old10', 'old11', 'c', 'd', 'e']);
    assert.equal(target.rows.length, 15);
  });

  it('stores nothing when every row is there already', async () => {
    const target = fakeStream(15);
    assert.equal(await appendSkippingStored(5, 10, target.append(['a', 'b', 'c', 'd', 'e'])), 5);
    assert.equal(target.rows.length, 15);
  });

  it('fails loudly on an offset beyond the end of the stream', async () => {
    const target = fakeStream(3);
    await assert.rejects(appendSkippingStored(2, 5, target.append(['a', 'b'])), /beyond the end/);
    assert.equal(target.rows.length, 3);
  });
});
