/**
 * Debezium's ExtractNewRecordState ("unwrap") transform: the envelope flattened to the
 * row itself, for windows and streams that group by column values. Pure.
 *
 * The row is `after`, or `before` for a delete (Debezium's `delete.handling.mode=rewrite`),
 * plus the metadata Debezium's `add.fields` would add: `__op`, `__table`, `__lsn`,
 * `__source_ts_ms`, and `__deleted` ("true"/"false", as Debezium writes it). A column
 * that clashes with a metadata name is overwritten by the metadata.
 */
import type { Envelope } from './debezium-envelope.ts';

export function unwrapEnvelope(envelope: Envelope): Envelope {
  const source = envelope.source as { schema: string; table: string; lsn: number; ts_ms: number };
  const deleted = envelope.op === 'd';
  const row = (deleted ? envelope.before : envelope.after) as Record<string, unknown> | null;
  return {
    ...row,
    __op: envelope.op,
    __table: `${source.schema}.${source.table}`,
    __lsn: source.lsn,
    __source_ts_ms: source.ts_ms,
    __deleted: deleted ? 'true' : 'false',
  };
}
