/**
 * Raw record batches: the kafka source's fetched records reach the partition's worker as
 * the broker sent them, so the main thread does no per-record work.
 *
 * kafkajs decodes every record of a Fetch response on the main thread into an object
 * (offset through its Long type, key and value Buffers, headers) — measured at several µs
 * per record, which bounded every kafkajs consumer at one JSON event per message. For a
 * client made with `rawFetchSocketFactory()`, the Fetch response (v11, what Kafka ≥ 2.3
 * answers) is instead decoded here into ONE stand-in message per record batch: its
 * `offset` is the batch's last offset, `records` the batch's bytes as fetched (header
 * included, compressed or not). Everything kafkajs does with messages works on those
 * stand-ins — the offset filter, `lastOffset()`, control batches (still flagged
 * `isControlRecord` and kept for the offset) — and read_committed filtering is per batch
 * anyway: a record batch belongs to one producer's transaction (read-committed.ts).
 * The worker then reads the records out of the bytes (`readRecordBatches`), decompressing
 * gzip or LZ4 there, and skips records before the fetched offset.
 *
 * What the stand-ins cannot carry falls back to kafkajs's own decoding for that partition
 * (and so behaves exactly as before): message sets older than the v2 format, and codecs
 * this process does not read (snappy, zstd). Other Fetch versions are left to kafkajs.
 *
 * Scope: only connections whose client was built with the raw socket factory (the source's
 * consumer); every other kafkajs client in the process sees ordinary messages.
 */
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import type kafkajs from 'kafkajs';
import { decompressFrameSync } from 'lz4-napi';
import { type FetchedMessage, flagAbortedRecords } from './read-committed.ts';

const require = createRequire(import.meta.url);

/** Record batch layout (magic 2): byte positions in the batch and its header size. */
const MAGIC_AT = 16;
const ATTRIBUTES_AT = 21;
const LAST_OFFSET_DELTA_AT = 23;
const FIRST_TIMESTAMP_AT = 27;
const PRODUCER_ID_AT = 43;
const RECORD_COUNT_AT = 57;
const HEADER_BYTES = 61;
const CODEC_MASK = 0x07;
const TRANSACTIONAL_FLAG = 0x10;
const CONTROL_FLAG = 0x20;
const CODEC_NONE = 0;
const CODEC_GZIP = 1;
const CODEC_LZ4 = 3;

/** A record batch as a kafkajs message stand-in. */
export interface RecordBatchMessage extends FetchedMessage {
  value: null;
  timestamp: string;
  headers: Record<string, never>;
  /** The whole record batch as fetched; null for a control batch. */
  records: Uint8Array | null;
}

const rawFactories = new WeakSet<object>();
let installed = false;

/**
 * A socket factory (kafkajs's default: TCP with keep-alive) that marks the client built
 * with it as a raw-record-batch consumer.
 */
export function rawFetchSocketFactory(): kafkajs.ISocketFactory {
  installRawFetch();
  const base = (require('kafkajs/src/network/socketFactory.js') as () => kafkajs.ISocketFactory)();
  const factory: kafkajs.ISocketFactory = (options) => base(options);
  rawFactories.add(factory);
  return factory;
}

interface KafkajsResponse {
  decode: (payload: Buffer) => Promise<unknown>;
  parse: (decoded: unknown) => Promise<unknown>;
}

interface KafkajsRequest {
  apiName: string;
  apiVersion: number;
}

/** Routes raw clients' Fetch v11 responses through `decodeFetchV11`. Once per process. */
function installRawFetch(): void {
  if (installed) return;
  installed = true;
  const Connection = require('kafkajs/src/network/connection.js') as {
    prototype: {
      send: (protocol: { request: KafkajsRequest; response: KafkajsResponse }) => Promise<unknown>;
    };
  };
  const send = Connection.prototype.send;
  Connection.prototype.send = function (this: { socketFactory: object }, protocol) {
    const { request, response } = protocol;
    if (request.apiName !== 'Fetch' || request.apiVersion !== 11 || !rawFactories.has(this.socketFactory)) {
      return send.call(this, protocol);
    }
    return send.call(this, { ...protocol, response: { decode: decodeFetchV11, parse: response.parse } });
  };
}

/** A cursor over a Fetch response, big-endian as the protocol is. */
class Reader {
  at = 0;
  constructor(readonly buffer: Buffer) {}
  int16(): number {
    const value = this.buffer.readInt16BE(this.at);
    this.at += 2;
    return value;
  }
  int32(): number {
    const value = this.buffer.readInt32BE(this.at);
    this.at += 4;
    return value;
  }
  int64(): string {
    const value = this.buffer.readBigInt64BE(this.at);
    this.at += 8;
    return value.toString();
  }
  string(): string {
    const length = this.int16();
    const value = this.buffer.toString('utf8', this.at, this.at + length);
    this.at += length;
    return value;
  }
  bytes(length: number): Buffer {
    const value = this.buffer.subarray(this.at, this.at + length);
    this.at += length;
    return value;
  }
}

