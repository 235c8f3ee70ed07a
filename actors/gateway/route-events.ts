import { describeType, isPlainObject } from '../codecs/decode-failure.ts';
import { parseEventTime } from '../codecs/event-time.ts';
import { keyText, partitionForKey } from '../codecs/murmur2.ts';
import type { DecodeFailureRecord } from '../partition/partition-pipeline.ts';

/**
 * Splits a client batch into per-partition parts by the murmur2 hash of the key — the
 * rule of Kafka's default partitioner and of the file and generator sources — after
 * checking that every event is an object with a key and a readable event time. A batch
 * with any invalid event is refused whole (a client retries a batch, not half of one);
 * the invalid events come back as failures for the dead-letter output. Pure.
 */
export interface RouteOptions {
  keyField: string;
  timeField: string;
  partitions: number;
}

export type RoutedBatch =
  | { ok: true; parts: Map<number, Record<string, unknown>[]>; count: number }
  | { ok: false; invalid: Array<{ index: number; failure: DecodeFailureRecord }> };

export function routeEvents(events: readonly unknown[], options: RouteOptions): RoutedBatch {
  const parts = new Map<number, Record<string, unknown>[]>();
  const invalid: Array<{ index: number; failure: DecodeFailureRecord }> = [];
  events.forEach((event, index) => {
    if (!isPlainObject(event)) {
      const reason = `expected an event object, got ${describeType(event)}`;
      invalid.push({ index, failure: { code: 'JSON_NOT_OBJECT', reason, raw: safeJson(event) } });
      return;
    }
    const key = keyText(event[options.keyField]);
    if (key === null) {
      const reason = `field ${options.keyField}: missing key`;
      invalid.push({ index, failure: { code: 'KEY_MISSING', reason, raw: safeJson(event) } });
      return;
    }
    if (parseEventTime(event[options.timeField]) === undefined) {
      const reason = `field ${options.timeField}: missing or not a time (ms since the epoch or ISO-8601)`;
      invalid.push({ index, failure: { code: 'TIME_INVALID', reason, raw: safeJson(event) } });
      return;
    }
    const partition = partitionForKey(key, options.partitions);
    const part = parts.get(partition);
    if (part === undefined) parts.set(partition, [event]);
    else part.push(event);
  });
  return invalid.length > 0 ? { ok: false, invalid } : { ok: true, parts, count: events.length };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
