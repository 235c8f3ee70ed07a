import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { decodeFrame, encodeFrame, FrameEncodeError, readFrameHeader } from '../../../actors/codecs/frame.ts';
import { msgpack } from '../../../actors/codecs/msgpack-event.ts';
import { craftFrame } from './craft-frame.ts';
import { badFrames, GOLDEN_EVENTS, goldenFrames } from './make-bad-frames.ts';

const corpusDir = fileURLToPath(new URL('./bad-frames/', import.meta.url));
const goldenDir = fileURLToPath(new URL('./good-frames/', import.meta.url));

// msgpackr renames a `__proto__` key (prototype-pollution guard), so round trips avoid it.
const fieldName = fc.string({ maxLength: 12 }).filter((key) => key !== '__proto__');
const fieldValue = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0)),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 4 }),
);
const event = fc.dictionary(fieldName, fieldValue, { maxKeys: 6, noNullPrototype: true });
const batchId = fc.string({ maxLength: 40 }).filter((id) => Buffer.byteLength(id) <= 256);
const codec = fc.constantFrom<'lz4' | 'none'>('lz4', 'none');

describe('sluice frame', () => {
  it('round-trips random event arrays and batch ids with both codecs', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 30 }), batchId, codec, (events, id, chosen) => {
        const decoded = decodeFrame(encodeFrame(events, { codec: chosen, batchId: id }));
        assert.deepEqual(decoded, { ok: true, events, batchId: id, count: events.length });
      }),
      { numRuns: 400 },
    );
  });

  it('reads batch id and count from the header before decoding the payload', () => {
    const frame = encodeFrame([{ a: 1 }, { a: 2 }, { a: 3 }], { batchId: 'client-42' });
    const header = readFrameHeader(frame);
    assert.equal(header.ok, true);
    if (!header.ok) return;
    assert.equal(header.batchId, 'client-42');
    assert.equal(header.count, 3);
    assert.equal(header.codec, 'lz4');
    assert.equal(header.frameLength, frame.length);
    assert.equal(header.headerLength, 30 + 'client-42'.length);
  });

  it('decodes from a plain Uint8Array and from a view at an offset into a larger buffer', () => {
    const frame = encodeFrame([{ user_id: 'u1', ts: 5 }], { batchId: 'x' });
    const padded = new Uint8Array(frame.length + 16);
    padded.set(frame, 7);
    const expected = { ok: true, events: [{ user_id: 'u1', ts: 5 }], batchId: 'x', count: 1 };
    assert.deepEqual(decodeFrame(padded.subarray(7, 7 + frame.length)), expected);
    assert.deepEqual(decodeFrame(new Uint8Array(frame)), expected);
  });

  it('compresses repetitive events with lz4', () => {
    const events = Array.from({ length: 1000 }, (_, i) => ({ user_id: `u${i % 10}`, ts: 1714564800000 + i }));
    assert.ok(encodeFrame(events).length * 2 < encodeFrame(events, { codec: 'none' }).length);
  });

  it('refuses to encode a batch id over 256 bytes', () => {
    assert.throws(
      () => encodeFrame([], { batchId: 'é'.repeat(129) }),
      (error) => error instanceof FrameEncodeError && error.code === 'SLUICE_ERR_FRAME_BATCH_ID_TOO_LONG',
    );
    assert.equal(decodeFrame(encodeFrame([], { batchId: 'x'.repeat(256) })).ok, true);
  });

  it('detects every single-byte corruption of a valid frame, with every possible new value', () => {
    for (const chosen of ['lz4', 'none'] as const) {
      const frame = encodeFrame([{ user_id: 'u7', ts: 1714564800000, amount: 1.5 }], {
        codec: chosen,
        batchId: 'b1',
      });
      for (let at = 0; at < frame.length; at++) {
        for (let flip = 1; flip < 256; flip++) {
          const corrupt = Buffer.from(frame);
          corrupt[at] ^= flip;
          const result = decodeFrame(corrupt);
          assert.equal(result.ok, false, `${chosen}: byte ${at} xor ${flip} went undetected`);
        }
      }
    }
  });

  it('detects a single-byte corruption anywhere in random frames', () => {
    fc.assert(
      fc.property(
        fc.array(event, { minLength: 1, maxLength: 10 }),
        batchId,
        codec,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (events, id, chosen, position, flip) => {
          const frame = encodeFrame(events, { codec: chosen, batchId: id });
          frame[position % frame.length] ^= flip;
          assert.equal(decodeFrame(frame).ok, false);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('reports every truncation of a valid frame as FRAME_TRUNCATED', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 10 }), batchId, codec, (events, id, chosen) => {
        const frame = encodeFrame(events, { codec: chosen, batchId: id });
        for (let length = 0; length < frame.length; length++) {
          const result = decodeFrame(frame.subarray(0, length));
          assert.equal(result.ok, false);
          if (!result.ok) assert.equal(result.code, 'FRAME_TRUNCATED', `length ${length}`);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('never throws on random bytes, with or without a valid magic and version', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, withMagic) => {
        const input = withMagic ? Buffer.concat([Buffer.from('SLFR\x01', 'latin1'), bytes]) : bytes;
        assert.equal(decodeFrame(input).ok, false);
        assert.equal(readFrameHeader(input).ok, false);
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on random payloads behind valid headers and CRCs', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 120 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 0, max: 1 }),
        (payload, count, uncompressedLength, codecByte) => {
          const frame = craftFrame({ codec: codecByte, count, uncompressedLength, payload });
          const result = decodeFrame(frame);
          if (result.ok) assert.equal(result.events.length, count);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('refuses each frame of the bad-frame corpus with its expected code', () => {
    const expected: Record<string, string> = JSON.parse(readFileSync(`${corpusDir}expected.json`, 'utf8'));
    const files = readdirSync(corpusDir).filter((name) => name.endsWith('.bin'));
    assert.deepEqual(files.sort(), Object.keys(expected).sort());
    for (const name of files) {
      const result = decodeFrame(readFileSync(corpusDir + name));
      assert.equal(result.ok, false, name);
      if (!result.ok) {
        assert.equal(result.code, expected[name], `${name}: ${result.reason}`);
        assert.ok(result.reason.length > 0);
      }
    }
  });

  it('keeps the committed corpus in step with the script that makes it', () => {
    for (const [name, { bytes }] of Object.entries(badFrames())) {
      assert.deepEqual(readFileSync(corpusDir + name), bytes, `${name}: rerun make-bad-frames.ts`);
    }
  });

  it('still decodes the committed golden version-1 frames', () => {
    assert.deepEqual(decodeFrame(readFileSync(`${goldenDir}golden-v1-lz4.bin`)), {
      ok: true,
      events: GOLDEN_EVENTS,
      batchId: 'golden-1',
      count: 2,
    });
    assert.deepEqual(decodeFrame(readFileSync(`${goldenDir}golden-v1-none.bin`)), {
      ok: true,
      events: GOLDEN_EVENTS,
      batchId: '',
      count: 2,
    });
    assert.equal(
      goldenFrames()['golden-v1-none.bin'].length,
      readFileSync(`${goldenDir}golden-v1-none.bin`).length,
    );
  });

  it('lays the header out byte by byte as frame-format.md documents', () => {
    const events = [{ a: 1 }];
    const frame = encodeFrame(events, { codec: 'none', batchId: 'b-1' });
    const payload = frame.subarray(33);
    assert.equal(frame.toString('latin1', 0, 4), 'SLFR');
    assert.deepEqual([...frame.subarray(4, 8)], [1, 0, 0, 0]);
    assert.equal(frame.readUInt32LE(8), 1);
    assert.equal(frame.readUInt32LE(12), payload.length);
    assert.equal(frame.readUInt32LE(16), payload.length);
    assert.equal(frame.readUInt32LE(20), crc32(payload));
    assert.equal(frame.readUInt16LE(24), 3);
    assert.equal(frame.toString('utf8', 26, 29), 'b-1');
    assert.equal(frame.readUInt32LE(29), crc32(frame.subarray(0, 29)));
    assert.deepEqual([...payload], [0x91, ...msgpack.pack({ a: 1 })]);
    const lz4 = encodeFrame(events, { codec: 'lz4' });
    assert.equal(lz4[5], 1);
    assert.equal(lz4.readUInt32LE(30), lz4.readUInt32LE(12), 'lz4 block starts with its uncompressed size');
  });
});

describe('sluice frame limits', () => {
  it('refuses to encode a payload over 64 MiB, telling the caller to split the batch', () => {
    const huge = { blob: 'x'.repeat(64 * 1024 * 1024) };
    assert.throws(
      () => encodeFrame([huge]),
      (error) => error instanceof FrameEncodeError && error.code === 'SLUICE_ERR_FRAME_TOO_LARGE',
    );
  });
});
