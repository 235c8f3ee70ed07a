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
 */

/** One fetched message as the consumer sees it (kafkajs gives `offset` as a decimal string). */
export interface KafkaMessageLike {
  offset: string;
  value: Uint8Array | null;
}

/** What `deliver` hands the partition actor; `buffer` is the one thing to transfer. */
export interface PackedKafkaBatch {
  topic: string;
  partition: number;
  count: number;
  buffer: ArrayBuffer;
  /** The offset to read next after this batch (last offset + 1, control records included): the position to checkpoint. */
  nextOffset: string;
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
}

const OFFSET_BYTES = 8;
const LENGTH_BYTES = 4;

/** Main thread: copies the message values into one buffer. `nextOffset` defaults to last offset + 1. */
export function packKafkaBatch(
  topic: string,
  partition: number,
  messages: readonly KafkaMessageLike[],
  nextOffset?: string,
): PackedKafkaBatch {
  const count = messages.length;
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
  const next = nextOffset ?? (count > 0 ? (BigInt(messages[count - 1].offset) + 1n).toString() : '0');
  return { topic, partition, count, buffer, nextOffset: next };
}

/** What to put in the transfer list when posting a packed batch to a worker. */
export function kafkaBatchTransfer(packed: PackedKafkaBatch): ArrayBuffer[] {
  return [packed.buffer];
}

/** Worker: views over the transferred buffer. Throws only on a buffer this module did not pack. */
export function unpackKafkaBatch(packed: PackedKafkaBatch): KafkaRecordBatch {
  const { count, buffer } = packed;
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
