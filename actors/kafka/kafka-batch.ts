/**
 * The wire shape of one fetched Kafka batch on its way from the consumer (main thread) to
 * the partition actor (worker): every message value back to back in ONE ArrayBuffer, so a
 * batch crosses threads with one transfer and no per-message clone.
 *
 * Buffer layout, for `count` messages (little-endian, the platform order of typed arrays):
 *
 *   [count × int64 offset][count × int32 value length, -1 = null value][values, back to back]
 *
 * Offsets come first so that their BigInt64Array view is 8-byte aligned.
 *
 * The kafka source's consumer hands over record batches instead of messages
 * (raw-record-batches.ts): then `buffer` is those batches as fetched, back to back, and
 * `fromOffset` says where the fetch began; the worker reads the records out of them.
 */
import { type DeadLetterMark, readRecordBatches } from './raw-record-batches.ts';

/** One fetched message as the consumer sees it (kafkajs gives `offset` as a decimal string). */
export interface KafkaMessageLike {
  offset: string;
  value: Uint8Array | null;
  /** A whole fetched record batch standing in for its records (raw-record-batches.ts). */
  records?: Uint8Array | null;
}

/** What `deliver` hands the partition actor; `buffer` is the one thing to transfer. */
export interface PackedKafkaBatch {
  topic: string;
  partition: number;
  count: number;
  buffer: ArrayBuffer;
  /** The offset to read next after this batch (last offset + 1, control records included): the position to checkpoint. */
  nextOffset: string;
  /** Set when `buffer` holds record batches: records before this offset are skipped. */
  fromOffset?: string;
}

/** A batch as the decoder sees it: views into the transferred buffer, nothing copied. */
export interface KafkaRecordBatch {
  topic: string;
  partition: number;
  /** Per message, its Kafka offset as a decimal string. */
  offsets: string[];
  /** Per message, its value; null for a tombstone (null value). */
  values: Array<Uint8Array | null>;
  nextOffset: string;
  /** By message index, the dead-letter headers a record carries (raw record batches only). */
  deadLetters?: Map<number, DeadLetterMark>;
}

const OFFSET_BYTES = 8;
const LENGTH_BYTES = 4;

/**
 * Main thread: copies the message values — or the record batches standing in for them,
 * with the offset the fetch began at — into one buffer. `nextOffset` defaults to last
 * offset + 1.
 */
export function packKafkaBatch(
  topic: string,
  partition: number,
  messages: readonly KafkaMessageLike[],
  nextOffset?: string,
  fromOffset?: string,
): PackedKafkaBatch {
  const count = messages.length;
  const next = nextOffset ?? (count > 0 ? (BigInt(messages[count - 1].offset) + 1n).toString() : '0');
  if (count > 0 && messages[0].records !== undefined) {
    return {
      ...packRecordBatches(messages),
      topic,
      partition,
      nextOffset: next,
      fromOffset: fromOffset ?? '0',
    };
  }
  const headerBytes = count * (OFFSET_BYTES + LENGTH_BYTES);
  let valueBytes = 0;
  for (const message of messages) valueBytes += message.value?.length ?? 0;
  const buffer = new ArrayBuffer(headerBytes + valueBytes);
  const offsets = new BigInt64Array(buffer, 0, count);
  const lengths = new Int32Array(buffer, count * OFFSET_BYTES, count);
  const bytes = new Uint8Array(buffer);
  let at = headerBytes;
  for (let index = 0; index < count; index++) {
    const { offset, value } = messages[index];
    offsets[index] = BigInt(offset);
    if (value === null) {
      lengths[index] = -1;
      continue;
    }
    lengths[index] = value.length;
    bytes.set(value, at);
    at += value.length;
  }
  return { topic, partition, count, buffer, nextOffset: next };
}

function packRecordBatches(messages: readonly KafkaMessageLike[]): { count: number; buffer: ArrayBuffer } {
  let bytes = 0;
  for (const message of messages) {
    if (message.records === undefined)
      throw new TypeError('a fetched batch mixes records and record batches');
    bytes += message.records?.length ?? 0;
  }
  const buffer = new ArrayBuffer(bytes);
  const into = new Uint8Array(buffer);
  let at = 0;
  for (const { records } of messages) {
    if (records === null || records === undefined) continue;
    into.set(records, at);
    at += records.length;
  }
  return { count: messages.length, buffer };
}

/** What to put in the transfer list when posting a packed batch to a worker. */
export function kafkaBatchTransfer(packed: PackedKafkaBatch): ArrayBuffer[] {
  return [packed.buffer];
}

/** Worker: views over the transferred buffer. Throws only on a buffer this module did not pack. */
export function unpackKafkaBatch(packed: PackedKafkaBatch): KafkaRecordBatch {
  const { count, buffer } = packed;
  if (packed.fromOffset !== undefined) {
    const { offsets, values, deadLetters } = readRecordBatches(
      new Uint8Array(buffer),
      BigInt(packed.fromOffset),
    );
    return {
      topic: packed.topic,
      partition: packed.partition,
      offsets,
      values,
      nextOffset: packed.nextOffset,
      ...(deadLetters === undefined ? {} : { deadLetters }),
    };
  }
  const headerBytes = count * (OFFSET_BYTES + LENGTH_BYTES);
  if (buffer.byteLength < headerBytes) {
    throw new RangeError(`packed Kafka batch of ${count} messages is only ${buffer.byteLength} bytes`);
  }
  const offsetView = new BigInt64Array(buffer, 0, count);
  const lengths = new Int32Array(buffer, count * OFFSET_BYTES, count);
  const offsets = new Array<string>(count);
  const values = new Array<Uint8Array | null>(count);
  let at = headerBytes;
  for (let index = 0; index < count; index++) {
    offsets[index] = offsetView[index].toString();
    const length = lengths[index];
    if (length < 0) {
      values[index] = null;
      continue;
    }
    if (at + length > buffer.byteLength)
      throw new RangeError(`packed Kafka batch value ${index} overruns the buffer`);
    values[index] = new Uint8Array(buffer, at, length);
    at += length;
  }
  return { topic: packed.topic, partition: packed.partition, offsets, values, nextOffset: packed.nextOffset };
}
