import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { flagAbortedRecords } from '../../../actors/kafka/read-committed.ts';

type Batch = { producerId: string; inTransaction: boolean; isControlBatch: boolean };

/**
 * A partition's fetched records, one record batch per entry, offsets from `first`:
 * `[producer, 'data' | 'abort' | 'commit' | 'plain']`.
 */
function fetched(first: number, entries: Array<[string, 'data' | 'abort' | 'commit' | 'plain']>) {
  return entries.map(([producerId, kind], index) => {
    const offset = String(first + index);
    const control = kind === 'abort' || kind === 'commit';
    const batch: Batch & { firstOffset: string; lastOffsetDelta: number } = {
      firstOffset: offset,
      lastOffsetDelta: 0,
      producerId,
      inTransaction: kind !== 'plain',
      isControlBatch: control,
    };
    const key = control
      ? Buffer.from([0, 0, 0, kind === 'abort' ? 0 : 1])
      : Buffer.from(`${producerId}${offset}`);
    return { offset, key, isControlRecord: control, batchContext: batch };
  });
}

const visible = (messages: ReturnType<typeof fetched>) =>
  messages.filter((message) => !message.isControlRecord).map((message) => message.offset);

describe('read_committed filtering', () => {
  it('drops the records of every aborted transaction open at the start of a fetch, however they interleave', () => {
    // Offsets 0 p1, 1 p2 began before this fetch (from 2): both aborted. The fetch starts
    // with p2's record, which kafkajs 2.2.4 lets through because it enters p1's first.
    const messages = fetched(2, [
      ['p2', 'data'],
      ['p1', 'data'],
      ['p1', 'abort'],
      ['p2', 'abort'],
      ['p3', 'plain'],
    ]);
    const flagged = flagAbortedRecords(messages, [
      { producerId: 'p1', firstOffset: '0' },
      { producerId: 'p2', firstOffset: '1' },
    ]);
    assert.equal(flagged, 2);
    assert.deepEqual(visible(messages), ['6']);
  });

  it('takes the aborted list in offset order, whatever order the broker sends it in', () => {
    const messages = fetched(0, [
      ['p1', 'data'],
      ['p2', 'data'],
      ['p1', 'abort'],
      ['p2', 'abort'],
    ]);
    flagAbortedRecords(messages, [
      { producerId: 'p2', firstOffset: '1' },
      { producerId: 'p1', firstOffset: '0' },
    ]);
    assert.deepEqual(visible(messages), []);
  });

  it("keeps committed transactions, plain records, and a producer's later transaction after its abort", () => {
    const messages = fetched(0, [
      ['p1', 'data'], // 0 aborted
      ['p2', 'data'], // 1 committed
      ['p1', 'abort'], // 2
      ['p2', 'commit'], // 3
      ['p3', 'plain'], // 4
      ['p1', 'data'], // 5 committed: p1's next transaction
      ['p1', 'commit'], // 6
      ['p1', 'data'], // 7 aborted again
      ['p1', 'abort'], // 8
    ]);
    flagAbortedRecords(messages, [
      { producerId: 'p1', firstOffset: '0' },
      { producerId: 'p1', firstOffset: '7' },
    ]);
    assert.deepEqual(visible(messages), ['1', '4', '5']);
  });

  it('judges a whole record batch by the aborted transactions begun up to its last offset', () => {
    const batch = {
      firstOffset: '10',
      lastOffsetDelta: 2,
      producerId: 'p1',
      inTransaction: true,
      isControlBatch: false,
    };
    const messages = [10, 11, 12].map((offset) => ({
      offset: String(offset),
      key: null,
      isControlRecord: false,
      batchContext: batch,
    }));
    // The transaction began at 11, inside the batch: the batch is one transaction's, aborted.
    assert.equal(flagAbortedRecords(messages, [{ producerId: 'p1', firstOffset: '11' }]), 3);
  });
});
