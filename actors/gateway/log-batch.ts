import { msgpack } from '../codecs/msgpack-event.ts';
import type { DecodeFailureRecord } from '../partition/partition-pipeline.ts';

/**
 * The payload of one gateway log record: the part of a client batch that went to one
 * partition, as msgpack `{ e: events, f: failures }`. `f` lists, by index in `e`,
 * records refused at the gateway (missing key or time, malformed payload) that travel
 * to the partition as dead letters at their place in the order, so that dead letters
 * are written exactly once like everything else. The layout is versioned by `v`.
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