/**
 * Fetch Response v11: throttle_time_ms error_code session_id [topic [partition error_code
 * high_watermark last_stable_offset log_start_offset [aborted producer_id first_offset]
 * preferred_read_replica records]] — decoded into kafkajs's v11 shape.
 */
async function decodeFetchV11(payload: Buffer) {
  const reader = new Reader(payload);
  const clientSideThrottleTime = reader.int32();
  const errorCode = reader.int16();
  const sessionId = reader.int32();
  const topics = reader.int32();
  const responses = [];
  for (let t = 0; t < topics; t++) {
    const topicName = reader.string();
    const count = reader.int32();
    const partitions = [];
    for (let p = 0; p < count; p++) {
      const partition = reader.int32();
      const partitionError = reader.int16();
      const highWatermark = reader.int64();
      const lastStableOffset = reader.int64();
      const lastStartOffset = reader.int64();
      const abortedCount = reader.int32();
      const abortedTransactions = [];
      for (let a = 0; a < abortedCount; a++) {
        abortedTransactions.push({ producerId: reader.int64(), firstOffset: reader.int64() });
      }
      const preferredReadReplica = reader.int32();
      const size = reader.int32();
      const records = size > 0 ? reader.bytes(size) : Buffer.alloc(0);
      const messages: FetchedMessage[] = recordBatchMessages(records) ?? (await kafkajsMessages(records));
      if (abortedTransactions.length > 0) {
        flagAbortedRecords(messages, abortedTransactions);
        abortedTransactions.length = 0;
      }
      partitions.push({
        partition,
        errorCode: partitionError,
        highWatermark,
        lastStableOffset,
        lastStartOffset,
        abortedTransactions,
        preferredReadReplica,
        messages,
      });
    }
    responses.push({ topicName, partitions });
  }
  return { throttleTime: 0, clientSideThrottleTime, errorCode, sessionId, responses };
}

/** kafkajs's own decoding of one partition's records (one message per record). */
async function kafkajsMessages(records: Buffer): Promise<FetchedMessage[]> {
  const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => unknown;
  const decodeMessages = require('kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js') as (
    decoder: unknown,
  ) => Promise<FetchedMessage[]>;
  const sized = Buffer.alloc(4 + records.length);
  sized.writeInt32BE(records.length, 0);
  records.copy(sized, 4);
  return decodeMessages(new Decoder(sized));
}

/**
 * One stand-in per complete v2 record batch of `records` (a trailing partial batch, cut by
 * the fetch size, is left out as kafkajs does); null when the partition needs kafkajs's
 * decoding (an older format or a codec not read here).
 */
function recordBatchMessages(records: Buffer): RecordBatchMessage[] | null {
  const messages: RecordBatchMessage[] = [];
  let at = 0;
  while (at + HEADER_BYTES <= records.length) {
    const end = at + 12 + records.readInt32BE(at + 8);
    if (end > records.length) break;
    if (records[at + MAGIC_AT] !== 2) return null;
    const attributes = records.readInt16BE(at + ATTRIBUTES_AT);
    const codec = attributes & CODEC_MASK;
    if (codec !== CODEC_NONE && codec !== CODEC_GZIP && codec !== CODEC_LZ4) return null;
    const baseOffset = records.readBigInt64BE(at);
    const lastOffsetDelta = records.readInt32BE(at + LAST_OFFSET_DELTA_AT);
    const isControlBatch = (attributes & CONTROL_FLAG) !== 0;
    const batch = records.subarray(at, end);
    messages.push({
      offset: (baseOffset + BigInt(lastOffsetDelta)).toString(),
      key: isControlBatch ? controlKey(batch) : null,
      value: null,
      timestamp: records.readBigInt64BE(at + FIRST_TIMESTAMP_AT).toString(),
      headers: {},
      isControlRecord: isControlBatch,
      batchContext: {
        firstOffset: baseOffset.toString(),
        lastOffsetDelta,
        producerId: records.readBigInt64BE(at + PRODUCER_ID_AT).toString(),
        inTransaction: (attributes & TRANSACTIONAL_FLAG) !== 0,
        isControlBatch,
      },
      records: isControlBatch ? null : batch,
    });
    at = end;
  }
  return messages;
}

/** The key of a control batch's one record (never compressed): version and marker type. */
function controlKey(batch: Buffer): Buffer | null {
  if (batch.readInt32BE(RECORD_COUNT_AT) < 1) return null;
  const cursor = new VarintCursor(batch, HEADER_BYTES);
  cursor.varint(); // record length
  cursor.at++; // attributes
  cursor.varint(); // timestamp delta
  cursor.varint(); // offset delta
  const length = cursor.varint();
  return length < 0 ? null : batch.subarray(cursor.at, cursor.at + length);
}

/** Zig-zag varints of a record (Kafka's protobuf-style encoding), within 2^53. */
class VarintCursor {
  constructor(
    readonly bytes: Uint8Array,
    public at: number,
  ) {}

