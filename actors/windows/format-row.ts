import type { OutputRow } from './types.ts';

function json(value: unknown): string {
  return JSON.stringify(value === undefined ? null : value) ?? 'null';
}

/**
 * The output row as one JSON line without a trailing newline:
 * `{"window_start":…,"window_end":…,<groupBy fields>,<aggregates>,"version":n}`.
 * Key fields and aggregates keep the row's insertion order, which the operator sets
 * to config order; window_start, window_end and version are placed explicitly.
 */
export function formatRow(row: OutputRow): string {
  let line = `{"window_start":${json(row.window_start)},"window_end":${json(row.window_end)}`;
  for (const field in row) {
    if (field === 'window_start' || field === 'window_end' || field === 'version') continue;
    line += `,${JSON.stringify(field)}:${json(row[field])}`;
  }
  return `${line},"version":${json(row.version)}}`;
}
