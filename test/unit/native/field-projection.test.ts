/**
 * The native field reader against the TS decoders it stands in for — `JSON.parse` for
 * JSON, msgpackr for per-message msgpack: wherever it answers, every wanted field reads
 * exactly as on the event `decodeJsonEvent` / `decodeMsgpackEvent` makes (`Object.is`:
 * -0, numbers bit for bit, strings code unit for code unit), and the message is one that
 * decoder accepts. Where it refuses, the caller takes the TS path — so it must not refuse
 * the clean events it exists for. Random events, hostile inputs and byte-level mutations
 * of valid ones; then whole Kafka record batches.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { decodeFrame, encodeFrame } from '../../../actors/codecs/frame.ts';
import { decodeJsonEvent } from '../../../actors/codecs/json-event.ts';
import { decodeMsgpackEvent, msgpack } from '../../../actors/codecs/msgpack-event.ts';
import { registerLz4Codec } from '../../../actors/kafka/lz4-codec.ts';
import { DEAD_LETTER_HEADERS, readRecordBatches } from '../../../actors/kafka/raw-record-batches.ts';
import {
  createFieldProjector,
  type FieldProjector,
  type ProjectedFormat,
} from '../../../native/field-projection.ts';
import { nativeAddon } from '../../../native/index.ts';
import { craftFrame } from '../codecs/craft-frame.ts';

const require = createRequire(import.meta.url);
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js');
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js');

const FIELDS = ['user_id', 'ts', 'amount', 'é', ''];
/** A clean event, and what the projector makes of it. */
const CLEAN = { user_id: 'u3068', ts: 1714564799500, amount: 297.01, page: '/p/22' };
const CLEAN_READ = { user_id: 'u3068', ts: 1714564799500, amount: 297.01, é: undefined, '': undefined };
const encoder = new TextEncoder();

/**
 * The TS path's reading of one message: the wanted fields of each of its events (one, or
 * a frame's), or null when it makes a dead letter.
 */
function parsed(bytes: Uint8Array, format: ProjectedFormat): unknown[][] | null {
  const fields = (event: Record<string, unknown>) => FIELDS.map((field) => event[field]);
  if (format === 'frame') {
    const decoded = decodeFrame(bytes);
    return decoded.ok ? decoded.events.map(fields) : null;
  }
  if (format === 'msgpack') {
    const result = decodeMsgpackEvent(bytes);
    return 'event' in result ? [fields(result.event)] : null;
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
  const result = decodeJsonEvent(text);
  return 'event' in result ? [fields(result.event)] : null;
}

function agrees(projector: FieldProjector, bytes: Uint8Array): boolean {
  const events = projector.project([bytes]);
  if (events === null) return true;
  const expected = parsed(bytes, projector.format);
  assert.ok(
    expected !== null,
    `read a message the TS decoder refuses: ${Buffer.from(bytes).toString('hex')}`,
  );
  assert.equal(events.length, expected.length);
  for (const [at, event] of events.entries()) {
    assert.deepEqual(Object.keys(event).sort(), [...FIELDS].sort());
    for (const [index, field] of FIELDS.entries()) {
      assert.ok(
        Object.is(event[field], expected[at][index]),
        `${JSON.stringify(field)}: ${String(event[field])} ≠ ${String(expected[at][index])} in ${Buffer.from(bytes).toString()}`,
      );
    }
  }
  return true;
}

const scalar = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.constantFrom(0, -0, 1e21, 1e-7, 2 ** 53 + 1, 123456789012345680000, 5e-324, 1.7976931348623157e308),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }),
);
const anyValue = fc.oneof(scalar, fc.jsonValue(), fc.array(scalar), fc.dictionary(fc.string(), scalar));
const name = fc.oneof(fc.constantFrom(...FIELDS), fc.string(), fc.constantFrom('__proto__', 'page'));
/** An object as text: names may repeat, spacing varies, numbers may be spelled several ways. */
const objectText = fc
  .tuple(fc.array(fc.tuple(name, anyValue), { maxLength: 8 }), fc.constantFrom('', ' ', '\n\t', ' \r\n '))
  .map(([entries, space]) => {
    const members = entries.map(
      ([key, value]) => `${space}${JSON.stringify(key)}${space}:${space}${JSON.stringify(value) ?? 'null'}`,
    );
    return `${space}{${members.join(',')}${space}}${space}`;
  });
