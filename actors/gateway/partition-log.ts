import {
  closeSync,
  fsync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { encodeRecord, RECORD_HEADER_BYTES, scanRecords } from './log-record.ts';

const fsyncAsync = promisify(fsync);

/**
 * The log of one gateway partition: append-only segment files `<base offset>.log`
 * (20 digits, so names sort by offset) of records (`log-record.ts`). A position in
 * the log is a record index: record `n` is the n-th batch ever appended to this
 * partition, counting from 0 across segments; the partition actor's checkpoint stores
 * the last index it processed, like a Kafka offset.
 *
 * Opening scans the newest segment and cuts off a torn tail (a short record or a CRC
 * mismatch left by a crash). Appends are synchronous writes to the page cache (µs);
 * `sync()` makes them durable with an fsync on the libuv pool. Readers see only
 * records below `durableEnd`, so nothing is processed that a crash could take back
 * and hand out again under the same index.
 *
 * Threading model: main thread only. Life cycle: `open` → append/read/sync … → `close`.
 */
export interface PartitionLogOptions {
  segmentBytes: number;
  /** With `fsync: none` appends count as durable once written. */
  durableOnWrite: boolean;
}

interface Segment {
  base: number;
  path: string;
  bytes: number;
}

const SEGMENT_NAME = /^(\d{20})\.log$/;

function segmentName(base: number): string {
  return `${String(base).padStart(20, '0')}.log`;
}

export class PartitionLog {
  readonly dir: string;
  readonly #options: PartitionLogOptions;
  readonly #segments: Segment[];
  #fd: number;
  #end: number;
  #durableEnd: number;
  /** Sequential read cursor: the byte position in a segment of record `offset`. */
  #cursor: { offset: number; segment: number; byte: number } | null = null;
  #readFds = new Map<string, number>();
  #syncing = 0;
  #retired: number[] = [];
  /** How many bytes of the tail were cut off at open (a torn record). */
  readonly truncatedBytes: number;

  private constructor(
    dir: string,
    options: PartitionLogOptions,
    segments: Segment[],
    end: number,
    cut: number,
  ) {
    this.dir = dir;
    this.#options = options;
    this.#segments = segments;
    this.#end = end;
    this.#durableEnd = end;
    this.truncatedBytes = cut;
    this.#fd = openSync(segments[segments.length - 1].path, 'a');
  }

  static open(dir: string, options: PartitionLogOptions): PartitionLog {
    mkdirSync(dir, { recursive: true });
    const segments: Segment[] = readdirSync(dir)
      .map((name) => SEGMENT_NAME.exec(name))
      .filter((match) => match !== null)
      .map((match) => ({ base: Number(match[1]), path: join(dir, match[0]), bytes: 0 }))
      .sort((a, b) => a.base - b.base);
    for (const segment of segments) segment.bytes = statSync(segment.path).size;
    if (segments.length === 0) {
      const path = join(dir, segmentName(0));
      closeSync(openSync(path, 'a'));
      syncDirectory(dir);
      segments.push({ base: 0, path, bytes: 0 });
    }
    const last = segments[segments.length - 1];
    const scan = scanRecords(readFileSync(last.path));
    const cut = last.bytes - scan.end;
    if (cut > 0) {
      const fd = openSync(last.path, 'r+');
      ftruncateSync(fd, scan.end);
      fsyncSync(fd);
      closeSync(fd);
      last.bytes = scan.end;
    }
    return new PartitionLog(dir, options, segments, last.base + scan.payloads.length, cut);
  }

  /** Index the next appended record gets. */
  get end(): number {
    return this.#end;
  }

  /** Records below this index are durable and may be read. */
  get durableEnd(): number {
    return this.#durableEnd;
  }

  /** Index of the oldest record still on disk. */
  get start(): number {
    return this.#segments[0].base;
  }

  get bytes(): number {
    let total = 0;
    for (const segment of this.#segments) total += segment.bytes;
    return total;
  }

  /** Appends one record; returns its index. It is durable after the next `sync()` completes. */
  append(payload: Uint8Array): number {
    const current = this.#segments[this.#segments.length - 1];
    if (current.bytes >= this.#options.segmentBytes) this.#roll();
    const record = encodeRecord(payload);
    let written = 0;
    while (written < record.length) written += writeSync(this.#fd, record, written);
    this.#segments[this.#segments.length - 1].bytes += record.length;
    const offset = this.#end++;
    if (this.#options.durableOnWrite) this.#durableEnd = this.#end;
    return offset;
  }

  /** Makes every record appended so far durable. */
  async sync(): Promise<void> {
    const end = this.#end;
    this.#syncing++;
    try {
      await fsyncAsync(this.#fd);
    } finally {
      this.#syncing--;
      if (this.#syncing === 0) this.#closeRetired();
    }
    if (end > this.#durableEnd) this.#durableEnd = end;
  }

  /** Segment descriptors replaced by a roll, closed once no fsync may still use them. */
  #closeRetired(): void {
    for (const fd of this.#retired) closeSync(fd);
    this.#retired = [];
  }

  #roll(): void {
    fsyncSync(this.#fd);
    this.#retired.push(this.#fd);
    if (this.#syncing === 0) this.#closeRetired();
    this.#durableEnd = this.#end;
    const path = join(this.dir, segmentName(this.#end));
    this.#fd = openSync(path, 'a');
    syncDirectory(this.dir);
    this.#segments.push({ base: this.#end, path, bytes: 0 });
  }

  /**
   * Durable records from index `from` on, at most `maxBytes` of payload (but at least
   * one record when there is one). Sequential calls continue where the last one ended
   * without rescanning.
   */
  read(from: number, maxBytes: number): Buffer[] {
    if (from < this.start)
      throw new Error(`log ${this.dir}: record ${from} was deleted (oldest ${this.start})`);
    const payloads: Buffer[] = [];
    let offset = from;
    let budget = maxBytes;
    let position = this.#seek(from);
    while (offset < this.#durableEnd) {
      const segment = this.#segments[position.segment];
      if (position.byte >= segment.bytes) {
        position = { segment: position.segment + 1, byte: 0 };
        continue;
      }
      const fd = this.#readFd(segment.path);
      const header = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
      readSync(fd, header, 0, RECORD_HEADER_BYTES, position.byte);
      const length = header.readUInt32BE(0);
      if (payloads.length > 0 && length > budget) break;
      const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + length);
      readSync(fd, record, 0, record.length, position.byte);
      const scanned = scanRecords(record, 0, 1);
      if (scanned.payloads.length !== 1) throw new Error(`log ${segment.path}: corrupt record ${offset}`);
      payloads.push(scanned.payloads[0]);
      budget -= length;
      offset++;
      position = { segment: position.segment, byte: position.byte + record.length };
    }
    this.#cursor = { offset, ...position };
    return payloads;
  }

  #seek(offset: number): { segment: number; byte: number } {
    const cursor = this.#cursor;
    if (cursor !== null && cursor.offset === offset && this.#segments[cursor.segment]?.base <= offset)
      return { segment: cursor.segment, byte: cursor.byte };
    let segment = this.#segments.length - 1;
    while (segment > 0 && this.#segments[segment].base > offset) segment--;
    const scan = scanRecords(
      readFileSync(this.#segments[segment].path),
      0,
      offset - this.#segments[segment].base,
    );
    return { segment, byte: scan.end };
  }

  #readFd(path: string): number {
    let fd = this.#readFds.get(path);
    if (fd === undefined) {
      fd = openSync(path, 'r');
      this.#readFds.set(path, fd);
    }
    return fd;
  }

  /**
   * Deletes every segment whose records all lie below `offset` (a checkpoint covers
   * them). The newest segment is never deleted. Returns the bytes freed.
   */
  deleteBelow(offset: number): number {
    let freed = 0;
    while (this.#segments.length > 1 && this.#segments[1].base <= offset) {
      const [segment] = this.#segments.splice(0, 1);
      const fd = this.#readFds.get(segment.path);
      if (fd !== undefined) closeSync(fd);
      this.#readFds.delete(segment.path);
      unlinkSync(segment.path);
      freed += segment.bytes;
      if (this.#cursor !== null) this.#cursor = { ...this.#cursor, segment: this.#cursor.segment - 1 };
    }
    if (this.#cursor !== null && this.#cursor.segment < 0) this.#cursor = null;
    return freed;
  }

  close(): void {
    closeSync(this.#fd);
    this.#closeRetired();
    for (const fd of this.#readFds.values()) closeSync(fd);
    this.#readFds.clear();
  }
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
