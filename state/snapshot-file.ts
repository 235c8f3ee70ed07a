import { type FileHandle, open, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import {
  decodeSnapshotHeader,
  encodeRecordItem,
  encodeSnapshotHeader,
  entryItemBytes,
  MAX_FIELD_BYTES,
  namespaceItemBytes,
  SNAPSHOT_HEADER_BYTES,
  type SnapshotHeader,
  TAG_ENTRY,
  TAG_NAMESPACE,
  writeEntryItem,
  writeNamespaceItem,
} from './snapshot-format.ts';
import { SnapshotInvalidError, StateError } from './state-errors.ts';

/**
 * Reading and writing one snapshot file (the layout itself is `snapshot-format.ts`).
 * Both directions stream through a fixed buffer, so a snapshot of any size costs
 * about a megabyte of memory. Writes are crash-safe: temp file, fsync, rename,
 * directory fsync — a reader sees the old set of files or the new one, never half a file.
 */

const CHUNK_BYTES = 1024 * 1024;

/** Streams body items into a temp file; `commit()` makes it the final file atomically. */
export class SnapshotFileWriter {
  private buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;
  private written = SNAPSHOT_HEADER_BYTES;
  private bodyCrc = 0;
  private entries = 0;
  private currentNamespace: Buffer | null = null;

  private constructor(
    private readonly handle: FileHandle,
    private readonly tempPath: string,
  ) {}

  /** Opens `tempPath` (replacing any leftover) and writes the checkpoint record item. */
  static async create(tempPath: string, record: Buffer): Promise<SnapshotFileWriter> {
    const handle = await open(tempPath, 'w');
    const writer = new SnapshotFileWriter(handle, tempPath);
    const item = encodeRecordItem(record);
    writer.reserve(item.length);
    item.copy(writer.buffer, writer.used);
    writer.used += item.length;
    return writer;
  }

  /**
   * Adds one entry (entries of a namespace must come together). Synchronous for speed;
   * returns true when the buffer is full and the caller must `await flush()` first.
   */
  add(namespace: Buffer, key: Buffer, value: Buffer): boolean {
    if (this.currentNamespace === null || !this.currentNamespace.equals(namespace)) {
      this.reserve(namespaceItemBytes(namespace));
      this.used = writeNamespaceItem(this.buffer, this.used, namespace);
      this.currentNamespace = Buffer.from(namespace);
    }
    this.reserve(entryItemBytes(key, value));
    this.used = writeEntryItem(this.buffer, this.used, key, value);
    this.entries += 1;
    return this.used >= CHUNK_BYTES - 64;
  }

  async flush(): Promise<void> {
    if (this.used === 0) return;
    const chunk = this.buffer.subarray(0, this.used);
    this.bodyCrc = crc32(chunk, this.bodyCrc);
    await writeFully(this.handle, chunk, this.written);
    this.written += this.used;
    if (this.buffer.length > CHUNK_BYTES) this.buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    this.used = 0;
  }

  /** Writes the header, fsyncs, renames onto `finalPath` and fsyncs the directory. */
  async commit(
    finalPath: string,
    checkpointId: number,
    createdAt: number,
  ): Promise<{ bytes: number; entries: number }> {
    try {
      await this.flush();
      const bodyLength = this.written - SNAPSHOT_HEADER_BYTES;
      const header = encodeSnapshotHeader({
        checkpointId,
        createdAt,
        entryCount: this.entries,
        bodyLength,
        bodyCrc: this.bodyCrc,
      });
      await writeFully(this.handle, header, 0);
      await this.handle.sync();
    } finally {
      await this.handle.close();
    }
    await rename(this.tempPath, finalPath);
    await syncDirectory(dirname(finalPath));
    return { bytes: this.written, entries: this.entries };
  }

  /** Gives up: closes and deletes the temp file. */
  async abort(): Promise<void> {
    await this.handle.close().catch(() => {});
    await unlink(this.tempPath).catch(() => {});
  }

  /** Makes room for `bytes` more; `add` is synchronous and cannot flush, so the buffer grows instead. */
  private reserve(bytes: number): void {
    if (this.used + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.used + bytes));
    this.buffer.copy(grown, 0, 0, this.used);
    this.buffer = grown;
  }
}

