import { crc32 } from 'node:zlib';

/**
 * Builds frames byte by byte, with any header values, but with both CRCs right (unless
 * told otherwise) — so a test reaches the decoder's checks behind the CRCs. Test helper only.
 */
export interface CraftedFrame {
  magic?: string;
  version?: number;
  codec?: number;
  flags?: number;
  reserved?: number;
  count: number;
  uncompressedLength: number;
  payload: Uint8Array;
  batchId?: Uint8Array;
  /** Declared batch id length, when it should differ from the id's real length. */
  batchIdLength?: number;
}

export function craftFrame(spec: CraftedFrame): Buffer {
  const id = Buffer.from(spec.batchId ?? new Uint8Array(0));
  const header = Buffer.alloc(26 + id.length + 4);
  header.write(spec.magic ?? 'SLFR', 0, 'latin1');
  header[4] = spec.version ?? 1;
  header[5] = spec.codec ?? 0;
  header[6] = spec.flags ?? 0;
  header[7] = spec.reserved ?? 0;
  header.writeUInt32LE(spec.count, 8);
  header.writeUInt32LE(spec.uncompressedLength, 12);
  header.writeUInt32LE(spec.payload.length, 16);
  header.writeUInt32LE(crc32(spec.payload), 20);
  header.writeUInt16LE(spec.batchIdLength ?? id.length, 24);
  id.copy(header, 26);
  header.writeUInt32LE(crc32(header.subarray(0, 26 + id.length)), 26 + id.length);
  return Buffer.concat([header, spec.payload]);
}

/** Recomputes the header CRC of a frame whose header bytes were edited (batch id length unchanged). */
export function resealHeader(frame: Buffer): Buffer {
  const copy = Buffer.from(frame);
  const crcAt = 26 + copy.readUInt16LE(24);
  copy.writeUInt32LE(crc32(copy.subarray(0, crcAt)), crcAt);
  return copy;
}
