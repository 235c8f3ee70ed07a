import { crc32 } from 'node:zlib';

/**
 * One record of a gateway log segment: `u32 length | u32 crc32(payload) | payload`,
 * big-endian. The CRC is what tells a torn tail (a write cut by a crash) from a
 * complete record: scanning stops at the first record that is short or whose CRC
 * does not match, and everything from there on is cut off when the log opens.
 */

export const RECORD_HEADER_BYTES = 8;
/** A record larger than this is corruption, not data (the gateway's payload limit is far lower). */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

export function encodeRecord(payload: Uint8Array): Buffer {
  return Buffer.concat([encodeRecordHeader(payload), payload]);
}

/** The header that goes before `payload` on disk. */
export function encodeRecordHeader(payload: Uint8Array): Buffer {
  const header = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
  header.writeUInt32BE(payload.length, 0);
  header.writeUInt32BE(crc32(payload), 4);
  return header;
}

export interface ScannedRecords {
  /** Payloads of the complete, CRC-valid records, in order (views into the scanned buffer). */
  payloads: Buffer[];
  /** Byte offset just after the last valid record. */
  end: number;
  /** Why scanning stopped before the end of the buffer: a short record or a CRC mismatch. */
  stop: 'end' | 'short' | 'crc';
}

/**
 * Reads records from `buffer` starting at `start`, at most `maxRecords` of them.
 * A record that does not fit in the buffer stops the scan with `short` (a torn tail,
 * or simply the end of a read chunk); a CRC mismatch stops it with `crc`.
 */
export function scanRecords(
  buffer: Buffer,
  start = 0,
  maxRecords = Number.POSITIVE_INFINITY,
): ScannedRecords {
  const payloads: Buffer[] = [];
  let at = start;
  while (payloads.length < maxRecords) {
    if (at === buffer.length) return { payloads, end: at, stop: 'end' };
    if (buffer.length - at < RECORD_HEADER_BYTES) return { payloads, end: at, stop: 'short' };
    const length = buffer.readUInt32BE(at);
    if (length > MAX_RECORD_BYTES) return { payloads, end: at, stop: 'crc' };
    const payloadStart = at + RECORD_HEADER_BYTES;
    if (buffer.length - payloadStart < length) return { payloads, end: at, stop: 'short' };
    const payload = buffer.subarray(payloadStart, payloadStart + length);
    if (crc32(payload) !== buffer.readUInt32BE(at + 4)) return { payloads, end: at, stop: 'crc' };
    payloads.push(payload);
    at = payloadStart + length;
  }
  return { payloads, end: at, stop: 'end' };
}
