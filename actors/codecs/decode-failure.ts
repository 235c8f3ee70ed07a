/**
 * The catalogue of reasons a codec refuses input. Bad input is data, not an exception:
 * decoders return a `DecodeFailure`, and the caller turns it into a dead letter (with the
 * source position and raw bytes) or a gateway error reply. `code` is stable and meant for
 * metrics labels and client error handling; `reason` is for people and may change.
 */
export type DecodeFailureCode =
  | 'JSON_INVALID'
  | 'JSON_NOT_OBJECT'
  | 'LINE_TOO_LONG'
  | 'MSGPACK_INVALID'
  | 'MSGPACK_NOT_OBJECT'
  | 'FRAME_TRUNCATED'
  | 'FRAME_BAD_MAGIC'
  | 'FRAME_UNKNOWN_VERSION'
  | 'FRAME_UNKNOWN_CODEC'
  | 'FRAME_BAD_HEADER'
  | 'FRAME_TOO_LARGE'
  | 'FRAME_HEADER_CRC_MISMATCH'
  | 'FRAME_PAYLOAD_CRC_MISMATCH'
  | 'FRAME_TRAILING_BYTES'
  | 'FRAME_DECOMPRESSION_FAILED'
  | 'FRAME_PAYLOAD_INVALID'
  | 'FRAME_COUNT_MISMATCH';

export interface DecodeFailure {
  readonly code: DecodeFailureCode;
  readonly reason: string;
}

export function decodeFailure(code: DecodeFailureCode, reason: string): DecodeFailure {
  return { code, reason };
}

/** A value a decoder may hand on as an event: a plain object, not an array, Date or class instance. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** How a refused value is named in a reason: `array`, `null`, `string`, `Date`… */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}