/** What a full read of a snapshot hands to its consumer. */
export interface SnapshotVisitor {
  /** The encoded checkpoint record (first body item). */
  onRecord?(record: Buffer): void | Promise<void>;
  /** One entry; buffers are the caller's to keep. A returned promise is awaited before reading on. */
  onEntry?(namespace: string, key: Buffer, value: Buffer): void | Promise<void>;
}

/**
 * Reads a whole snapshot, checking header, lengths, framing, entry count and body CRC.
 * Throws `SnapshotInvalidError` with the reason on the first problem. Items are
 * delivered as they are read: a consumer that must not act on a corrupt file
 * verifies first (`verifySnapshotFile`), then reads.
 */
export async function readSnapshotFile(file: string, visitor: SnapshotVisitor = {}): Promise<SnapshotHeader> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw new SnapshotInvalidError(file, `cannot open: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  try {
    const size = (await handle.stat()).size;
    const headerBytes = Buffer.alloc(SNAPSHOT_HEADER_BYTES);
    const { bytesRead } = await handle.read(headerBytes, 0, SNAPSHOT_HEADER_BYTES, 0);
    const decoded = decodeSnapshotHeader(headerBytes.subarray(0, bytesRead));
    if (!decoded.ok) throw new SnapshotInvalidError(file, decoded.reason);
    const header = decoded.header;
    const expected = SNAPSHOT_HEADER_BYTES + header.bodyLength;
    if (size < expected) throw new SnapshotInvalidError(file, `truncated: ${size} of ${expected} bytes`);
    if (size > expected)
      throw new SnapshotInvalidError(file, `${size - expected} trailing bytes after the body`);
    const reader = new BodyReader(handle, file, header.bodyLength);
    try {
      await readBody(reader, header, visitor);
    } catch (error) {
      // A framing error is usually a flipped bit: name the root cause when the CRC says so.
      if (error instanceof SnapshotInvalidError && (await reader.drainCrc()) !== header.bodyCrc) {
        throw new SnapshotInvalidError(file, 'body CRC mismatch');
      }
      throw error;
    }
    if (reader.crc !== header.bodyCrc) throw new SnapshotInvalidError(file, 'body CRC mismatch');
    return header;
  } finally {
    await handle.close();
  }
}

export type SnapshotVerification =
  | { valid: true; header: SnapshotHeader; bytes: number }
  | { valid: false; reason: string; bytes: number };

/** Full check of a snapshot file without using its content; never throws for a bad file. */
export async function verifySnapshotFile(file: string): Promise<SnapshotVerification> {
  const bytes = await stat(file).then(
    (info) => info.size,
    () => 0,
  );
  try {
    const header = await readSnapshotFile(file);
    return { valid: true, header, bytes };
  } catch (error) {
    if (error instanceof SnapshotInvalidError) return { valid: false, reason: error.reason, bytes };
    return { valid: false, reason: (error as Error).message ?? String(error), bytes };
  }
}

async function readBody(reader: BodyReader, header: SnapshotHeader, visitor: SnapshotVisitor): Promise<void> {
  const recordLength = (await reader.need(4)).readUInt32BE(reader.start);
  reader.start += 4;
  if (recordLength > MAX_FIELD_BYTES) reader.fail(`checkpoint record length ${recordLength} is implausible`);
  await reader.need(recordLength);
  const record = reader.buffer.subarray(reader.start, reader.start + recordLength);
  reader.start += recordLength;
  await visitor.onRecord?.(record);
  let namespace: string | null = null;
  let entries = 0;
  while (!reader.atEnd()) {
    // Parse every complete item already buffered without awaiting (the hot loop);
    // `required` is how many bytes the first incomplete item needs.
    const buffer = reader.buffer;
    const end = reader.end;
    let position = reader.start;
    let required = 0;
    while (required === 0) {
      const available = end - position;
      if (available < 1) {
        required = 1;
        break;
      }
      const tag = buffer[position];
      if (tag === TAG_ENTRY) {
        if (available < 5) required = 5;
        else {
          const keyLength = buffer.readUInt32BE(position + 1);
          if (keyLength > MAX_FIELD_BYTES) reader.fail(`key length ${keyLength} is implausible`);
          if (available < 9 + keyLength) required = 9 + keyLength;
          else {
            const valueLength = buffer.readUInt32BE(position + 5 + keyLength);
            if (valueLength > MAX_FIELD_BYTES) reader.fail(`value length ${valueLength} is implausible`);
            const size = 9 + keyLength + valueLength;
            if (available < size) required = size;
            else {
              if (namespace === null) reader.fail('entry before any namespace');
              const keyStart = position + 5;
              const valueStart = keyStart + keyLength + 4;
              position += size;
              entries += 1;
              const pending = visitor.onEntry?.(
                namespace as string,
                buffer.subarray(keyStart, keyStart + keyLength),
                buffer.subarray(valueStart, valueStart + valueLength),
              );
              if (pending !== undefined) {
                reader.start = position;
                await pending;
              }
            }
          }
        }
      } else if (tag === TAG_NAMESPACE) {
        if (available < 3) required = 3;
        else {
          const length = buffer.readUInt16BE(position + 1);
          if (available < 3 + length) required = 3 + length;
          else {
            namespace = buffer.toString('utf8', position + 3, position + 3 + length);
            position += 3 + length;
          }
        }
      } else {
        reader.fail(`unknown item tag ${tag}`);
      }
    }
    reader.start = position;
    if (reader.atEnd()) break;
    await reader.need(required);
  }
  if (entries !== header.entryCount)
    reader.fail(`header counts ${header.entryCount} entries, body holds ${entries}`);
}

/**
 * Sequential reader of exactly `bodyLength` bytes after the header, keeping a running
 * CRC. Every refill moves to a new buffer and never writes into an old one, so the
 * sub-arrays handed to visitors stay valid for as long as they are kept.
 */
class BodyReader {
  crc = 0;
  start = 0;
  end = 0;
  buffer: Buffer = Buffer.alloc(0);
  private position = SNAPSHOT_HEADER_BYTES;
  private remaining: number;

  constructor(
    private readonly handle: FileHandle,
    private readonly file: string,
    bodyLength: number,
  ) {
    this.remaining = bodyLength;
  }

  atEnd(): boolean {
    return this.start === this.end && this.remaining === 0;
  }

  fail(reason: string): never {
    throw new SnapshotInvalidError(this.file, reason);
  }

  /** Ensures `count` bytes are buffered at `start`; returns the buffer. */
  async need(count: number): Promise<Buffer> {
    if (this.end - this.start >= count) return this.buffer;
    const kept = this.end - this.start;
    if (kept + this.remaining < count) this.fail('body ends inside an item');
    const target = Buffer.allocUnsafe(Math.max(count, CHUNK_BYTES));
    this.buffer.copy(target, 0, this.start, this.end);
    this.buffer = target;
    this.start = 0;
    this.end = kept;
    while (this.end < target.length && this.remaining > 0) {
      const room = Math.min(target.length - this.end, this.remaining);
      const { bytesRead } = await this.handle.read(target, this.end, room, this.position);
      if (bytesRead === 0) this.fail('file shrank while being read');
      this.crc = crc32(target.subarray(this.end, this.end + bytesRead), this.crc);
      this.end += bytesRead;
      this.position += bytesRead;
      this.remaining -= bytesRead;
    }
    return this.buffer;
  }

  /** Reads the rest of the body only to finish the CRC. */
  async drainCrc(): Promise<number> {
    const scratch = Buffer.allocUnsafe(CHUNK_BYTES);
    while (this.remaining > 0) {
      const { bytesRead } = await this.handle.read(
        scratch,
        0,
        Math.min(scratch.length, this.remaining),
        this.position,
      );
      if (bytesRead === 0) break;
      this.crc = crc32(scratch.subarray(0, bytesRead), this.crc);
      this.position += bytesRead;
      this.remaining -= bytesRead;
    }
    return this.crc;
  }
}

async function writeFully(handle: FileHandle, data: Buffer, position: number): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset, position + offset);
    if (bytesWritten === 0) throw new StateError('SLUICE_ERR_STATE_IO', 'write made no progress');
    offset += bytesWritten;
  }
}

/** fsync of a directory, so a rename or unlink in it survives a power cut. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
