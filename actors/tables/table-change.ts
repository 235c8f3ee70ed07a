/**
 * What one CDC change event does to a lookup table: upsert a row by key, or remove one.
 * Reads both shapes the cdc source delivers: Debezium's envelope (`op`, `before`,
 * `after`) and the unwrapped row (`__op`, columns, `__deleted`). Pure.
 *
 * Keys are compared as text (`lookupKeyText`), so a row whose key column is the integer
 * 42 is found by an event carrying 42 or "42".
 */
import { UNAVAILABLE_VALUE } from '../cdc/debezium-envelope.ts';

export type TableRow = Record<string, unknown>;

export type TableChange =
  /** Insert, update or snapshot read; `previousKey` is set when an update changed the key. */
  | { kind: 'upsert'; key: string; row: TableRow; previousKey: string | null; unchangedToast: string[] }
  | { kind: 'delete'; key: string }
  /** A change the table cannot use (no key value); counted, never applied. */
  | { kind: 'skip'; reason: string };

/** The text a key value is matched by; null for values that cannot be a key (null, objects, NaN). */
export function lookupKeyText(value: unknown): string | null {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
      return Number.isFinite(value) ? String(value) : null;
    case 'bigint':
    case 'boolean':
      return String(value);
    default:
      return null;
  }
}

const UNWRAP_METADATA = new Set(['__op', '__table', '__lsn', '__source_ts_ms', '__deleted']);

/** The table change an event of the table's CDC partition carries. */
export function tableChange(event: Record<string, unknown>, keyColumn: string): TableChange {
  if (typeof event.op === 'string') return envelopeChange(event, keyColumn);
  if (typeof event.__op === 'string') return unwrappedChange(event, keyColumn);
  return { kind: 'skip', reason: 'neither a Debezium envelope nor an unwrapped change' };
}

function envelopeChange(event: Record<string, unknown>, keyColumn: string): TableChange {
  const before = asRow(event.before);
  const after = asRow(event.after);
  if (event.op === 'd') {
    const key = lookupKeyText(before?.[keyColumn]);
    return key === null
      ? { kind: 'skip', reason: `delete without a ${keyColumn} value` }
      : { kind: 'delete', key };
  }
  if (after === null) return { kind: 'skip', reason: `op ${String(event.op)} without an after row` };
  return upsert(after, before, keyColumn);
}

function unwrappedChange(event: Record<string, unknown>, keyColumn: string): TableChange {
  const row: TableRow = {};
  for (const [name, value] of Object.entries(event)) if (!UNWRAP_METADATA.has(name)) row[name] = value;
  if (event.__op === 'd' || event.__deleted === 'true') {
    const key = lookupKeyText(row[keyColumn]);
    return key === null
      ? { kind: 'skip', reason: `delete without a ${keyColumn} value` }
      : { kind: 'delete', key };
  }
  return upsert(row, null, keyColumn);
}

function upsert(after: TableRow, before: TableRow | null, keyColumn: string): TableChange {
  const key = lookupKeyText(after[keyColumn]);
  if (key === null) return { kind: 'skip', reason: `row without a ${keyColumn} value` };
  const oldKey = before === null ? null : lookupKeyText(before[keyColumn]);
  const unchangedToast: string[] = [];
  for (const [name, value] of Object.entries(after))
    if (value === UNAVAILABLE_VALUE) unchangedToast.push(name);
  return {
    kind: 'upsert',
    key,
    row: after,
    previousKey: oldKey !== null && oldKey !== key ? oldKey : null,
    unchangedToast,
  };
}

function asRow(value: unknown): TableRow | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as TableRow) : null;
}
