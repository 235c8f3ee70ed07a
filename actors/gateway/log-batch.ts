import { Packr } from 'msgpackr';
import { msgpack } from '../codecs/msgpack-event.ts';
import type { DecodeFailureRecord } from '../partition/partition-pipeline.ts';

/**
 * The payload of one gateway log record: the part of a client batch that went to one
 * partition, as msgpack `{ v, e: events, f: failures }`. `f` lists, by index in `e`,
 * records refused at the gateway (missing key or time, malformed payload) that travel
 * to the partition as dead letters at their place in the order, so that dead letters
 * are written exactly once like everything else. The layout is versioned by `v`:
 * - 1: plain msgpack maps;
 * - 2 (written now): a record of at least `RECORDS_FROM` entries is packed with msgpackr
 *   records — each distinct event shape is defined once per log record and its events
 *   carry only their values: half the bytes, and from 16 events ≈ 15–30 % less CPU to
 *   pack and 10–75 % less to read back than plain maps (measured by entries per record:
 *   below ≈ 12, defining the shapes costs more than it saves, so smaller records stay
 *   plain maps, which the same reader reads). Every record stands alone (no structures
 *   shared between records), so any one decodes without the ones before it. Only sluice
 *   reads the gateway log, so it need not be plain msgpack like a frame.
 * Both versions are read, so a log written before an upgrade replays after it.
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

const VERSION = 2;
const READABLE = new Set([1, 2]);

/** Entries from which a record is packed with msgpackr records. */
export const RECORDS_FROM = 16;

/**
 * Records on, nothing shared between calls; 64-bit integers as numbers, as events are
 * JSON-shaped. It reads plain maps too. A Packr keeps a write buffer: one per thread
 * (module state is per thread).
 */
const recordsPackr = new Packr({
  useRecords: true,
  moreTypes: false,
  structuredClone: false,
  mapsAsObjects: true,
  int64AsType: 'number',
});

export function encodeLogBatch(batch: LogBatch): Buffer {
  const packr = batch.events.length >= RECORDS_FROM ? recordsPackr : msgpack;
  return packr.pack({ v: VERSION, e: batch.events, f: batch.failures });
}

export function decodeLogBatch(payload: Uint8Array): LogBatch {
  const decoded = recordsPackr.unpack(payload) as {
    v: number;
    e: LogBatch['events'];
    f: LogBatch['failures'];
  };
  if (!READABLE.has(decoded.v))
    throw new Error(
      `gateway log record version ${decoded.v}; this build reads ${[...READABLE].join(' and ')}`,
    );
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
