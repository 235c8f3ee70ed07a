import { crc32 } from 'node:zlib';

/**
 * The snapshot file format, version 1 — header layout, body framing, and the checks
 * a reader makes. The byte-by-byte description is `snapshot-format.md` beside this
 * file; change both together and bump `SNAPSHOT_VERSION` for any change of layout.
 * This module is pure (bytes in, bytes out); `snapshot-file.ts` does the I/O.
 */

/** `SLUISNAP`: identifies a snapshot file, readable in a hex dump. */
export const SNAPSHOT_MAGIC = Buffer.from('SLUISNAP', 'latin1');
export const SNAPSHOT_VERSION = 1;
export const SNAPSHOT_HEADER_BYTES = 52;
/** Body item tags. */
export const TAG_NAMESPACE = 0x01;
export const TAG_ENTRY = 0x02;
/** One key or value is at most this long; a larger length is corruption, not data. */
export const MAX_FIELD_BYTES = 256 * 1024 * 1024;

export interface SnapshotHeader {
  version: number;
  checkpointId: number;
  /** The checkpoint record's `createdAt` (so the same state always gives the same file). */
  createdAt: number;
  entryCount: number;
  bodyLength: number;
  bodyCrc: number;
}

export function encodeSnapshotHeader(header: Omit<SnapshotHeader, 'version'>): Buffer {
  const out = Buffer.alloc(SNAPSHOT_HEADER_BYTES);
  SNAPSHOT_MAGIC.copy(out, 0);
  out.writeUInt16BE(SNAPSHOT_VERSION, 8);
  out.writeUInt16BE(0, 10);
  out.writeBigUInt64BE(BigInt(header.checkpointId), 12);
  out.writeBigUInt64BE(BigInt(header.createdAt), 20);
  out.writeBigUInt64BE(BigInt(header.entryCount), 28);
  out.writeBigUInt64BE(BigInt(header.bodyLength), 36);
  out.writeUInt32BE(header.bodyCrc >>> 0, 44);
  out.writeUInt32BE(crc32(out.subarray(0, 48)), 48);
  return out;
}

/** Parses and checks a header; returns the reason when it cannot be trusted. */
export function decodeSnapshotHeader(
  bytes: Buffer,
): { ok: true; header: SnapshotHeader } | { ok: false; reason: string } {
  if (bytes.length < SNAPSHOT_HEADER_BYTES) {
    return { ok: false, reason: `truncated header: ${bytes.length} of ${SNAPSHOT_HEADER_BYTES} bytes` };
  }
  if (!bytes.subarray(0, 8).equals(SNAPSHOT_MAGIC))
    return { ok: false, reason: 'bad magic (not a snapshot file)' };
  const version = bytes.readUInt16BE(8);
  if (version !== SNAPSHOT_VERSION) {
    return {
      ok: false,
      reason: `unknown snapshot version ${version} (this build reads ${SNAPSHOT_VERSION})`,
    };
  }
  if (crc32(bytes.subarray(0, 48)) !== bytes.readUInt32BE(48))
    return { ok: false, reason: 'header CRC mismatch' };
  if (bytes.readUInt16BE(10) !== 0) return { ok: false, reason: 'reserved flags set' };
  const fields = [12, 20, 28, 36].map((offset) => bytes.readBigUInt64BE(offset));
  if (fields.some((value) => value > BigInt(Number.MAX_SAFE_INTEGER))) {
    return { ok: false, reason: 'header field beyond 2^53' };
  }
  const [checkpointId, createdAt, entryCount, bodyLength] = fields.map(Number);
  return {
    ok: true,
    header: { version, checkpointId, createdAt, entryCount, bodyLength, bodyCrc: bytes.readUInt32BE(44) },
  };
}

/** The first body item: the msgpack checkpoint record, u32 length-prefixed. */
export function encodeRecordItem(record: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + record.length);
  out.writeUInt32BE(record.length, 0);
  record.copy(out, 4);
  return out;
}

/** Size of a namespace item for `name` (UTF-8 bytes). */
export function namespaceItemBytes(name: Buffer): number {
  return 3 + name.length;
}

/** Writes a namespace item at `offset`; returns the offset after it. */
export function writeNamespaceItem(target: Buffer, offset: number, name: Buffer): number {
  target[offset] = TAG_NAMESPACE;
  target.writeUInt16BE(name.length, offset + 1);
  name.copy(target, offset + 3);
  return offset + 3 + name.length;
}

export function entryItemBytes(key: Buffer, value: Buffer): number {
  return 9 + key.length + value.length;
}

/** Writes an entry item at `offset`; returns the offset after it. */
export function writeEntryItem(target: Buffer, offset: number, key: Buffer, value: Buffer): number {
  target[offset] = TAG_ENTRY;
  target.writeUInt32BE(key.length, offset + 1);
  key.copy(target, offset + 5);
  const valueAt = offset + 5 + key.length;
  target.writeUInt32BE(value.length, valueAt);
  value.copy(target, valueAt + 4);
  return valueAt + 4 + value.length;
}

/** Snapshot file name for a checkpoint id; zero-padded so names sort like ids. */
export function snapshotFileName(checkpointId: number): string {
  return `snapshot-${String(checkpointId).padStart(16, '0')}.snap`;
}

/** The checkpoint id a snapshot file name carries, or null for any other name. */
export function parseSnapshotFileName(name: string): number | null {
  const match = /^snapshot-(\d{16})\.snap$/.exec(name);
  return match === null ? null : Number(match[1]);
}
