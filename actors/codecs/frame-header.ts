import { crc32 } from 'node:zlib';
import { type DecodeFailure, decodeFailure } from './decode-failure.ts';

/**
 * The sluice frame header, version 1 — layout, limits, reader and writer.
 * The byte-by-byte layout and the reasons behind it are in `frame-format.md` beside this
 * file; change both together, and bump `FRAME_VERSION` for any change of layout.
 */

/** `SLFR`: identifies a sluice frame; chosen to be readable in a hex dump. */
export const FRAME_MAGIC = Buffer.from('SLFR', 'latin1');
export const FRAME_VERSION = 1;
export const CODEC_NONE = 0;
export const CODEC_LZ4 = 1;
export type FrameCodec = 'none' | 'lz4';

/** Bytes before the batch id: magic 4, version, codec, flags, reserved, count, 3 lengths/CRC, id length. */
export const FIXED_HEADER_BYTES = 26;
/** The header CRC32 that follows the batch id. */
export const HEADER_CRC_BYTES = 4;
/** Smallest possible header (empty batch id). */
export const MIN_HEADER_BYTES = FIXED_HEADER_BYTES + HEADER_CRC_BYTES;
export const MAX_BATCH_ID_BYTES = 256;
/** A decoder allocates at most this much for one payload, whatever the header claims. */
export const MAX_UNCOMPRESSED_BYTES = 64 * 1024 * 1024;

export interface FrameHeader {
  readonly version: number;
  readonly codec: FrameCodec;
  readonly count: number;
  readonly uncompressedLength: number;
  readonly payloadLength: number;
  readonly payloadCrc: number;
  readonly batchId: string;
  /** Bytes of header, batch id and header CRC: where the payload starts. */
  readonly headerLength: number;
  /** headerLength + payloadLength: the whole frame. */
  readonly frameLength: number;
}

export type FrameHeaderResult = ({ ok: true } & FrameHeader) | ({ ok: false } & DecodeFailure);

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Largest LZ4 block (with lz4-napi's 4-byte size prefix) that can hold `length` input bytes. */
export function lz4Bound(length: number): number {
  return 4 + length + Math.floor(length / 255) + 16;
}

function fail(code: DecodeFailure['code'], reason: string): FrameHeaderResult {
  return { ok: false, ...decodeFailure(code, reason) };
}

/**
 * Reads and checks a frame's header without touching the payload, so the gateway can learn
 * the batch id and event count before decoding. Never throws. The header CRC is checked,
 * so a header that reads `ok` is the one the encoder wrote; the payload may still be bad.
 */
export function readFrameHeader(buf: Uint8Array): FrameHeaderResult {
  const magicBytes = Math.min(buf.length, FRAME_MAGIC.length);
  for (let i = 0; i < magicBytes; i++) {
    if (buf[i] !== FRAME_MAGIC[i]) return fail('FRAME_BAD_MAGIC', 'not a sluice frame: magic is not "SLFR"');
  }
  if (buf.length < 5) return fail('FRAME_TRUNCATED', `truncated header: ${buf.length} bytes`);
  if (buf[4] !== FRAME_VERSION) {
    return fail('FRAME_UNKNOWN_VERSION', `unknown frame version ${buf[4]} (this reader knows 1)`);
  }
  if (buf.length < MIN_HEADER_BYTES) return fail('FRAME_TRUNCATED', `truncated header: ${buf.length} bytes`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const idLength = view.getUint16(24, true);
  if (idLength > MAX_BATCH_ID_BYTES) {
    return fail('FRAME_BAD_HEADER', `batch id of ${idLength} bytes exceeds ${MAX_BATCH_ID_BYTES}`);
  }
  const headerLength = MIN_HEADER_BYTES + idLength;
  if (buf.length < headerLength) return fail('FRAME_TRUNCATED', `truncated header: ${buf.length} bytes`);
  const crcAt = FIXED_HEADER_BYTES + idLength;
  if (crc32(buf.subarray(0, crcAt)) !== view.getUint32(crcAt, true)) {
    return fail('FRAME_HEADER_CRC_MISMATCH', 'header CRC32 mismatch');
  }
  const codecByte = buf[5];
  if (codecByte !== CODEC_NONE && codecByte !== CODEC_LZ4) {
    return fail('FRAME_UNKNOWN_CODEC', `unknown codec ${codecByte} (0 none, 1 lz4)`);
  }
  if (buf[6] !== 0)
    return fail('FRAME_BAD_HEADER', `unknown flags 0x${buf[6].toString(16)} (version 1 has none)`);
  if (buf[7] !== 0) return fail('FRAME_BAD_HEADER', `reserved byte is ${buf[7]}, expected 0`);
  const count = view.getUint32(8, true);
  const uncompressedLength = view.getUint32(12, true);
  const payloadLength = view.getUint32(16, true);
  if (uncompressedLength > MAX_UNCOMPRESSED_BYTES) {
    return fail(
      'FRAME_TOO_LARGE',
      `payload of ${uncompressedLength} bytes exceeds ${MAX_UNCOMPRESSED_BYTES}`,
    );
  }
  const codec: FrameCodec = codecByte === CODEC_LZ4 ? 'lz4' : 'none';
  if (codec === 'none' && payloadLength !== uncompressedLength) {
    return fail(
      'FRAME_BAD_HEADER',
      `uncompressed payload of ${payloadLength} bytes declares ${uncompressedLength}`,
    );
  }
  if (codec === 'lz4' && payloadLength > lz4Bound(uncompressedLength)) {
    return fail(
      'FRAME_BAD_HEADER',
      `lz4 payload of ${payloadLength} bytes cannot hold ${uncompressedLength}`,
    );
  }
  // A msgpack array of n maps takes at least n + 1 bytes.
  if (count >= uncompressedLength) {
    return fail('FRAME_BAD_HEADER', `${count} events cannot fit in ${uncompressedLength} bytes`);
  }
  let batchId: string;
  try {
    batchId = strictUtf8.decode(buf.subarray(FIXED_HEADER_BYTES, crcAt));
  } catch {
    return fail('FRAME_BAD_HEADER', 'batch id is not valid UTF-8');
  }
  return {
    ok: true,
    version: FRAME_VERSION,
    codec,
    count,
    uncompressedLength,
    payloadLength,
    payloadCrc: view.getUint32(20, true),
    batchId,
    headerLength,
    frameLength: headerLength + payloadLength,
  };
}

/** Writes a version-1 header for `payload` into the start of `target`; returns the header length. */
export function writeFrameHeader(
  target: Buffer,
  fields: { codec: FrameCodec; count: number; uncompressedLength: number; payload: Uint8Array },
  batchId: Buffer,
): number {
  FRAME_MAGIC.copy(target, 0);
  target[4] = FRAME_VERSION;
  target[5] = fields.codec === 'lz4' ? CODEC_LZ4 : CODEC_NONE;
  target[6] = 0;
  target[7] = 0;
  target.writeUInt32LE(fields.count, 8);
  target.writeUInt32LE(fields.uncompressedLength, 12);
  target.writeUInt32LE(fields.payload.length, 16);
  target.writeUInt32LE(crc32(fields.payload), 20);
  target.writeUInt16LE(batchId.length, 24);
  batchId.copy(target, FIXED_HEADER_BYTES);
  const crcAt = FIXED_HEADER_BYTES + batchId.length;
  target.writeUInt32LE(crc32(target.subarray(0, crcAt)), crcAt);
  return crcAt + HEADER_CRC_BYTES;
}
