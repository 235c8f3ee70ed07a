import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { decodeFlatEventArray } from '../../../actors/codecs/flat-event-array.ts';
import { msgpack } from '../../../actors/codecs/msgpack-event.ts';
import { createGenerator } from '../../../actors/generator/index.ts';

/**
 * The fast reader must give exactly what msgpackr gives, or step aside (undefined). The
 * payloads are written byte by byte, so every encoding a producer in another language may
 * pick (str 8 keys, uint 64, float 32, map 16…) is covered, not only msgpackr's choices.
 */

const THREW = Symbol('threw');

function unpackOrThrew(bytes: Uint8Array): unknown {
  try {
    return msgpack.unpack(bytes);
  } catch {
    return THREW;
  }
}

/** The same value, the same key order, plain objects: what "what msgpackr gives" means here. */
function assertSameAsMsgpackr(bytes: Uint8Array): 'fast' | 'fallback' {
  const fast = decodeFlatEventArray(bytes);
  if (fast === undefined) return 'fallback';
  const expected = unpackOrThrew(bytes);
  assert.notEqual(expected, THREW, 'the fast reader accepted bytes msgpackr refuses');
  assert.ok(isDeepStrictEqual(fast, expected), 'the fast reader decoded other values than msgpackr');
  assert.ok(Array.isArray(expected));
  for (let index = 0; index < fast.length; index++) {
    assert.deepEqual(Object.keys(fast[index]), Object.keys(expected[index] as object));
    assert.equal(Object.getPrototypeOf(fast[index]), Object.prototype);
  }
  return 'fast';
}

const u8 = (value: number) => [value & 0xff];
const u16 = (value: number) => [(value >>> 8) & 0xff, value & 0xff];
const u32 = (value: number) => [...u16(value >>> 16), ...u16(value & 0xffff)];

function stringBytes(text: string, header: 'fix' | 8 | 16 | 32): number[] {
  const bytes = [...Buffer.from(text, 'utf8')];
  const length = bytes.length;
  if (header === 'fix' && length < 32) return [0xa0 + length, ...bytes];
  if (header === 8 || (header === 'fix' && length < 256)) return [0xd9, ...u8(length), ...bytes];
  if (header === 16) return [0xda, ...u16(length), ...bytes];
  return [0xdb, ...u32(length), ...bytes];
}

const headers = fc.constantFrom<'fix' | 8 | 16 | 32>('fix', 'fix', 8, 16, 32);
const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom('__proto__', '__proto_', 'constructor', '0', '1', '10', 'ts', 'user_id', 'é', '\u0000'),
);
const float64Bytes = (value: number) => {
  const buffer = Buffer.alloc(8);
  buffer.writeDoubleBE(value);
  return [...buffer];
};
const float32Bytes = (value: number) => {
  const buffer = Buffer.alloc(4);
  buffer.writeFloatBE(value);
  return [...buffer];
};

/** One msgpack value as bytes: mostly scalars, sometimes what the fast reader leaves to msgpackr. */
const valueBytes: fc.Arbitrary<number[]> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 0x7f }).map((value) => [value]) },
  { weight: 2, arbitrary: fc.integer({ min: -32, max: -1 }).map((value) => [value & 0xff]) },
  { weight: 1, arbitrary: fc.constantFrom<number[]>([0xc0], [0xc2], [0xc3], [0xc1]) },
  { weight: 2, arbitrary: fc.double().map((value) => [0xcb, ...float64Bytes(value)]) },
  { weight: 1, arbitrary: fc.float().map((value) => [0xca, ...float32Bytes(value)]) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constantFrom(0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3),
        fc.uint8Array({ minLength: 8, maxLength: 8 }),
      )
      .map(([token, bytes]) => [
        token,
        ...[...bytes].slice(0, { 204: 1, 205: 2, 206: 4, 207: 8, 208: 1, 209: 2, 210: 4, 211: 8 }[token]),
      ]),
  },
  { weight: 4, arbitrary: fc.tuple(text, headers).map(([value, header]) => stringBytes(value, header)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<number[]>(
      [0x90],
      [0x80],
      [0x91, 0x01],
      [0xc4, 0x01, 0x41],
      [0xd4, 0x01, 0x00],
    ),
  },
);

