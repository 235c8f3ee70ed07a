import { type DecodeFailure, decodeFailure, describeType, isPlainObject } from './decode-failure.ts';

export type JsonEventResult = { event: Record<string, unknown> } | DecodeFailure;

/**
 * One JSON text → one event. Only an object is an event: an array, a string or a number
 * parses fine as JSON but is refused with `JSON_NOT_OBJECT`, because windowing needs
 * named key and time fields.
 */
export function decodeJsonEvent(text: string): JsonEventResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return decodeFailure('JSON_INVALID', `invalid JSON: ${(error as Error).message}`);
  }
  if (!isPlainObject(value)) {
    return decodeFailure('JSON_NOT_OBJECT', `expected a JSON object, got ${describeType(value)}`);
  }
  return { event: value };
}
