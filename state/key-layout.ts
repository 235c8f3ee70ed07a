import { Packr } from 'msgpackr';
import type { CheckpointRecord } from './checkpoint-record.ts';
import { StateUsageError } from './state-errors.ts';

/**
 * The LevelDB key layout and value encoding of a partition database, version 1.
 * Nothing else in sluice builds or parses these keys; change them here, together
 * with `STATE_FORMAT_VERSION`, and older databases are refused with a clear error
 * instead of being misread.
 *
 * Keys (byte order matters: one forward scan sees the record before the entries,
 * which is what lets a snapshot read both from one consistent iterator):
 *
 *   c/current              the checkpoint record, msgpack (plain data, no records)
 *   meta/format            the layout version, ASCII decimal ("1")
 *   meta/high-id           highest checkpoint id ever committed, ASCII decimal
 *   meta/restoring         present only while a snapshot restore is under way: the snapshot's path
 *   n/<namespace>\0<key>   one namespace entry; the value is the caller's bytes, untouched
 *
 * Namespace names are UTF-8 without NUL, so `\0` ends the name and every key of a
 * namespace sorts in one contiguous range in the order of its own key bytes.
 *
 * Lookup-table databases (`<state.dir>/@tables/<table>/`) use this same layout, version
 * and checkpoint record (its source position is the table's CDC position). Their rows
 * live in one namespace:
 *
 *   n/table-rows\0<key text>   one row; key = the row's key value as text, UTF-8;
 *                              value = msgpack of the row (column → JSON value)
 */

export const STATE_FORMAT_VERSION = 1;

export const CHECKPOINT_KEY = Buffer.from('c/current', 'latin1');
export const FORMAT_KEY = Buffer.from('meta/format', 'latin1');
export const HIGH_ID_KEY = Buffer.from('meta/high-id', 'latin1');
export const RESTORING_KEY = Buffer.from('meta/restoring', 'latin1');

const NAMESPACE_PREFIX = Buffer.from('n/', 'latin1');
/** Namespace names longer than this are refused (the snapshot format frames them with a u16). */
export const MAX_NAMESPACE_BYTES = 1024;

const packr = new Packr({ useRecords: false, mapsAsObjects: true });

export function encodeFormatVersion(): Buffer {
  return Buffer.from(String(STATE_FORMAT_VERSION), 'latin1');
}

export function encodeCounter(value: number): Buffer {
  return Buffer.from(String(value), 'latin1');
}

export function decodeCounter(bytes: Buffer | undefined): number {
  if (bytes === undefined) return 0;
  const value = Number(bytes.toString('latin1'));
  return Number.isSafeInteger(value) && value >= 0 ? value : 0;
}

export function encodeCheckpointRecord(record: CheckpointRecord): Buffer {
  return packr.pack(record);
}

export function decodeCheckpointRecord(bytes: Buffer): CheckpointRecord {
  const value = packr.unpack(bytes) as CheckpointRecord;
  if (value === null || typeof value !== 'object' || !Number.isSafeInteger(value.id)) {
    throw new TypeError('checkpoint record is not a map with an integer id');
  }
  return value;
}

/** Checks a namespace name and returns its UTF-8 bytes. */
export function namespaceBytes(namespace: string): Buffer {
  if (typeof namespace !== 'string' || namespace.length === 0) {
    throw new StateUsageError('a namespace name must be a non-empty string');
  }
  const bytes = Buffer.from(namespace, 'utf8');
  if (bytes.includes(0)) throw new StateUsageError(`namespace ${JSON.stringify(namespace)} contains NUL`);
  if (bytes.length > MAX_NAMESPACE_BYTES) {
    throw new StateUsageError(`namespace names are at most ${MAX_NAMESPACE_BYTES} bytes`);
  }
  return bytes;
}

/** `n/<namespace>\0`: every key of the namespace starts with it. */
export function namespacePrefix(namespace: string): Buffer {
  return Buffer.concat([NAMESPACE_PREFIX, namespaceBytes(namespace), Buffer.of(0)]);
}

/** The key range of one namespace, for iterators and clears. */
export function namespaceRange(namespace: string): { gte: Buffer; lt: Buffer } {
  const gte = namespacePrefix(namespace);
  const lt = Buffer.from(gte);
  lt[lt.length - 1] = 1;
  return { gte, lt };
}

/** The key range of all namespaces. */
export function allNamespacesRange(): { gte: Buffer; lt: Buffer } {
  return { gte: NAMESPACE_PREFIX, lt: Buffer.from('n0', 'latin1') };
}

export function toKeyBytes(key: Buffer | string): Buffer {
  return typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
}

/** Database key of one entry, built on a known prefix (hot path of commit and restore). */
export function entryKey(prefix: Buffer, key: Buffer | string): Buffer {
  const keyBytes = toKeyBytes(key);
  const out = Buffer.allocUnsafe(prefix.length + keyBytes.length);
  prefix.copy(out, 0);
  keyBytes.copy(out, prefix.length);
  return out;
}

/** Splits a database key from `allNamespacesRange` into namespace and entry key. */
export function parseEntryKey(dbKey: Buffer): { namespace: string; key: Buffer } {
  const end = dbKey.indexOf(0, NAMESPACE_PREFIX.length);
  if (end < 0 || !dbKey.subarray(0, NAMESPACE_PREFIX.length).equals(NAMESPACE_PREFIX)) {
    throw new TypeError(`not a namespace entry key: ${dbKey.toString('hex')}`);
  }
  return {
    namespace: dbKey.toString('utf8', NAMESPACE_PREFIX.length, end),
    key: dbKey.subarray(end + 1),
  };
}

/** The namespace of a lookup-table database that holds its rows (see the layout above). */
export const TABLE_ROWS_NAMESPACE = 'table-rows';

/** A row's database key: the key value's text (`42` and `"42"` are one key), UTF-8. */
export function tableRowKey(keyText: string): Buffer {
  return Buffer.from(keyText, 'utf8');
}

export function encodeTableRow(row: Record<string, unknown>): Buffer {
  return packr.pack(row);
}

export function decodeTableRow(bytes: Buffer): Record<string, unknown> {
  const value = packr.unpack(bytes) as unknown;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError('table row is not a map of columns');
  }
  return value as Record<string, unknown>;
}