const numberText = fc.constantFrom(
  '0',
  '-0',
  '-0.0',
  '1e400',
  '-1e400',
  '1E+2',
  '1e-400',
  '0.1',
  '123456789012345678901234567890',
  '9007199254740993',
  '1.7976931348623157e308',
  '2.2250738585072011e-308',
  '01',
  '1.',
  '.5',
  '-',
  '+1',
  '1e',
  '0x10',
  'NaN',
  'Infinity',
  '1_000',
  '4.35',
  '0.3000000000000000444',
  '1e22',
  '1e23',
  '123e-20',
);
const hostile = fc.oneof(
  fc
    .tuple(fc.constantFrom(...FIELDS), numberText)
    .map(([field, number]) => `{${JSON.stringify(field)}:${number}}`),
  fc.constantFrom(
    '',
    ' ',
    '[]',
    '"x"',
    '1',
    'null',
    '{',
    '}',
    '{"ts":}',
    '{"ts":1,}',
    '{"ts" 1}',
    "{'ts':1}",
    '{"ts":tru}',
    '{"ts":"\\x"}',
    '{"ts":"\t"}',
    '\u{feff}{}',
    '{"user_id":"\\ud800"}',
    '{"user_id":"\\udc00x"}',
    '{"page":"\\ud800"}',
    '{"user_id":"\\ud83d\\ude00"}',
    '{"ts":1}{}',
    '{"ts":[1]}',
    '{"ts":{}}',
    '{"user_id":"a\\u0000b"}',
    '{"\\u0075ser_id":"escaped name"}',
    `{"a":${'['.repeat(300)}${']'.repeat(300)}}`,
    `{"a":${'['.repeat(200)}${']'.repeat(200)}}`,
  ),
);

/** Mutations of valid bytes: replaced, inserted and cut-off bytes. */
function mutations(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(valid, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(2)), { maxLength: 4 }))
    .map(([original, edits]) => {
      let bytes = [...original];
      for (const [at, byte, kind] of edits) {
        const where = bytes.length === 0 ? 0 : at % bytes.length;
        if (kind === 0) bytes[where] = byte;
        else if (kind === 1) bytes.splice(where, 0, byte);
        else bytes = bytes.slice(0, where);
      }
      return Uint8Array.from(bytes);
    });
}