/** A map of `size` entries (keys may repeat or be non-strings now and then). */
const mapBytes = fc
  .array(
    fc.tuple(
      fc.oneof(
        { weight: 9, arbitrary: fc.tuple(text, headers).map(([key, header]) => stringBytes(key, header)) },
        {
          weight: 1,
          arbitrary: fc.constant([0x01]),
        },
      ),
      valueBytes,
    ),
    { maxLength: 6 },
  )
  .chain((entries) =>
    fc
      .constantFrom<number[]>(
        [0x80 + entries.length],
        [0xde, ...u16(entries.length)],
        [0xdf, ...u32(entries.length)],
      )
      .map((header) => [...header, ...entries.flatMap(([key, value]) => [...key, ...value])]),
  );

/** Events that mostly share one layout, as a producer writes them. */
const layoutEvents = fc
  .tuple(
    fc.uniqueArray(fc.string({ maxLength: 8 }), { minLength: 1, maxLength: 5 }),
    fc.integer({ min: 1, max: 30 }),
  )
  .chain(([keys, count]) =>
    fc
      .array(fc.array(valueBytes, { minLength: keys.length, maxLength: keys.length }), {
        minLength: count,
        maxLength: count,
      })
      .map((rows) =>
        rows.map((row) => [
          0x80 + keys.length,
          ...keys.flatMap((key, index) => [...stringBytes(key, 'fix'), ...row[index]]),
        ]),
      ),
  );

const payload = fc
  .oneof(fc.array(mapBytes, { maxLength: 8 }), layoutEvents)
  .chain((maps) =>
    fc
      .constantFrom<number[]>(
        [0x90 + Math.min(maps.length, 15)],
        [0xdc, ...u16(maps.length)],
        [0xdd, ...u32(maps.length)],
      )
      .map((header) =>
        Uint8Array.from([
          ...(maps.length > 15 && header[0] < 0xdc ? [0xdc, ...u16(maps.length)] : header),
          ...maps.flat(),
        ]),
      ),
  );

describe('the fast reader of frame payloads (flat events)', () => {
  it('decodes generator events itself, the same as msgpackr', () => {
    const generator = createGenerator({ keyField: 'user_id', keys: 500, seed: 7 });
    for (let round = 0; round < 5; round++) {
      const bytes = msgpack.pack(generator.nextBatch(1000).events);
      assert.equal(assertSameAsMsgpackr(bytes), 'fast');
    }
  });

  it('gives what msgpackr gives, or steps aside, for any array of maps', () => {
    fc.assert(
      fc.property(payload, (bytes) => {
        assertSameAsMsgpackr(bytes);
      }),
      { numRuns: 3000 },
    );
  });

  it('steps aside for truncated, extended or corrupted payloads that msgpackr refuses', () => {
    fc.assert(
      fc.property(payload, fc.nat(), fc.nat(255), (bytes, at, byte) => {
        const cut = bytes.subarray(0, at % (bytes.length + 1));
        const longer = Uint8Array.from([...bytes, byte]);
        const flipped = Uint8Array.from(bytes);
        if (flipped.length > 0) flipped[at % flipped.length] = byte;
        for (const variant of [cut, longer, flipped]) assertSameAsMsgpackr(variant);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps msgpackr key order for integer-like keys and the first place of each key', () => {
    const bytes = Uint8Array.from([
      0x91,
      0x83,
      ...stringBytes('b', 'fix'),
      0x01,
      ...stringBytes('2', 'fix'),
      0x02,
      ...stringBytes('a', 8),
      0x03,
    ]);
    assert.equal(assertSameAsMsgpackr(bytes), 'fast');
    assert.deepEqual(Object.keys(decodeFlatEventArray(bytes)![0]), ['2', 'b', 'a']);
  });

  it('leaves a repeated key, a __proto__ key and non-ASCII text to msgpackr', () => {
    const repeated = Uint8Array.from([
      0x91,
      0x82,
      ...stringBytes('a', 'fix'),
      0x01,
      ...stringBytes('a', 'fix'),
      0x02,
    ]);
    const proto = Uint8Array.from([0x91, 0x81, ...stringBytes('__proto__', 'fix'), 0x01]);
    const accented = Uint8Array.from([0x91, 0x81, ...stringBytes('a', 'fix'), ...stringBytes('é', 'fix')]);
    for (const bytes of [repeated, proto, accented]) {
      assert.equal(decodeFlatEventArray(bytes), undefined);
      assert.notEqual(unpackOrThrew(bytes), THREW);
    }
  });

  it('decodes 64-bit integers with msgpackr arithmetic, also past 2^53', () => {
    const big = [0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    const negative = [0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0x01];
    const bytes = Uint8Array.from([
      0x91,
      0x82,
      ...stringBytes('u', 'fix'),
      ...big,
      ...stringBytes('i', 'fix'),
      ...negative,
    ]);
    assert.equal(assertSameAsMsgpackr(bytes), 'fast');
  });
});
