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
import { encodeRecordHeader, RECORD_HEADER_BYTES, scanRecords } from './log-record.ts';

const fsyncAsync = promisify(fsync);

/**
 * The log of one gateway partition: append-only segment files `<base offset>.log`
 * (20 digits, so names sort by offset) of records (`log-record.ts`). A position in
 * the log is a record index: record `n` is the n-th batch ever appended to this
 * partition, counting from 0 across segments; the partition actor's checkpoint stores
 * the last index it processed, like a Kafka offset.
 *
 * Opening scans the newest segment and cuts off a torn tail (a short record or a CRC
 * mismatch left by a crash). Appends are collected in memory and handed to the OS
 * together by `write()` (one write call however many records: the per-record system
 * call was the gateway's largest fixed cost per message); `sync()` writes them and makes
 * them durable with an fsync on the libuv pool. Readers see only records below
 * `durableEnd`, so nothing is processed that a crash could take back and hand out again
 * under the same index.
 *
 * The newest records' payloads stay in memory (at most `tailBytes`), so the feeder that
 * follows the log reads what was just made durable without a read call or a second CRC
 * check; a feeder that fell further behind reads from disk.
 *
 * Threading model: main thread only. Life cycle: `open` → append/read/sync … → `close`.
 */
export interface PartitionLogOptions {
  segmentBytes: number;
  /** With `fsync: none` appends count as durable once written. */
  durableOnWrite: boolean;
  /** Payload bytes of the newest records kept in memory for readers (default 2 MiB). */
  tailBytes?: number;
}

/** A record kept in memory: its payload, and where the next record starts on disk. */
interface TailRecord {
  payload: Buffer;
  segmentBase: number;
  nextByte: number;
}

const DEFAULT_TAIL_BYTES = 2 * 1024 * 1024;

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
  /** Encoded records appended since the last `write()`. */
  #unwritten: Buffer[] = [];
  /** The newest records, `#tail[i]` being record `#tailStart + i` (from `#tailHead` on). */
  #tail: TailRecord[] = [];
  #tailHead = 0;
  #tailStart: number;
  #tailBytes = 0;
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
    this.#tailStart = end;
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

  /**
   * Appends one record; returns its index. It reaches the OS with the next `write()` and
   * is durable after the next `sync()` completes. `payload` must not change afterwards.
   */
  append(payload: Buffer): number {
    if (this.#segments[this.#segments.length - 1].bytes >= this.#options.segmentBytes) this.#roll();
    const segment = this.#segments[this.#segments.length - 1];
    const header = encodeRecordHeader(payload);
    this.#unwritten.push(header, payload);
    segment.bytes += header.length + payload.length;
    this.#keep({ payload, segmentBase: segment.base, nextByte: segment.bytes });
    return this.#end++;
  }

  /** Hands every appended record to the OS in one write; with `durableOnWrite` they are durable now. */
  write(): void {
    if (this.#unwritten.length === 0) return;
    const chunk = this.#unwritten.length === 1 ? this.#unwritten[0] : Buffer.concat(this.#unwritten);
    this.#unwritten = [];
    let written = 0;
    while (written < chunk.length) written += writeSync(this.#fd, chunk, written);
    if (this.#options.durableOnWrite) this.#durableEnd = this.#end;
  }

  #keep(record: TailRecord): void {
    const limit = this.#options.tailBytes ?? DEFAULT_TAIL_BYTES;
    this.#tail.push(record);
    this.#tailBytes += record.payload.length;
    while (this.#tailBytes > limit && this.#tailHead < this.#tail.length) this.#dropTail();
  }

  #dropTail(): void {
    this.#tailBytes -= this.#tail[this.#tailHead].payload.length;
    this.#tailHead++;
    this.#tailStart++;
    if (this.#tailHead >= 1024 && this.#tailHead * 2 >= this.#tail.length) {
      this.#tail = this.#tail.slice(this.#tailHead);
      this.#tailHead = 0;
    }
  }

  /** Writes, then makes every record appended so far durable. */
  async sync(): Promise<void> {
    this.write();
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
    this.write();
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
    if (from >= this.#tailStart) return this.#readTail(from, maxBytes);
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

  /** `read` from the records in memory; what it returns is dropped from them (reads move forward). */
  #readTail(from: number, maxBytes: number): Buffer[] {
    while (this.#tailStart < from) this.#dropTail();
    const payloads: Buffer[] = [];
    let budget = maxBytes;
    let last: TailRecord | null = null;
    while (this.#tailStart < this.#durableEnd) {
      const record = this.#tail[this.#tailHead];
      if (payloads.length > 0 && record.payload.length > budget) break;
      payloads.push(record.payload);
      budget -= record.payload.length;
      last = record;
      this.#dropTail();
    }
    if (last !== null) {
      // The disk cursor follows, so a later read that misses memory continues without a scan.
      const segment = this.#segments.findLastIndex((candidate) => candidate.base === last.segmentBase);
      this.#cursor = segment < 0 ? null : { offset: this.#tailStart, segment, byte: last.nextByte };
    }
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
    this.write();
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