  varint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (this.at >= this.bytes.length) throw new RangeError('record batch ends inside a varint');
      const byte = this.bytes[this.at++];
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) break;
      scale *= 128;
      if (scale > 2 ** 63) throw new RangeError('varint longer than 64 bits in a record batch');
    }
    // Zig-zag: even → value / 2, odd → -(value + 1) / 2.
    return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
  }
}

/** The records of concatenated record batches, from `fromOffset` on. */
export interface RecordValues {
  offsets: string[];
  values: Array<Uint8Array | null>;
  /** By record index, the dead-letter headers a record carries (see `DEAD_LETTER_HEADERS`). */
  deadLetters?: Map<number, DeadLetterMark>;
}

/**
 * Record headers that make a record a dead letter written by a sluice producer (the
 * `forward: kafka` gateway writes refused input so): a reader hands it to its dead-letter
 * output with this code and reason instead of decoding it.
 */
export const DEAD_LETTER_HEADERS = {
  code: 'sluice-dead-letter-code',
  reason: 'sluice-dead-letter-reason',
} as const;

export interface DeadLetterMark {
  code: string;
  reason: string;
}

const CODE_HEADER = Buffer.from(DEAD_LETTER_HEADERS.code);
const REASON_HEADER = Buffer.from(DEAD_LETTER_HEADERS.reason);

/** The dead-letter headers among a record's headers (the cursor at their count), or null. */
function deadLetterMark(cursor: VarintCursor, end: number): DeadLetterMark | null {
  const bytes = cursor.bytes;
  const count = cursor.varint();
  let code: string | null = null;
  let reason = '';
  for (let header = 0; header < count; header++) {
    const keyLength = cursor.varint();
    const keyAt = cursor.at;
    cursor.at += Math.max(0, keyLength);
    const valueLength = cursor.varint();
    const valueAt = cursor.at;
    cursor.at += Math.max(0, valueLength);
    if (cursor.at > end) throw new RangeError('record header overruns its record');
    if (valueLength < 0) continue;
    const key = bytes.subarray(keyAt, keyAt + keyLength);
    const text = () => Buffer.from(bytes.buffer, bytes.byteOffset + valueAt, valueLength).toString('utf8');
    if (CODE_HEADER.equals(key)) code = text();
    else if (REASON_HEADER.equals(key)) reason = text();
  }
  return code === null ? null : { code, reason };
}

/**
 * Worker: the offsets and values of the records in `bytes` (whole v2 record batches, back
 * to back, as `recordBatchMessages` kept them), skipping records before `fromOffset`.
 * Throws RangeError on bytes that are not such batches.
 */
export function readRecordBatches(bytes: Uint8Array, fromOffset: bigint): RecordValues {
  const out: RecordValues = { offsets: [], values: [] };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < bytes.length) {
    if (at + HEADER_BYTES > bytes.length) throw new RangeError('record batch header cut short');
    const end = at + 12 + view.getInt32(at + 8);
    if (end > bytes.length || end < at + HEADER_BYTES)
      throw new RangeError('record batch length out of range');
    const baseOffset = view.getBigInt64(at);
    const codec = view.getInt16(at + ATTRIBUTES_AT) & CODEC_MASK;
    const count = view.getInt32(at + RECORD_COUNT_AT);
    const body = bytes.subarray(at + HEADER_BYTES, end);
    const records =
      codec === CODEC_NONE
        ? body
        : codec === CODEC_GZIP
          ? gunzipSync(body)
          : codec === CODEC_LZ4
            ? decompressFrameSync(Buffer.from(body.buffer, body.byteOffset, body.byteLength))
            : null;
    if (records === null) throw new RangeError(`record batch codec ${codec} is not read here`);
    const cursor = new VarintCursor(records, 0);
    // Offsets as numbers while they are exact (always, in practice), else BigInt.
    const base = Number(baseOffset);
    const exact = Number.isSafeInteger(base) && Number.isSafeInteger(base + 2 ** 31);
    const from = fromOffset;
    for (let index = 0; index < count; index++) {
      const length = cursor.varint();
      const next = cursor.at + length;
      if (length < 0 || next > records.length) throw new RangeError('record overruns its batch');
      cursor.at++; // attributes
      cursor.varint(); // timestamp delta
      const delta = cursor.varint();
      const keyLength = cursor.varint();
      if (keyLength > 0) cursor.at += keyLength;
      const valueLength = cursor.varint();
      const value = valueLength < 0 ? null : records.subarray(cursor.at, cursor.at + valueLength);
      if (valueLength > 0 && cursor.at + valueLength > next)
        throw new RangeError('record value overruns its record');
      if (valueLength > 0) cursor.at += valueLength;
      const mark = cursor.at < next && records[cursor.at] !== 0 ? deadLetterMark(cursor, next) : null;
      cursor.at = next;
      const offset = exact ? base + delta : baseOffset + BigInt(delta);
      if (offset < from) continue;
      if (mark !== null) {
        out.deadLetters ??= new Map();
        out.deadLetters.set(out.offsets.length, mark);
      }
      out.offsets.push(String(offset));
      out.values.push(value);
    }
    at = end;
  }
  return out;
}
