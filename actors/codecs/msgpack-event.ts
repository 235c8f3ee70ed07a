import { Packr } from 'msgpackr';
import { type DecodeFailure, decodeFailure, describeType, isPlainObject } from './decode-failure.ts';

/**
 * The msgpack dialect sluice writes and reads, shared by the per-message format and the
 * frame payload. Plain msgpack only — no msgpackr records or structured clone — so that
 * producers in other languages and the native decoder read it; 64-bit integers decode to
 * numbers (events are JSON-shaped, and JSON has no bigint).
 *
 * Threading model: a Packr keeps an internal write buffer, so each worker thread has its
 * own instance (module state is per thread); calls are synchronous and never interleave.
 */
export const msgpack = new Packr({
  useRecords: false,
  moreTypes: false,
  structuredClone: false,
  mapsAsObjects: true,
  int64AsType: 'number',
});

export type MsgpackEventResult = { event: Record<string, unknown> } | DecodeFailure;

/** One event → the per-message msgpack format (Kafka `format: msgpack`). */
export function encodeMsgpackEvent(event: object): Buffer {
  return msgpack.pack(event);
}

/** Per-message msgpack → one event, or why not; never throws. */
export function decodeMsgpackEvent(bytes: Uint8Array): MsgpackEventResult {
  let value: unknown;
  try {
    value = msgpack.unpack(bytes);
  } catch (error) {
    return decodeFailure('MSGPACK_INVALID', `invalid msgpack: ${(error as Error).message}`);
  }
  if (!isPlainObject(value)) {
    return decodeFailure('MSGPACK_NOT_OBJECT', `expected a msgpack map, got ${describeType(value)}`);
  }
  return { event: value };
}
