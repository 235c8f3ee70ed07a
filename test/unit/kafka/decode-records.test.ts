import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeFrame } from '../../../actors/codecs/frame.ts';
import { encodeMsgpackEvent, msgpack } from '../../../actors/codecs/msgpack-event.ts';
import { decodeKafkaRecords } from '../../../actors/kafka/decode-records.ts';
import {
  type KafkaMessageLike,
  packKafkaBatch,
  unpackKafkaBatch,
} from '../../../actors/kafka/kafka-batch.ts';

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

function batchOf(values: Array<Uint8Array | null>, firstOffset = 100) {
  const messages: KafkaMessageLike[] = values.map((value, index) => ({
    offset: String(firstOffset + index),
    value,
  }));
  return unpackKafkaBatch(packKafkaBatch('clicks', 3, messages));
}

describe('decodeKafkaRecords', () => {
  test('json gives one event per message, positioned at its offset', () => {
    const decoded = decodeKafkaRecords(
      'json',
      batchOf([json({ user_id: 'u1', ts: 1 }), json({ user_id: 'u2', ts: 2 })]),
    );
    assert.deepEqual(decoded.events, [
      { user_id: 'u1', ts: 1 },
      { user_id: 'u2', ts: 2 },
    ]);
    assert.deepEqual(decoded.positions, ['100', '101']);
    assert.deepEqual(decoded.failures, []);
    assert.equal(decoded.nextOffset, '102');
  });

  test('msgpack gives one event per message', () => {
    const decoded = decodeKafkaRecords('msgpack', batchOf([encodeMsgpackEvent({ user_id: 'u1', ts: 5 })]));
    assert.deepEqual(decoded.events, [{ user_id: 'u1', ts: 5 }]);
    assert.deepEqual(decoded.positions, ['100']);
  });

  test('a frame yields all its events, each positioned at the frame message offset', () => {
    const frameA = encodeFrame([
      { k: 'a', n: 1 },
      { k: 'a', n: 2 },
      { k: 'b', n: 3 },
    ]);
    const frameB = encodeFrame([{ k: 'c', n: 4 }], { codec: 'none' });
    const decoded = decodeKafkaRecords('frame', batchOf([frameA, frameB], 7));
    assert.deepEqual(
      decoded.events.map((event) => event?.n),
      [1, 2, 3, 4],
    );
    assert.deepEqual(decoded.positions, ['7', '7', '7', '8']);
    assert.deepEqual(decoded.failures, []);
  });

  test('bad JSON becomes a failure with topic, partition, offset, reason and the raw text', () => {
    const decoded = decodeKafkaRecords(
      'json',
      batchOf([json({ ok: 1 }), Buffer.from('{"a":'), json({ ok: 2 })]),
    );
    assert.deepEqual(decoded.events, [{ ok: 1 }, null, { ok: 2 }]);
    assert.equal(decoded.failures.length, 1);
    const [index, failure] = decoded.failures[0];
    assert.equal(index, 1);
    assert.equal(failure.code, 'JSON_INVALID');
    assert.equal(failure.raw, '{"a":');
    assert.deepEqual([failure.topic, failure.partition, failure.offset], ['clicks', 3, '101']);
    assert.match(failure.reason, /invalid JSON/);
  });

  test('JSON that is not an object and bytes that are not UTF-8 are refused', () => {
    const decoded = decodeKafkaRecords('json', batchOf([json([1, 2]), Uint8Array.of(0xff, 0xfe)]));
    assert.deepEqual(
      decoded.failures.map(([, failure]) => failure.code),
      ['JSON_NOT_OBJECT', 'JSON_INVALID'],
    );
    assert.equal(decoded.failures[1][1].raw, Buffer.from([0xff, 0xfe]).toString('base64'));
  });

  test('a frame with a CRC mismatch becomes one failure, the next frame still decodes', () => {
    const damaged = Buffer.from(encodeFrame([{ k: 'a' }, { k: 'b' }]));
    damaged[damaged.length - 1] ^= 0xff;
    const decoded = decodeKafkaRecords('frame', batchOf([damaged, encodeFrame([{ k: 'c' }])]));
    assert.deepEqual(decoded.events, [null, { k: 'c' }]);
    assert.deepEqual(decoded.positions, ['100', '101']);
    assert.equal(decoded.failures[0][1].code, 'FRAME_PAYLOAD_CRC_MISMATCH');
    assert.equal(decoded.failures[0][1].raw, damaged.toString('base64'));
  });

  test('failures between frames keep their place among the frames’ events and offsets', () => {
    const good = (...keys: string[]) => encodeFrame(keys.map((k) => ({ k })));
    const decoded = decodeKafkaRecords(
      'frame',
      batchOf([good('a', 'b'), good('c'), null, Buffer.from('nope'), good('d', 'e'), good('f'), null], 10),
    );
    assert.deepEqual(decoded.events, [
      { k: 'a' },
      { k: 'b' },
      { k: 'c' },
      null,
      null,
      { k: 'd' },
      { k: 'e' },
      { k: 'f' },
      null,
    ]);
    assert.deepEqual(decoded.positions, ['10', '10', '11', '12', '13', '14', '14', '15', '16']);
    assert.deepEqual(
      decoded.failures.map(([index, failure]) => [index, failure.code, failure.offset]),
      [
        [3, 'KAFKA_NULL_VALUE', '12'],
        [4, 'FRAME_BAD_MAGIC', '13'],
        [8, 'KAFKA_NULL_VALUE', '16'],
      ],
    );
  });

  test('a truncated frame becomes a failure', () => {
    const frame = encodeFrame([{ k: 'a' }, { k: 'b' }]);
    const decoded = decodeKafkaRecords('frame', batchOf([frame.subarray(0, frame.length - 3)]));
    assert.equal(decoded.failures[0][1].code, 'FRAME_TRUNCATED');
    const headerOnly = decodeKafkaRecords('frame', batchOf([frame.subarray(0, 5)]));
    assert.equal(headerOnly.failures[0][1].code, 'FRAME_TRUNCATED');
  });

  test('a msgpack value that is not a map, or not msgpack at all, becomes a failure', () => {
    const decoded = decodeKafkaRecords(
      'msgpack',
      batchOf([msgpack.pack([1, 2]), msgpack.pack('text'), Uint8Array.of(0x82, 0xa1)]),
    );
    assert.deepEqual(
      decoded.failures.map(([, failure]) => failure.code),
      ['MSGPACK_NOT_OBJECT', 'MSGPACK_NOT_OBJECT', 'MSGPACK_INVALID'],
    );
    assert.deepEqual(decoded.events, [null, null, null]);
  });

  test('a null value (tombstone) becomes a failure in every format', () => {
    for (const format of ['json', 'msgpack', 'frame'] as const) {
      const decoded = decodeKafkaRecords(format, batchOf([null]));
      assert.deepEqual(decoded.events, [null]);
      assert.equal(decoded.failures[0][1].code, 'KAFKA_NULL_VALUE');
      assert.equal(decoded.failures[0][1].raw, '');
    }
  });

  test('an empty batch decodes to nothing and keeps its next offset', () => {
    const decoded = decodeKafkaRecords('json', unpackKafkaBatch(packKafkaBatch('t', 0, [], '42')));
    assert.deepEqual(decoded, { events: [], positions: [], failures: [], nextOffset: '42' });
  });
});
