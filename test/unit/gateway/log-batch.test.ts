import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import fc from 'fast-check';
import {
  decodeLogBatch,
  encodeLogBatch,
  type LogBatch,
  packLogRecords,
  unpackLogRecords,
} from '../../../actors/gateway/log-batch.ts';

const event = fc
  .record({
    user_id: fc.string(),
    ts: fc.integer({ min: 0 }),
    amount: fc.double({ noNaN: true }).filter((value) => !Object.is(value, -0)),
  })
  .map((value) => ({ ...value }));
const failure = fc
  .record({ code: fc.constant('KEY_MISSING' as const), reason: fc.string(), raw: fc.string() })
  .map((value) => ({ ...value }));
/** A log batch: events with failures at some places, as the gateway writes them. */
const logBatch: fc.Arbitrary<LogBatch> = fc
  .array(
    fc.oneof(
      event.map((value) => ({ value })),
      failure.map((refused) => ({ refused })),
    ),
    { maxLength: 20 },
  )
  .map((entries) => ({
    events: entries.map((entry) => ('value' in entry ? entry.value : null)),
    failures: entries.flatMap((entry, index) =>
      'refused' in entry ? [[index, entry.refused] as [number, LogBatch['failures'][0][1]]] : [],
    ),
  }));

describe('packed gateway log records', () => {
  it('unpack to every entry of every record, in order, each at the position of its record', () => {
    fc.assert(
      fc.property(fc.array(logBatch, { maxLength: 8 }), fc.nat(1_000_000), (batches, first) => {
        const payloads = batches.map(encodeLogBatch);
        const unpacked = unpackLogRecords(packLogRecords(payloads, first));
        const expected = {
          events: [] as LogBatch['events'],
          positions: [] as number[],
          failures: [] as LogBatch['failures'],
        };
        batches.forEach((batch, index) => {
          const decoded = decodeLogBatch(payloads[index]);
          for (const [at, refused] of decoded.failures)
            expected.failures.push([expected.events.length + at, refused]);
          for (const value of decoded.events) {
            expected.events.push(value);
            expected.positions.push(first + index);
          }
          assert.deepEqual(decoded, batch);
        });
        assert.deepEqual(unpacked, expected);
      }),
    );
  });

  it('cross a thread boundary as one transferred buffer, read the same on the other side', () => {
    const payloads = [
      encodeLogBatch({ events: [{ user_id: 'a', ts: 1 }], failures: [] }),
      encodeLogBatch({
        events: [null, { user_id: 'b', ts: 2 }],
        failures: [[0, { code: 'TIME_INVALID', reason: 'no ts', raw: '{}' }]],
      }),
    ];
    const packed = packLogRecords(payloads, 41);
    const { port1, port2 } = new MessageChannel();
    port1.postMessage(packed, [packed.buffer]);
    assert.equal(packed.buffer.byteLength, 0, 'the sender keeps no copy');
    const received = receiveMessageOnPort(port2)?.message;
    port1.close();
    assert.deepEqual(unpackLogRecords(received), {
      events: [{ user_id: 'a', ts: 1 }, null, { user_id: 'b', ts: 2 }],
      positions: [41, 42, 42],
      failures: [[1, { code: 'TIME_INVALID', reason: 'no ts', raw: '{}' }]],
    });
  });
});