describe('native JSON projection', { skip: nativeAddon === null ? 'native addon not built' : false }, () => {
  const projector = createFieldProjector(FIELDS, 'json') as FieldProjector;

  it('reads clean events, and agrees with JSON.parse on every field', () => {
    const events = [
      JSON.stringify(CLEAN),
      '{"ts":"2024-05-01T12:00:00Z","user_id":7,"amount":-0,"é":"ü€😀","":true,"nested":{"a":[1,{"b":null}]}}',
      '{"user_id":null,"amount":"12","é":false}',
      '{}',
    ].map((text) => encoder.encode(text));
    const read = projector.project(events);
    assert.ok(read !== null);
    assert.deepEqual(read[0], CLEAN_READ);
    assert.equal(read[1].é, 'ü€😀');
    assert.ok(Object.is(read[1].amount, -0));
    for (const bytes of events) agrees(projector, bytes);
  });

  it('agrees with JSON.parse wherever it answers, on random objects', () => {
    fc.assert(
      fc.property(objectText, (text) => agrees(projector, encoder.encode(text))),
      { numRuns: 3000 },
    );
  });

  it('answers for every object whose wanted fields are scalars without lone surrogates', () => {
    // No lone surrogate: the string survives a round trip through UTF-8.
    const wellFormed = (value: unknown) =>
      typeof value !== 'string' || Buffer.from(value).toString() === value;
    fc.assert(
      fc.property(
        fc
          .array(fc.tuple(name, scalar), { maxLength: 8 })
          .filter((entries) =>
            entries.every(([key, value]) => key !== '__proto__' && wellFormed(key) && wellFormed(value)),
          ),
        (entries) => {
          const text = `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`).join(',')}}`;
          const bytes = encoder.encode(text);
          assert.notEqual(projector.project([bytes]), null, text);
          agrees(projector, bytes);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('converts numbers exactly as JSON.parse, in every spelling JSON allows', () => {
    const digits = (min: number, max: number) =>
      fc.array(fc.integer({ min: 0, max: 9 }), { minLength: min, maxLength: max }).map((d) => d.join(''));
    const spelled = fc
      .tuple(
        fc.constantFrom('', '-'),
        fc.oneof(
          fc.constant('0'),
          fc.tuple(fc.integer({ min: 1, max: 9 }), digits(0, 24)).map(([a, b]) => `${a}${b}`),
        ),
        fc.option(digits(1, 24), { nil: undefined }),
        fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), digits(1, 3)), {
          nil: undefined,
        }),
      )
      .map(
        ([sign, whole, fraction, exponent]) =>
          `${sign}${whole}${fraction === undefined ? '' : `.${fraction}`}${exponent === undefined ? '' : exponent.join('')}`,
      );
    const printed = fc
      .double({ noNaN: true, noDefaultInfinity: true })
      .chain((value) =>
        fc.constantFrom(
          JSON.stringify(value),
          value.toExponential(),
          value.toExponential(20),
          value.toFixed(20),
        ),
      );
    fc.assert(
      fc.property(fc.oneof(spelled, printed), (number) => {
        const bytes = encoder.encode(`{"amount":${number}}`);
        assert.notEqual(projector.project([bytes]), null, number);
        agrees(projector, bytes);
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees or refuses on hostile texts and on mutated bytes', () => {
    fc.assert(
      fc.property(hostile, (text) => agrees(projector, encoder.encode(text))),
      { numRuns: 500 },
    );
    const mutated = mutations(objectText.map((text) => encoder.encode(text)));
    fc.assert(
      fc.property(mutated, (bytes) => agrees(projector, bytes)),
      { numRuns: 3000 },
    );
  });

  it('refuses a batch as a whole when one message is refused or null', () => {
    const good = encoder.encode('{"ts":1}');
    assert.equal(projector.project([good, encoder.encode('{"ts":')]), null);
    assert.equal(projector.project([good, null]), null);
    assert.deepEqual(projector.project([]), []);
  });

  it('reads messages from separate buffers as from one', () => {
    const a = encoder.encode('{"user_id":"a","ts":1}');
    const b = encoder.encode('xx{"user_id":"b","ts":2}').subarray(2);
    assert.deepEqual(
      projector.project([a, b])?.map((event: Record<string, unknown>) => event.user_id),
      ['a', 'b'],
    );
  });

  it('keeps names Object.prototype has, and __proto__, off the native path', () => {
    assert.equal(createFieldProjector(['ts', 'toString'], 'json'), null);
    assert.equal(createFieldProjector(['__proto__'], 'msgpack'), null);
    assert.equal(createFieldProjector(['ts'], 'json', null), null);
  });
});

/** msgpack as the per-message format and frames write it. */
const packed = (value: unknown) => Uint8Array.from(msgpack.pack(value));
const value = fc.oneof(
  scalar,
  fc.jsonValue(),
  fc.array(scalar),
  fc.dictionary(fc.string(), scalar),
  fc.uint8Array({ maxLength: 8 }),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
);
const event = fc
  .array(
    fc.tuple(
      name.filter((key) => key !== '__proto__'),
      value,
    ),
    { maxLength: 8 },
  )
  .map((entries) => Object.fromEntries(entries));

describe('native msgpack projection', {
  skip: nativeAddon === null ? 'native addon not built' : false,
}, () => {
  const projector = createFieldProjector(FIELDS, 'msgpack') as FieldProjector;
  it('reads clean events, and agrees with msgpackr on every field', () => {
    const events = [
      CLEAN,
      {
        ts: '2024-05-01T12:00:00Z',
        user_id: 7,
        amount: -0,
        é: 'ü€😀',
        '': true,
        nested: { a: [1, { b: null }] },
      },
      { user_id: null, amount: 2 ** 60, é: false },
      {},
    ].map(packed);
    const read = projector.project(events);
    assert.ok(read !== null);
    assert.deepEqual(read[0], CLEAN_READ);
    for (const bytes of events) agrees(projector, bytes);
  });

  it('agrees with msgpackr wherever it answers, on random events and their mutations', () => {
    fc.assert(
      fc.property(event, (object) => agrees(projector, packed(object))),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(mutations(event.map(packed)), (bytes) => agrees(projector, bytes)),
      { numRuns: 3000 },
    );
  });

  it('answers for every map whose wanted fields are scalars', () => {
    const wellFormed = (item: unknown) => typeof item !== 'string' || Buffer.from(item).toString() === item;
    fc.assert(
      fc.property(
        fc
          .array(fc.tuple(name, scalar), { maxLength: 8 })
          .filter((entries) =>
            entries.every(([key, item]) => key !== '__proto__' && wellFormed(key) && wellFormed(item)),
          ),
        (entries) => {
          const bytes = packed(Object.fromEntries(entries));
          assert.notEqual(projector.project([bytes]), null);
          agrees(projector, bytes);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('agrees or refuses on hand-made bytes: float32, 64-bit integers, ext types, bad UTF-8, other top-level values', () => {
    const key = [0xa2, 0x74, 0x73]; // "ts"
    const cases = [
      [0x81, ...key, 0xca, 0x3f, 0x9d, 0x70, 0xa4], // float32 1.23
      [0x81, ...key, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // uint64 max
      [0x81, ...key, 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 1], // int64 near min
      [0x81, ...key, 0xd3, 0x00, 0x20, 0, 0, 0, 0, 0, 1], // 2^53 + 1
      [0x81, ...key, 0xd4, 0x01, 0x02], // fixext 1
      [0x81, ...key, 0xd6, 0xff, 0, 0, 0, 1], // timestamp ext
      [0x81, ...key, 0xa2, 0xc3, 0x28], // invalid UTF-8, wanted
      [0x82, 0xa1, 0x78, 0xa2, 0xc3, 0x28, ...key, 0x01], // invalid UTF-8, skipped
      [0x81, 0x01, 0x02], // integer key
      [0x81, ...key, 0x01, 0xc0], // trailing byte
      [0x92, 0x01, 0x02], // an array
      [0xc0], // nil
      [0x81, ...key], // cut short
      [0x82, ...key, 0x01, ...key, 0xa1, 0x78], // a repeated name: the last wins
      [0x81, 0xa9, ...Buffer.from('__proto__'), 0x01], // __proto__
      [0x81, ...key, 0xc1], // never used
    ].map((bytes) => Uint8Array.from(bytes));
    for (const bytes of cases) agrees(projector, bytes);
    assert.notEqual(projector.project([cases[0]]), null, 'float32 is read');
    assert.notEqual(projector.project([cases[13]]), null, 'a repeated name is read');
    assert.equal(projector.project([cases[4]]), null, 'ext types are refused');
  });
});

describe('native frame projection', { skip: nativeAddon === null ? 'native addon not built' : false }, () => {
  const projector = createFieldProjector(FIELDS, 'frame') as FieldProjector;
  const codecs = fileURLToPath(new URL('../codecs/', import.meta.url));

  it('reads frames of random events, LZ4 or not, and agrees with decodeFrame on every field', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 20 }), fc.boolean(), (events, lz4) => {
        const frame = encodeFrame(events, { codec: lz4 ? 'lz4' : 'none' });
        const wellFormed = events.every((item) =>
          FIELDS.every((field) => {
            const value = item[field];
            return (
              value === undefined ||
              value === null ||
              typeof value === 'boolean' ||
              typeof value === 'number' ||
              (typeof value === 'string' && Buffer.from(value).toString() === value)
            );
          }),
        );
        if (wellFormed) assert.notEqual(projector.project([frame]), null, 'a frame of clean events is read');
        agrees(projector, frame);
      }),
      { numRuns: 1000 },
    );
  });

  it('agrees or refuses on the bad-frame corpus and on mutated payloads behind correct CRCs', () => {
    for (const folder of ['bad-frames', 'good-frames']) {
      for (const name of readdirSync(join(codecs, folder)).filter((file) => !file.endsWith('.json'))) {
        agrees(projector, readFileSync(join(codecs, folder, name)));
      }
    }
    const payloads = fc
      .tuple(fc.array(event, { minLength: 1, maxLength: 5 }), fc.integer({ min: -1, max: 1 }))
      .chain(([events, countShift]) =>
        mutations(fc.constant(Uint8Array.from(msgpack.pack(events)))).map((payload) =>
          craftFrame({ count: events.length + countShift, uncompressedLength: payload.length, payload }),
        ),
      );
    fc.assert(
      fc.property(payloads, (frame) => agrees(projector, frame)),
      { numRuns: 3000 },
    );
  });

  it('reads the events of several frames in order', () => {
    const first = encodeFrame([
      { user_id: 'a', ts: 1 },
      { user_id: 'b', ts: 2 },
    ]);
    const second = encodeFrame([{ user_id: 'c', ts: 3 }], { codec: 'none' });
    assert.deepEqual(
      projector.project([first, second])?.map((item: Record<string, unknown>) => item.user_id),
      ['a', 'b', 'c'],
    );
  });
});

const NONE = 0;
const GZIP = 1;
const LZ4 = 3;

/** An LZ4 record batch whose compressed records are cut short, into their last block. */
function lz4Damaged(batch: Buffer): Buffer {
  const cut = Buffer.from(batch.subarray(0, batch.length - 12));
  cut.writeInt32BE(cut.length - 12, 8);
  return cut;
}

interface TestRecord {
  value: string | null;
  headers?: Record<string, string>;
}

async function recordBatch(firstOffset: number, compression: number, records: TestRecord[]): Promise<Buffer> {
  const encoded = await RecordBatch({
    compression,
    firstOffset: String(firstOffset),
    lastOffsetDelta: records.length - 1,
    records: records.map((record, offsetDelta) =>
      Record({
        offsetDelta,
        key: null,
        value: record.value === null ? null : Buffer.from(record.value),
        headers: record.headers,
      }),
    ),
  });
  return encoded.buffer as Buffer;
}

describe('native JSON projection of Kafka record batches', {
  skip: nativeAddon === null ? 'native addon not built' : false,
}, () => {
  const projector = createFieldProjector(FIELDS, 'json') as FieldProjector;
  const event = (i: number) =>
    JSON.stringify({ user_id: `u${i % 7}`, ts: 1000 + i, amount: i / 4, page: '/p' });

  it('reads the records the TS reader reads, from the fetched offset on, LZ4 batches too', async () => {
    registerLz4Codec();
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 20 }), fc.constantFrom(NONE, LZ4)), {
          minLength: 1,
          maxLength: 5,
        }),
        fc.nat(40),
        fc.boolean(),
        async (sizes, skip, traced) => {
          const batches: Buffer[] = [];
          let offset = 100;
          for (const [size, compression] of sizes) {
            const records = Array.from({ length: size }, (_, i) => ({
              value: event(offset + i),
              ...(traced ? { headers: { traceparent: `t${i}` } } : {}),
            }));
            batches.push(await recordBatch(offset, compression, records));
            offset += size;
          }
          const bytes = new Uint8Array(Buffer.concat(batches));
          const from = 100 + skip;
          const read = projector.projectRecordBatches(bytes, String(from), DEAD_LETTER_HEADERS.code);
          const expected = projector.project(readRecordBatches(bytes, BigInt(from)).values);
          assert.ok(read !== null);
          assert.deepEqual(read, expected);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('leaves to the TS reader what only it decides', async () => {
    const plain = await recordBatch(0, 0, [{ value: event(0) }]);
    const cases: Array<[string, Buffer]> = [
      ['a tombstone', await recordBatch(0, 0, [{ value: event(0) }, { value: null }])],
      [
        'a dead letter',
        await recordBatch(0, 0, [
          { value: event(0), headers: { [DEAD_LETTER_HEADERS.code]: 'JSON_INVALID' } },
        ]),
      ],
      ['a gzip batch', await recordBatch(0, GZIP, [{ value: event(0) }])],
      ['an LZ4 batch that does not decompress', lz4Damaged(await recordBatch(0, LZ4, [{ value: event(0) }]))],
      ['a message JSON.parse refuses', await recordBatch(0, 0, [{ value: '{"ts":' }])],
      ['a cut batch', plain.subarray(0, plain.length - 3)],
    ];
    for (const [what, bytes] of cases) {
      assert.equal(
        projector.projectRecordBatches(new Uint8Array(bytes), '0', DEAD_LETTER_HEADERS.code),
        null,
        what,
      );
    }
    assert.equal(
      projector.projectRecordBatches(new Uint8Array(plain), String(2 ** 60), DEAD_LETTER_HEADERS.code),
      null,
    );
    assert.deepEqual(
      projector.projectRecordBatches(new Uint8Array(plain), '1', DEAD_LETTER_HEADERS.code),
      [],
    );
  });
});
