import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import fc from 'fast-check';
import { kafkaBatchTransfer, packKafkaBatch, unpackKafkaBatch } from '../../../actors/kafka/kafka-batch.ts';

describe('packKafkaBatch / unpackKafkaBatch', () => {
  test('round-trips offsets, values and null values', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.uint8Array({ maxLength: 64 }), { nil: null }), { maxLength: 40 }),
        fc.bigInt({ min: 0n, max: 2n ** 62n }),
        (values, first) => {
          const messages = values.map((value, index) => ({
            offset: (first + BigInt(index)).toString(),
            value,
          }));
          const unpacked = unpackKafkaBatch(packKafkaBatch('t', 2, messages));
          assert.deepEqual(
            unpacked.offsets,
            messages.map((message) => message.offset),
          );
          assert.deepEqual(
            unpacked.values.map((value) => (value === null ? null : Array.from(value))),
            values.map((value) => (value === null ? null : Array.from(value))),
          );
          assert.equal(
            unpacked.nextOffset,
            values.length === 0 ? '0' : (first + BigInt(values.length)).toString(),
          );
        },
      ),
    );
  });

  test('an explicit next offset (control records after the last message) is kept', () => {
    const packed = packKafkaBatch('t', 0, [{ offset: '5', value: Buffer.from('x') }], '9');
    assert.equal(unpackKafkaBatch(packed).nextOffset, '9');
  });

  test('offsets beyond 2^53 survive exactly', () => {
    const offset = '9007199254740993';
    const packed = packKafkaBatch('t', 0, [{ offset, value: Buffer.from('x') }]);
    assert.deepEqual(unpackKafkaBatch(packed).offsets, [offset]);
    assert.equal(packed.nextOffset, '9007199254740994');
  });

  test('a packed batch crosses a message port with one transfer and arrives intact', async () => {
    const messages = [
      { offset: '10', value: Buffer.from('{"a":1}') },
      { offset: '11', value: null },
      { offset: '12', value: Buffer.from('{"b":2}') },
    ];
    const packed = packKafkaBatch('clicks', 1, messages);
    const { port1, port2 } = new MessageChannel();
    const arrived = new Promise<typeof packed>((resolve) => port2.once('message', resolve));
    port1.postMessage(packed, kafkaBatchTransfer(packed));
    assert.equal(packed.buffer.byteLength, 0, 'the buffer moved, it was not copied');
    const received = unpackKafkaBatch(await arrived);
    port1.close();
    assert.deepEqual(received.offsets, ['10', '11', '12']);
    assert.equal(Buffer.from(received.values[0] as Uint8Array).toString(), '{"a":1}');
    assert.equal(received.values[1], null);
    assert.equal(Buffer.from(received.values[2] as Uint8Array).toString(), '{"b":2}');
  });
});
