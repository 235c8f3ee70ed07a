import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import {
  decodeLogBatch,
  encodeLogBatch,
  type LogBatch,
  packLogRecords,
  RECORDS_FROM,
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
    { maxLength: 2 * RECORDS_FROM },
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

  it('round-trip any JSON event, each record read alone and in any order', () => {
    // msgpackr renames a "__proto__" key at any depth (both versions do), so such events are left out.
    const jsonEvent = fc
      .dictionary(fc.string(), fc.jsonValue(), { maxKeys: 6 })
      .map((value) => JSON.stringify(value))
      .filter((text) => !text.includes('"__proto__"'))
      .map((text) => JSON.parse(text) as Record<string, unknown>);
    fc.assert(
      fc.property(
        fc.array(
          // Both encodings: plain maps below RECORDS_FROM entries, msgpackr records from it.
          fc.oneof(
            fc.array(jsonEvent, { maxLength: RECORDS_FROM - 1 }),
            fc.array(jsonEvent, { minLength: RECORDS_FROM, maxLength: 3 * RECORDS_FROM }),
          ),
          { minLength: 1, maxLength: 6 },
        ),
        (parts) => {
          const payloads = parts.map((events) => encodeLogBatch({ events, failures: [] }));
          for (let index = payloads.length - 1; index >= 0; index--) {
            const decoded = decodeLogBatch(payloads[index]);
            assert.equal(JSON.stringify(decoded.events), JSON.stringify(parts[index]));
          }
        },
      ),
    );
  });

  it('read records of version 1, as builds before the records encoding wrote them', () => {
    const plain = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });
    const failure = { code: 'KEY_MISSING' as const, reason: 'field user_id: missing key', raw: '{"ts":1}' };
    const v1 = plain.pack({ v: 1, e: [{ user_id: 'a', ts: 1 }, null], f: [[1, failure]] });
    assert.deepEqual(decodeLogBatch(v1), {
      events: [{ user_id: 'a', ts: 1 }, null],
      failures: [[1, failure]],
    });
    assert.throws(
      () => decodeLogBatch(plain.pack({ v: 3, e: [], f: [] })),
      /version 3; this build reads 1 and 2/,
    );
  });
});
