import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeMsgpackEvent, encodeMsgpackEvent } from '../../../actors/codecs/msgpack-event.ts';

describe('per-message msgpack events', () => {
  it('round-trips an event', () => {
    const event = { user_id: 'u42', ts: 1714564800123, amount: 12.5, page: '/p/7', tags: ['a'], n: null };
    assert.deepEqual(decodeMsgpackEvent(encodeMsgpackEvent(event)), { event });
  });

  it('decodes 64-bit integers as numbers, since events are JSON-shaped', () => {
    const bytes = Buffer.from([0x81, 0xa2, 0x74, 0x73, 0xcf, 0, 0, 1, 0x8f, 0x2f, 0x5e, 0x0c, 0x7b]);
    const result = decodeMsgpackEvent(bytes);
    assert.ok('event' in result);
    assert.equal(typeof result.event.ts, 'number');
  });

  it('refuses a value that is not a map with MSGPACK_NOT_OBJECT', () => {
    for (const value of [[1, 2], 'x', 5, null]) {
      const result = decodeMsgpackEvent(encodeMsgpackEvent(value as object));
      assert.ok('code' in result);
      assert.equal(result.code, 'MSGPACK_NOT_OBJECT');
    }
  });

  it('refuses truncated or trailing bytes with MSGPACK_INVALID', () => {
    const good = encodeMsgpackEvent({ a: 'hello' });
    for (const bytes of [
      good.subarray(0, good.length - 1),
      Buffer.concat([good, Buffer.from([1])]),
      Buffer.alloc(0),
    ]) {
      const result = decodeMsgpackEvent(bytes);
      assert.ok('code' in result);
      assert.equal(result.code, 'MSGPACK_INVALID');
    }
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const result = decodeMsgpackEvent(bytes);
        assert.ok('event' in result || result.reason.length > 0);
      }),
      { numRuns: 3000 },
    );
  });
});
