/**
 * One output row as a Kafka record: the key names the window (window_start and the key
 * fields), so a compacted topic keeps the latest version of each window and key, and
 * the value is the row as JSON or msgpack. Pure.
 */
import { pack } from 'msgpackr';

export type KafkaSinkFormat = 'json' | 'msgpack';

export interface KafkaSinkRecord {
  key: string | null;
  value: Buffer | string;
}

function keyPart(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * `<window_start>|<field 1>|<field 2>…` for window rows; the key fields alone for rows
 * without window_start (raw events); null when no key fields are configured.
 */
export function recordKey(row: Record<string, unknown>, keyFields: readonly string[]): string | null {
  if (keyFields.length === 0) return null;
  const parts = keyFields.map((field) => keyPart(row[field]));
  if (row.window_start !== undefined) parts.unshift(keyPart(row.window_start));
  return parts.join('|');
}

/** The record for one JSON line; throws when the line is not JSON. */
export function toKafkaRecord(
  line: string,
  keyFields: readonly string[],
  format: KafkaSinkFormat,
): KafkaSinkRecord {
  const row = JSON.parse(line) as Record<string, unknown>;
  return { key: recordKey(row, keyFields), value: format === 'json' ? line : pack(row) };
}
