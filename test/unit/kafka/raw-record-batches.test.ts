import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeKafkaRecords } from '../../../actors/kafka/decode-records.ts';
import { packKafkaBatch, unpackKafkaBatch } from '../../../actors/kafka/kafka-batch.ts';
import { registerLz4Codec } from '../../../actors/kafka/lz4-codec.ts';
import { DEAD_LETTER_HEADERS, readRecordBatches } from '../../../actors/kafka/raw-record-batches.ts';

const require = createRequire(import.meta.url);
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js');
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js');
const RecordBatchDecoder = require('kafkajs/src/protocol/recordBatch/v0/decoder.js');
const Decoder = require('kafkajs/src/protocol/decoder.js');

const NONE = 0;
const GZIP = 1;
const LZ4 = 3;

interface TestRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, string>;
}

/** A v2 record batch as a broker stores it, encoded by kafkajs's producer code. */
async function batch(firstOffset: number, compression: number, records: TestRecord[]): Promise<Buffer> {
  registerLz4Codec();
  const encoded = await RecordBatch({
    compression,
    firstOffset: String(firstOffset),
    lastOffsetDelta: records.length - 1,
    records: records.map((record, offsetDelta) => Record({ offsetDelta, ...record })),
  });
  return encoded.buffer as Buffer;
}

/** What kafkajs's consumer decodes from the same bytes: offsets and values. */
async function kafkajsRead(bytes: Buffer) {
  registerLz4Codec();
  const decoder = new Decoder(bytes);
  const offsets: string[] = [];
  const values: Array<string | null> = [];
  while (decoder.canReadBytes(49)) {
    const decoded = await RecordBatchDecoder(decoder);
    for (const record of decoded.records) {
      offsets.push(record.offset);
      values.push(record.value === null ? null : record.value.toString());
    }
  }
  return { offsets, values };
}

function ours(bytes: Buffer, from = 0n) {
  const read = readRecordBatches(new Uint8Array(bytes), from);
  return {
    offsets: read.offsets,
    values: read.values.map((value) => (value === null ? null : Buffer.from(value).toString())),
  };
}

const text = (value: string) => Buffer.from(value);

describe('raw record batches', () => {
  for (const [name, codec] of [
    ['uncompressed', NONE],
    ['gzip', GZIP],
    ['LZ4', LZ4],
  ] as const) {
    it(`reads the offsets and values of ${name} batches back to back`, async () => {
      const bytes = Buffer.concat([
        await batch(100, codec, [
          { key: text('u1'), value: text('{"a":1}') },
          { key: null, value: null },
          { key: text('u2'), value: text('{"a":3}'), headers: { trace: 'x' } },
        ]),
        await batch(103, codec, [{ key: text('u3'), value: text('') }]),
      ]);
      assert.deepEqual(ours(bytes), {
        offsets: ['100', '101', '102', '103'],
        values: ['{"a":1}', null, '{"a":3}', ''],
      });
    });
  }

  it('skips the records before the offset the fetch began at', async () => {
    const bytes = await batch(
      10,
      GZIP,
      [0, 1, 2, 3].map((n) => ({ key: null, value: text(`v${n}`) })),
    );
    assert.deepEqual(ours(bytes, 12n), { offsets: ['12', '13'], values: ['v2', 'v3'] });
  });

  it('reads what kafkajs reads, for any records and codec', async () => {
    const record = fc.record({
      key: fc.option(
        fc.uint8Array({ maxLength: 20 }).map((bytes) => Buffer.from(bytes)),
        { nil: null },
      ),
      value: fc.option(fc.string({ maxLength: 300 }).map(text), { nil: null }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(fc.constantFrom(NONE, GZIP, LZ4), fc.array(record, { minLength: 1, maxLength: 20 })),
          {
            minLength: 1,
            maxLength: 4,
          },
        ),
        fc.nat(2 ** 40),
        async (batches, start) => {
          const parts: Buffer[] = [];
          let offset = start;
          for (const [codec, records] of batches) {
            parts.push(await batch(offset, codec, records));
            offset += records.length;
          }
          const bytes = Buffer.concat(parts);
          assert.deepEqual(ours(bytes), await kafkajsRead(bytes));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('refuses bytes that are not whole record batches', async () => {
    const bytes = await batch(0, NONE, [{ key: null, value: text('{"a":1}') }]);
    assert.throws(() => readRecordBatches(new Uint8Array(bytes.subarray(0, 40)), 0n), RangeError);
    assert.throws(
      () => readRecordBatches(new Uint8Array(bytes.subarray(0, bytes.length - 3)), 0n),
      RangeError,
    );
  });

  it('reports the dead-letter headers a record carries, by its index', async () => {
    const bytes = await batch(7, NONE, [
      { key: null, value: text('{"user_id":"u1","ts":1}'), headers: { trace: 'a' } },
      {
        key: null,
        value: text('{"ts":2}'),
        headers: {
          trace: 'b',
          [DEAD_LETTER_HEADERS.code]: 'KEY_MISSING',
          [DEAD_LETTER_HEADERS.reason]: 'field user_id: missing key',
        },
      },
    ]);
    const read = readRecordBatches(new Uint8Array(bytes), 0n);
    assert.deepEqual(
      [...(read.deadLetters ?? [])],
      [[1, { code: 'KEY_MISSING', reason: 'field user_id: missing key' }]],
    );
  });

  it('turns a dead-letter record into a failure with its own code, reason and text, not a decode of its value', async () => {
    const bytes = await batch(20, LZ4, [
      { key: null, value: text('{"user_id":"u1","ts":1}') },
      {
        key: null,
        value: text('{"ts":2}'),
        headers: { [DEAD_LETTER_HEADERS.code]: 'KEY_MISSING', [DEAD_LETTER_HEADERS.reason]: 'no key' },
      },
      {
        key: null,
        value: text('whatever'),
        headers: { [DEAD_LETTER_HEADERS.code]: 'MADE_UP', [DEAD_LETTER_HEADERS.reason]: 'trust me' },
      },
    ]);
    const standIn = { offset: '22', value: null, records: new Uint8Array(bytes) };
    const decoded = decodeKafkaRecords(
      'json',
      unpackKafkaBatch(packKafkaBatch('clicks', 0, [standIn], '23', '20')),
    );
    assert.deepEqual(decoded.events, [{ user_id: 'u1', ts: 1 }, null, null]);
    assert.deepEqual(decoded.positions, ['20', '21', '22']);
    assert.deepEqual(
      decoded.failures.map(([index, failure]) => [
        index,
        failure.code,
        failure.reason,
        failure.raw,
        failure.offset,
      ]),
      [
        [1, 'KEY_MISSING', 'no key', '{"ts":2}', '21'],
        [
          2,
          'DEAD_LETTER_CODE_UNKNOWN',
          'dead letter with unknown code "MADE_UP": trust me',
          'whatever',
          '22',
        ],
      ],
    );
  });
});
