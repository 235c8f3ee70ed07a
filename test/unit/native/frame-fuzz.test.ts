/**
 * Malformed frames never crash the process and get the TS decoder's failure code from
 * the native addon: the bad-frame corpus of the codecs tests, then a bounded random
 * mutation run (flips, truncations, insertions, with and without repaired CRCs) that
 * reaches the LZ4 and msgpack readers behind the checks. The libFuzzer targets
 * (cargo-fuzz.test.ts) search the Rust side alone, coverage-guided; this harness checks
 * that both sides agree.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { compressSync } from 'lz4-napi';
import { decodeFrame, encodeFrame } from '../../../actors/codecs/frame.ts';
import { msgpack } from '../../../actors/codecs/msgpack-event.ts';
import {
  aggregateFrameNative,
  aggregateFrameTwin,
  type FrameSpec,
  nativeAddon,
} from '../../../native/index.ts';
import { craftFrame } from '../codecs/craft-frame.ts';

const codecs = fileURLToPath(new URL('../codecs/', import.meta.url));
const spec: FrameSpec = {
  fields: ['ts', 'k', 'v'],
  groupBy: 1,
  aggregates: [{ kind: 'count' }, { kind: 'sum', field: 2 }, { kind: 'last', field: 1 }],
  sizeMs: 10,
  allowedLatenessMs: 5,
  maxOutOfOrderMs: 2,
};

/** Codes where the addon only says "not mine": the batch goes to the TS decoder whole. */
const PAYLOAD_CODES = new Set(['FRAME_PAYLOAD_INVALID', 'FRAME_COUNT_MISMATCH']);

function tsCode(frame: Buffer): string | null {
  const decoded = decodeFrame(frame);
  return decoded.ok ? null : decoded.code;
}

/** The addon agrees with `decodeFrame` on `frame`, and aggregating it never throws. */
function checkAgainstTs(frame: Buffer): void {
  const addon = nativeAddon;
  assert.ok(addon !== null);
  const expected = tsCode(frame);
  const actual = addon.checkFrame(frame);
  if (actual !== null && PAYLOAD_CODES.has(actual) && (expected === null || PAYLOAD_CODES.has(expected))) {
    // Valid msgpack the addon leaves to msgpackr (ext types, odd strings) or the same refusal.
  } else assert.equal(actual, expected, `frame ${frame.toString('hex').slice(0, 120)}`);
  // A spec of its own: each side's key ids start afresh, whatever the other refused before.
  const alone = { ...spec };
  const batch = aggregateFrameNative(frame, alone, 0);
  if (batch.fallback === null) assert.equal(expected, null, 'a frame the addon read decodes in TS');
  const twin = aggregateFrameTwin(frame, alone, 0);
  if (batch.fallback === null && twin.fallback === null) assert.deepEqual(batch, twin);
}

const events = [
  { ts: 1, k: 'a', v: 1.5 },
  { ts: 12, k: 'b', v: 2, extra: [1, { x: null }], bin: new Uint8Array([1, 2]) },
  { ts: 3, k: 'é', v: -7, long: 'x'.repeat(300) },
];
const packed = msgpack.pack(events);

describe('native frame reader on malformed input', () => {
  it('gives every frame of the bad-frame corpus the code the TS decoder gives', (t) => {
    if (nativeAddon === null) return t.skip('native addon not built');
    const expected = JSON.parse(readFileSync(join(codecs, 'bad-frames', 'expected.json'), 'utf8')) as Record<
      string,
      string
    >;
    for (const [name, code] of Object.entries(expected)) {
      const frame = readFileSync(join(codecs, 'bad-frames', name));
      assert.equal(nativeAddon.checkFrame(frame), code, name);
      checkAgainstTs(frame);
    }
    for (const name of readdirSync(join(codecs, 'good-frames'))) {
      const frame = readFileSync(join(codecs, 'good-frames', name));
      assert.equal(nativeAddon.checkFrame(frame), null, name);
    }
  });

  it('agrees with the TS decoder on randomly mutated frames and never throws', (t) => {
    if (nativeAddon === null) return t.skip('native addon not built');
    const sources = [encodeFrame(events), encodeFrame(events, { codec: 'none', batchId: 'b-1' })];
    const mutation = fc.record({
      source: fc.integer({ min: 0, max: 1 }),
      edits: fc.array(
        fc.record({
          at: fc.nat(),
          byte: fc.integer({ min: 0, max: 255 }),
          kind: fc.integer({ min: 0, max: 3 }),
        }),
        { minLength: 1, maxLength: 4 },
      ),
    });
    fc.assert(
      fc.property(mutation, ({ source, edits }) => {
        let bytes = Buffer.from(sources[source]);
        for (const { at, byte, kind } of edits) {
          const index = at % Math.max(1, bytes.length);
          if (kind === 0) bytes[index] = byte;
          else if (kind === 1) bytes[index] ^= 1 << (byte % 8);
          else if (kind === 2) bytes = bytes.subarray(0, index);
          else bytes = Buffer.concat([bytes.subarray(0, index), Buffer.from([byte]), bytes.subarray(index)]);
        }
        checkAgainstTs(bytes);
      }),
      { numRuns: 3_000 },
    );
  });

  it('agrees with the TS decoder on mutated payloads behind correct CRCs', (t) => {
    if (nativeAddon === null) return t.skip('native addon not built');
    const mutation = fc.record({
      lz4: fc.boolean(),
      mutateCompressed: fc.boolean(),
      count: fc.integer({ min: 0, max: 5 }),
      edits: fc.array(
        fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), cut: fc.boolean() }),
        {
          minLength: 1,
          maxLength: 3,
        },
      ),
    });
    fc.assert(
      fc.property(mutation, ({ lz4, mutateCompressed, count, edits }) => {
        const mutate = (input: Buffer) => {
          let bytes = Buffer.from(input);
          for (const { at, byte, cut } of edits) {
            const index = at % Math.max(1, bytes.length);
            if (cut) bytes = bytes.subarray(0, index);
            else bytes[index] = byte;
          }
          return bytes;
        };
        let payload: Buffer;
        let uncompressedLength: number;
        if (!lz4) {
          payload = mutate(packed);
          uncompressedLength = payload.length;
        } else if (mutateCompressed) {
          payload = mutate(compressSync(packed));
          uncompressedLength = packed.length;
        } else {
          const inner = mutate(packed);
          payload = compressSync(inner);
          uncompressedLength = inner.length;
        }
        checkAgainstTs(craftFrame({ codec: lz4 ? 1 : 0, count, uncompressedLength, payload }));
      }),
      { numRuns: 3_000 },
    );
  });
});
