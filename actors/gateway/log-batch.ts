import { msgpack } from '../codecs/msgpack-event.ts';
import type { DecodeFailureRecord } from '../partition/partition-pipeline.ts';

/**
 * The payload of one gateway log record: the part of a client batch that went to one
 * partition, as msgpack `{ e: events, f: failures }`. `f` lists, by index in `e`,
 * records refused at the gateway (missing key or time, malformed payload) that travel
 * to the partition as dead letters at their place in the order, so that dead letters
 * are written exactly once like everything else. The layout is versioned by `v`.
 *
 * On their way to the partition actor, consecutive records travel packed
 * (`packLogRecords`): their payloads back to back in one transferable buffer, decoded by
 * the actor on its own thread, so the gateway thread neither decodes them nor clones
 * the events into the message.
 */
export interface LogBatch {
  /** Events; null where the entry is a failure. */
  events: (Record<string, unknown> | null)[];
  failures: Array<[index: number, failure: DecodeFailureRecord]>;
}

const VERSION = 1;

export function encodeLogBatch(batch: LogBatch): Buffer {
  return msgpack.pack({ v: VERSION, e: batch.events, f: batch.failures });
}

export function decodeLogBatch(payload: Uint8Array): LogBatch {
  const decoded = msgpack.unpack(payload) as { v: number; e: LogBatch['events']; f: LogBatch['failures'] };
  if (decoded.v !== VERSION)
    throw new Error(`gateway log record version ${decoded.v}; this build reads ${VERSION}`);
  return { events: decoded.e, failures: decoded.f };
}

/**
 * Log records `first`, `first + 1`, … in one buffer, the one thing to transfer:
 * `[records × u32 payload length][payloads back to back]` (platform byte order, the
 * order of typed arrays; the buffer never leaves the process).
 */
export interface PackedLogRecords {
  /** Index of the first record. */
  first: number;
  records: number;
  buffer: ArrayBuffer;
}

/** The records as the partition actor reads them: events, positions, failures by index. */
export interface UnpackedLogRecords {
  events: (Record<string, unknown> | null)[];
  /** Per entry, the index of the record it came from: its position. */
  positions: number[];
  failures: Array<[index: number, failure: DecodeFailureRecord]>;
}

const LENGTH_BYTES = 4;

/** Gateway thread: copies `payloads` (records `first`, `first + 1`, …) into one buffer. */
export function packLogRecords(payloads: readonly Uint8Array[], first: number): PackedLogRecords {
  const headerBytes = payloads.length * LENGTH_BYTES;
  let bytes = headerBytes;
  for (const payload of payloads) bytes += payload.length;
  const buffer = new ArrayBuffer(bytes);
  const lengths = new Uint32Array(buffer, 0, payloads.length);
  const body = new Uint8Array(buffer);
  let at = headerBytes;
  payloads.forEach((payload, index) => {
    lengths[index] = payload.length;
    body.set(payload, at);
    at += payload.length;
  });
  return { first, records: payloads.length, buffer };
}

/** Partition thread: decodes every record of a packed message, in order. */
export function unpackLogRecords(packed: PackedLogRecords): UnpackedLogRecords {
  const { buffer, records, first } = packed;
  const lengths = new Uint32Array(buffer, 0, records);
  const unpacked: UnpackedLogRecords = { events: [], positions: [], failures: [] };
  let at = records * LENGTH_BYTES;
  for (let index = 0; index < records; index++) {
    const batch = decodeLogBatch(Buffer.from(buffer, at, lengths[index]));
    at += lengths[index];
    const base = unpacked.events.length;
    for (const [entry, failure] of batch.failures) unpacked.failures.push([base + entry, failure]);
    for (const event of batch.events) {
      unpacked.events.push(event);
      unpacked.positions.push(first + index);
    }
  }
  return unpacked;
}
