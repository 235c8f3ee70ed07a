import type { SluiceEvent } from './types.ts';

/**
 * Encodes an event's groupBy tuple as a Map key. The encoding is injective over
 * strings, finite numbers, booleans and null (the string "1", the number 1 and null
 * all differ) and cheap on the hot path:
 * - no fields: the empty string;
 * - one field: a string value is its own key, unless it starts with U+0001, which
 *   marks every other value: U+0001 followed by the JSON of the value;
 * - several fields: the JSON of each value joined by commas (the inside of the
 *   tuple's JSON array, which parses back uniquely).
 * Non-finite numbers are refused by `eventMisfit`, because JSON would print them as null.
 */
export type KeyEncoder = (event: SluiceEvent) => string;

const MARK = '\u0001';

export function createKeyEncoder(groupBy: readonly string[]): KeyEncoder {
  if (groupBy.length === 0) return () => '';
  if (groupBy.length === 1) {
    const field = groupBy[0];
    return (event) => {
      const value = event[field];
      if (typeof value === 'string') return value.charCodeAt(0) === 1 ? MARK + value : value;
      return MARK + JSON.stringify(value === undefined ? null : value);
    };
  }
  const fields = groupBy.slice();
  return (event) => {
    let key = '';
    for (let i = 0; i < fields.length; i++) {
      const value = event[fields[i]];
      key += (i === 0 ? '' : ',') + JSON.stringify(value === undefined ? null : value);
    }
    return key;
  };
}

/** The groupBy values of an event, a missing field as null. */
export function keyValues(groupBy: readonly string[], event: SluiceEvent): unknown[] {
  const values = new Array<unknown>(groupBy.length);
  for (let i = 0; i < groupBy.length; i++) {
    const value = event[groupBy[i]];
    values[i] = value === undefined ? null : value;
  }
  return values;
}

/**
 * The sort key of a groupBy tuple: rows that fire together are ordered by
 * (window_end, window_start, this string compared by UTF-16 code units).
 */
export function keyOrder(values: readonly unknown[]): string {
  return JSON.stringify(values);
}

/** Compares strings by UTF-16 code units (what `<` does; `localeCompare` would not). */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Key groups: every key belongs to one of `KEY_GROUPS` groups by a hash of its encoded
 * form. Window state is stored, written when dirty, evicted and read back one group of
 * one window at a time, so a million keys are a thousand stored values, not a million.
 * The group of a key is part of the stored layout: changing the count or the hash
 * changes the window state codec version.
 */
export const KEY_GROUPS = 1024;

/** The key group of an encoded key: FNV-1a over its UTF-16 code units, low bits. */
export function keyGroup(encoded: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < encoded.length; i++) hash = Math.imul(hash ^ encoded.charCodeAt(i), 0x01000193);
  return (hash >>> 0) & (KEY_GROUPS - 1);
}

/**
 * Flags (1) the key group of each non-null event's key; `encode` gives the key as a window
 * sees it, or null when the event skips that window. What a batch needs read back.
 */
export function keyGroupsOf(
  events: readonly (SluiceEvent | null)[],
  encode: (event: SluiceEvent, index: number) => string | null,
): Uint8Array {
  const groups = new Uint8Array(KEY_GROUPS);
  for (let index = 0; index < events.length; index++) {
    const event = events[index];
    if (event === null) continue;
    const encoded = encode(event, index);
    if (encoded !== null) groups[keyGroup(encoded)] = 1;
  }
  return groups;
}
