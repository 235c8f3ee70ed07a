import { crc32 } from 'node:zlib';
import { compressSync, uncompressSync } from 'lz4-napi';
import { SluiceError } from '../../runtime/errors.ts';
import { type DecodeFailure, decodeFailure, describeType, isPlainObject } from './decode-failure.ts';
import { decodeFlatEventArray } from './flat-event-array.ts';
import {
  type FrameCodec,
  MAX_BATCH_ID_BYTES,
  MAX_UNCOMPRESSED_BYTES,
  MIN_HEADER_BYTES,
  readFrameHeader,
  writeFrameHeader,
} from './frame-header.ts';
import { msgpack } from './msgpack-event.ts';

export type { FrameCodec, FrameHeader, FrameHeaderResult } from './frame-header.ts';
export { readFrameHeader } from './frame-header.ts';

/**
 * The sluice frame: a batch of events as one binary message — a checked header, then a
 * msgpack array of event maps, LZ4-compressed by default. Kafka `format: frame` messages
 * and binary gateway messages carry it. Layout: `frame-format.md`.
 */

export interface EncodeFrameOptions {
  /** `lz4` (default) compresses the payload as one LZ4 block; `none` stores it as is. */
  codec?: FrameCodec;
  /** The client's batch id, echoed in the gateway's ack; at most 256 UTF-8 bytes. */
  batchId?: string;
}

export type DecodedFrame =
  | { ok: true; events: Record<string, unknown>[]; batchId: string; count: number }
  | ({ ok: false } & DecodeFailure);

/** Raised by `encodeFrame` when the caller asks for a frame the format cannot carry. */
export class FrameEncodeError extends SluiceError {
  constructor(code: 'SLUICE_ERR_FRAME_BATCH_ID_TOO_LONG' | 'SLUICE_ERR_FRAME_TOO_LARGE', message: string) {
    super(code, message);
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * Encodes events as one frame. The events must be msgpack-serialisable plain objects;
 * throws `FrameEncodeError` for a batch id over 256 bytes or a payload over 64 MiB
 * (a caller error: split the batch), never for the events' content.
 */
export function encodeFrame(events: readonly object[], options: EncodeFrameOptions = {}): Buffer {
  const codec = options.codec ?? 'lz4';
  const batchId = options.batchId ? Buffer.from(options.batchId, 'utf8') : EMPTY;
  if (batchId.length > MAX_BATCH_ID_BYTES) {
    throw new FrameEncodeError(
      'SLUICE_ERR_FRAME_BATCH_ID_TOO_LONG',
      `batch id of ${batchId.length} bytes exceeds ${MAX_BATCH_ID_BYTES}`,
    );
  }
  const packed = msgpack.pack(events);
  if (packed.length > MAX_UNCOMPRESSED_BYTES) {
    throw new FrameEncodeError(
      'SLUICE_ERR_FRAME_TOO_LARGE',
      `${events.length} events take ${packed.length} bytes, over the frame limit of ${MAX_UNCOMPRESSED_BYTES}; split the batch`,
    );
  }
  const payload = codec === 'lz4' ? compressSync(packed) : packed;
  const frame = Buffer.allocUnsafe(MIN_HEADER_BYTES + batchId.length + payload.length);
  const fields = { codec, count: events.length, uncompressedLength: packed.length, payload };
  const headerLength = writeFrameHeader(frame, fields, batchId);
  frame.set(payload, headerLength);
  return frame;
}

function fail(code: DecodeFailure['code'], reason: string): DecodedFrame {
  return { ok: false, ...decodeFailure(code, reason) };
}

/**
 * Decodes one whole frame (exactly its bytes: trailing bytes are refused). Never throws:
 * every way a frame can be wrong — bad magic, unknown version or codec, truncation, lengths
 * past the limits (checked before anything is allocated), CRC mismatch, LZ4 or msgpack
 * errors, a payload that is not an array of `count` maps — is an `ok: false` with a code.
 */
export function decodeFrame(buf: Uint8Array): DecodedFrame {
  const header = readFrameHeader(buf);
  if (!header.ok) return header;
  if (buf.length < header.frameLength) {
    return fail('FRAME_TRUNCATED', `truncated payload: ${buf.length} of ${header.frameLength} bytes`);
  }
  if (buf.length > header.frameLength) {
    return fail('FRAME_TRAILING_BYTES', `${buf.length - header.frameLength} bytes after the frame`);
  }
  const bytes = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const payload = bytes.subarray(header.headerLength, header.frameLength);
  if (crc32(payload) !== header.payloadCrc)
    return fail('FRAME_PAYLOAD_CRC_MISMATCH', 'payload CRC32 mismatch');
  let packed: Buffer = payload;
  if (header.codec === 'lz4') {
    // lz4-napi allocates the size its 4-byte prefix declares: check it against the header first.
    if (payload.length < 4 || payload.readUInt32LE(0) !== header.uncompressedLength) {
      return fail('FRAME_DECOMPRESSION_FAILED', 'lz4 block size does not match the header');
    }
    try {
      packed = uncompressSync(payload);
    } catch (error) {
      return fail('FRAME_DECOMPRESSION_FAILED', `lz4: ${(error as Error).message}`);
    }
    if (packed.length !== header.uncompressedLength) {
      return fail(
        'FRAME_DECOMPRESSION_FAILED',
        `lz4 gave ${packed.length} bytes, header says ${header.uncompressedLength}`,
      );
    }
  }
  // The common payload (flat events) has a faster reader that gives what msgpackr gives.
  const flat = decodeFlatEventArray(packed);
  if (flat !== undefined) {
    if (flat.length !== header.count) {
      return fail('FRAME_COUNT_MISMATCH', `payload holds ${flat.length} events, header says ${header.count}`);
    }
    return { ok: true, events: flat, batchId: header.batchId, count: header.count };
  }
  let value: unknown;
  try {
    value = msgpack.unpack(packed);
  } catch (error) {
    return fail('FRAME_PAYLOAD_INVALID', `invalid msgpack: ${(error as Error).message}`);
  }
  if (!Array.isArray(value)) {
    return fail('FRAME_PAYLOAD_INVALID', `payload is ${describeType(value)}, expected an array of events`);
  }
  if (value.length !== header.count) {
    return fail('FRAME_COUNT_MISMATCH', `payload holds ${value.length} events, header says ${header.count}`);
  }
  for (let i = 0; i < value.length; i++) {
    if (!isPlainObject(value[i])) {
      return fail('FRAME_PAYLOAD_INVALID', `event ${i} is ${describeType(value[i])}, expected a map`);
    }
  }
  return {
    ok: true,
    events: value as Record<string, unknown>[],
    batchId: header.batchId,
    count: header.count,
  };
}
