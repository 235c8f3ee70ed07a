/**
 * The BigQuery table of a window's rows: its schema from the window's shape, the
 * conversion of an output row, and the row's insertId. Pure.
 *
 * window_start/window_end are TIMESTAMPs (the table is partitioned by day on
 * window_start); key fields STRING; counts INT64; sums, averages, min and max FLOAT64;
 * first/last STRING; version INT64.
 */
import { createHash } from 'node:crypto';
import type { Aggregate } from '../../runtime/topology/aggregate-expression.ts';
import type { RowShape } from './clickhouse-table.ts';

export interface BigQueryField {
  name: string;
  type: 'TIMESTAMP' | 'STRING' | 'INT64' | 'FLOAT64';
  mode: 'REQUIRED' | 'NULLABLE';
}

function aggregateField(aggregate: Aggregate): BigQueryField {
  switch (aggregate.fn) {
    case 'count':
    case 'count_distinct':
      return { name: aggregate.name, type: 'INT64', mode: 'REQUIRED' };
    case 'first':
    case 'last':
      return { name: aggregate.name, type: 'STRING', mode: 'NULLABLE' };
    default:
      return { name: aggregate.name, type: 'FLOAT64', mode: 'NULLABLE' };
  }
}

export function bigQueryFields(shape: RowShape): BigQueryField[] {
  return [
    { name: 'window_start', type: 'TIMESTAMP', mode: 'REQUIRED' },
    { name: 'window_end', type: 'TIMESTAMP', mode: 'REQUIRED' },
    ...shape.groupBy.map((name): BigQueryField => ({ name, type: 'STRING', mode: 'NULLABLE' })),
    ...shape.aggregates.map(aggregateField),
    { name: 'version', type: 'INT64', mode: 'REQUIRED' },
  ];
}

function toValue(field: BigQueryField, value: unknown): unknown {
  if (value === null || value === undefined)
    return field.type === 'INT64' && field.mode === 'REQUIRED' ? 0 : null;
  if (field.type === 'TIMESTAMP') return typeof value === 'number' ? new Date(value).toISOString() : value;
  if (field.type === 'STRING') return typeof value === 'string' ? value : JSON.stringify(value);
  return value;
}

/** One output row as the `json` of an insertAll row. Values that do not fit are left for the API to reject. */
export function toBigQueryRow(
  fields: readonly BigQueryField[],
  row: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) out[field.name] = toValue(field, row[field.name]);
  return out;
}

/**
 * The insertId of a row: a hash of (window_start, key values, version), the identity of
 * one firing of one window, so a replayed firing gets the same id. Without a
 * window_start (raw events) the whole line is hashed.
 */
export function insertIdOf(row: Record<string, unknown>, groupBy: readonly string[], line: string): string {
  const hash = createHash('sha256');
  if (row.window_start === undefined) hash.update(line);
  else
    hash.update(
      JSON.stringify([row.window_start, ...groupBy.map((field) => row[field] ?? null), row.version]),
    );
  return hash.digest('base64url').slice(0, 32);
}

function toStorageValue(field: BigQueryField, value: unknown): unknown {
  if (value === null || value === undefined) {
    if (field.mode === 'NULLABLE') return null;
    if (field.type === 'INT64') return 0;
    throw new Error(`${field.name} is required but missing`);
  }
  switch (field.type) {
    case 'TIMESTAMP': {
      const ms = typeof value === 'number' ? value : Date.parse(String(value));
      if (!Number.isFinite(ms)) throw new Error(`${field.name} is not a timestamp: ${JSON.stringify(value)}`);
      return Math.round(ms * 1000);
    }
    case 'STRING':
      return typeof value === 'string' ? value : JSON.stringify(value);
    case 'INT64':
      if (!Number.isSafeInteger(value))
        throw new Error(`${field.name} is not an integer: ${JSON.stringify(value)}`);
      return value;
    default:
      if (typeof value !== 'number')
        throw new Error(`${field.name} is not a number: ${JSON.stringify(value)}`);
      return value;
  }
}

/**
 * One output row for the Storage Write API (TIMESTAMP as microseconds since the epoch).
 * Throws when a value does not fit its column: the row is refused before it gets an
 * offset. Pure, so a replayed row is refused (or kept) the same way.
 */
export function toStorageRow(
  fields: readonly BigQueryField[],
  row: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) out[field.name] = toStorageValue(field, row[field.name]);
  return out;
}
