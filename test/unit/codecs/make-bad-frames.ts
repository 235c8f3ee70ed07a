/**
 * Writes the corpus of bad frames in `bad-frames/`: one file per way a frame can be wrong,
 * and `expected.json` mapping each file to the failure code the decoder must return; plus, in
 * `good-frames/`, two golden valid frames that every later reader must still decode.
 * Run once after changing the format: `node --import tsx test/unit/codecs/make-bad-frames.ts`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compressSync } from 'lz4-napi';
import { encodeFrame } from '../../../actors/codecs/frame.ts';
import { msgpack } from '../../../actors/codecs/msgpack-event.ts';
import { craftFrame, resealHeader } from './craft-frame.ts';

export function badFrames(): Record<string, { bytes: Buffer; code: string }> {
  const events = [
    { user_id: 'u1', ts: 1714564800000, amount: 12.5, page: '/p/1' },
    { user_id: 'u2', ts: 1714564800001, amount: 3.25, page: '/p/2' },
  ];
  const good = encodeFrame(events, { batchId: 'batch-7' });
  const goodNone = encodeFrame(events, { codec: 'none', batchId: 'batch-7' });
  const packed = msgpack.pack(events);
  const headerLength = 30 + 'batch-7'.length;
  const withByte = (frame: Buffer, at: number, value: number) => {
    const copy = Buffer.from(frame);
    copy[at] = value;
    return copy;
  };
  const plain = (payload: Buffer, count: number) =>
    craftFrame({ count, uncompressedLength: payload.length, payload });
  const lz4Prefix = Buffer.from(compressSync(packed));
  lz4Prefix.writeUInt32LE(packed.length + 1, 0);
  const lz4Garbage = Buffer.concat([Buffer.from([packed.length, 0, 0, 0]), Buffer.from([0xf0, 0xff, 0xff])]);

  return {
    'empty.bin': { bytes: Buffer.alloc(0), code: 'FRAME_TRUNCATED' },
    'json-text.bin': { bytes: Buffer.from('{"user_id":"u1","ts":1}'), code: 'FRAME_BAD_MAGIC' },
    'version-2.bin': { bytes: withByte(good, 4, 2), code: 'FRAME_UNKNOWN_VERSION' },
    'truncated-header.bin': { bytes: good.subarray(0, 20), code: 'FRAME_TRUNCATED' },
    'truncated-batch-id.bin': { bytes: good.subarray(0, 32), code: 'FRAME_TRUNCATED' },
    'truncated-payload.bin': { bytes: good.subarray(0, good.length - 3), code: 'FRAME_TRUNCATED' },
    'trailing-bytes.bin': { bytes: Buffer.concat([good, Buffer.from([0])]), code: 'FRAME_TRAILING_BYTES' },
    'header-bit-flip.bin': { bytes: withByte(good, 9, good[9] ^ 0x01), code: 'FRAME_HEADER_CRC_MISMATCH' },
    'payload-bit-flip.bin': {
      bytes: withByte(good, headerLength + 5, good[headerLength + 5] ^ 0x80),
      code: 'FRAME_PAYLOAD_CRC_MISMATCH',
    },
    'unknown-codec.bin': { bytes: resealHeader(withByte(good, 5, 7)), code: 'FRAME_UNKNOWN_CODEC' },
    'flags-set.bin': { bytes: resealHeader(withByte(good, 6, 1)), code: 'FRAME_BAD_HEADER' },
    'reserved-set.bin': { bytes: resealHeader(withByte(good, 7, 9)), code: 'FRAME_BAD_HEADER' },
    'batch-id-too-long.bin': {
      bytes: craftFrame({ count: 2, uncompressedLength: packed.length, payload: packed, batchIdLength: 300 }),
      code: 'FRAME_BAD_HEADER',
    },
    'batch-id-not-utf8.bin': {
      bytes: craftFrame({
        count: 2,
        uncompressedLength: packed.length,
        payload: packed,
        batchId: Buffer.from([0xff, 0xfe]),
      }),
      code: 'FRAME_BAD_HEADER',
    },
    'declares-1-gib.bin': {
      bytes: craftFrame({ codec: 1, count: 2, uncompressedLength: 1 << 30, payload: lz4Garbage }),
      code: 'FRAME_TOO_LARGE',
    },
    'none-length-mismatch.bin': {
      bytes: craftFrame({ count: 2, uncompressedLength: packed.length + 1, payload: packed }),
      code: 'FRAME_BAD_HEADER',
    },
    'count-exceeds-bytes.bin': {
      bytes: craftFrame({ count: 1_000_000, uncompressedLength: packed.length, payload: packed }),
      code: 'FRAME_BAD_HEADER',
    },
    'lz4-size-prefix-mismatch.bin': {
      bytes: craftFrame({ codec: 1, count: 2, uncompressedLength: packed.length, payload: lz4Prefix }),
      code: 'FRAME_DECOMPRESSION_FAILED',
    },
    'lz4-garbage.bin': {
      bytes: craftFrame({ codec: 1, count: 2, uncompressedLength: packed.length, payload: lz4Garbage }),
      code: 'FRAME_DECOMPRESSION_FAILED',
    },
    'msgpack-truncated.bin': {
      bytes: plain(Buffer.from([0x92, 0x81, 0xa1]), 2),
      code: 'FRAME_PAYLOAD_INVALID',
    },
    'msgpack-trailing.bin': {
      bytes: plain(Buffer.concat([msgpack.pack([{ a: 1 }]), Buffer.from([0x00])]), 1),
      code: 'FRAME_PAYLOAD_INVALID',
    },
    'payload-is-map.bin': { bytes: plain(msgpack.pack({ a: 1, b: 2 }), 1), code: 'FRAME_PAYLOAD_INVALID' },
    'count-mismatch.bin': {
      bytes: plain(msgpack.pack([{ a: 1 }, { a: 2 }]), 3),
      code: 'FRAME_COUNT_MISMATCH',
    },
    'element-not-map.bin': {
      bytes: plain(msgpack.pack([{ a: 1 }, [1, 2]]), 2),
      code: 'FRAME_PAYLOAD_INVALID',
    },
    'element-is-number.bin': { bytes: plain(msgpack.pack([7]), 1), code: 'FRAME_PAYLOAD_INVALID' },
    // msgpackr refuses a map key that is an array (or a map, or binary) at any depth: {a: {[1]: 2}}.
    'nested-array-key.bin': {
      bytes: plain(Buffer.from([0x91, 0x81, 0xa1, 0x61, 0x81, 0x91, 0x01, 0x02]), 1),
      code: 'FRAME_PAYLOAD_INVALID',
    },
    'array-key.bin': {
      bytes: plain(Buffer.from([0x91, 0x81, 0x91, 0x6b, 0x01]), 1),
      code: 'FRAME_PAYLOAD_INVALID',
    },
    'good-none-with-magic-typo.bin': { bytes: withByte(goodNone, 3, 0x51), code: 'FRAME_BAD_MAGIC' },
  };
}

/** Events of the golden (valid) version-1 frames, kept so later readers prove they still read v1. */
export const GOLDEN_EVENTS = [
  { user_id: 'u1', ts: 1714564800000, amount: 12.5, page: '/p/1' },
  { user_id: 'ü2', ts: 1714564800001, amount: -3, page: '/p/2', tags: ['a', 'b'], ok: true, none: null },
];

export function goldenFrames(): Record<string, Buffer> {
  return {
    'golden-v1-lz4.bin': encodeFrame(GOLDEN_EVENTS, { codec: 'lz4', batchId: 'golden-1' }),
    'golden-v1-none.bin': encodeFrame(GOLDEN_EVENTS, { codec: 'none', batchId: '' }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = fileURLToPath(new URL('./bad-frames/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const expected: Record<string, string> = {};
  for (const [name, { bytes, code }] of Object.entries(badFrames())) {
    writeFileSync(dir + name, bytes);
    expected[name] = code;
  }
  const goodDir = fileURLToPath(new URL('./good-frames/', import.meta.url));
  mkdirSync(goodDir, { recursive: true });
  for (const [name, bytes] of Object.entries(goldenFrames())) writeFileSync(goodDir + name, bytes);
  writeFileSync(`${dir}expected.json`, `${JSON.stringify(expected, null, 2)}\n`);
  console.log(`wrote ${Object.keys(expected).length} bad frames to ${dir}`);
}
