/**
 * Debezium's change-event envelope, built from one decoded change. Pure.
 *
 * Layout (what Debezium's PostgreSQL connector writes as the JSON value, schemas off):
 * `{ before, after, source: { version, connector: 'postgresql', name, ts_ms, snapshot, db,
 * sequence, schema, table, txId, lsn, xmin }, op, ts_ms, transaction }`, so an existing
 * Debezium consumer reads it unchanged. Two extra top-level fields, which Debezium puts
 * elsewhere and consumers ignore:
 * - `_key`: the record key, `{ <primary key column>: value }` (Debezium's message key);
 *   null for a table without a primary key.
 * - `_schemaVersion`: the table's schema version, 1 at start and one more at every
 *   Relation message that changes its columns.
 *
 * `source.ts_ms` is the commit time (snapshot rows: the snapshot's start) and is the same
 * on every replay; the top-level `ts_ms` is when sluice built the event, as in Debezium.
 * Windows should use `source.ts_ms`. An unchanged TOASTed value that Postgres did not
 * send is `"__debezium_unavailable_value"`, never null.
 */
import { convertPgValue, type JsonValue } from './pg-values.ts';

export const UNAVAILABLE_VALUE = '__debezium_unavailable_value';
/** Reported as `source.version`: the Debezium release whose envelope this matches. */
export const DEBEZIUM_VERSION = '2.7.0.Final';

export interface TableColumn {
  name: string;
  typeOid: number;
  typeMod: number;
}

export interface TableShape {
  schema: string;
  table: string;
  columns: TableColumn[];
  keyColumns: string[];
  version: number;
}

/** Column values as Postgres text; null = SQL NULL; undefined = unchanged TOAST not sent. */
export type RawTuple = Record<string, string | null | undefined>;

export interface Change {
  op: 'c' | 'u' | 'd' | 'r';
  shape: TableShape;
  /** Old row: full (REPLICA IDENTITY FULL), key columns only (`keyOnly`), or null. */
  before: RawTuple | null;
  /** Whether `before` holds only the replica identity's key columns. */
  keyOnly: boolean;
  after: RawTuple | null;
  txId: number | null;
  /** The change's own LSN (snapshot rows: the consistent point). */
  lsn: bigint;
  /** Commit LSN of the previous transaction, for `source.sequence`; null in a snapshot. */
  lastCommitLsn: bigint | null;
  commitTimeMs: number;
  /** 'true', 'last' (a table's last snapshot row) or 'false' (streamed). */
  snapshot: 'true' | 'last' | 'false';
}

export interface EnvelopeContext {
  /** Logical name of the connector (`source.name`): the topic prefix. */
  name: string;
  db: string;
  nowMs: number;
}

export type Envelope = Record<string, unknown>;

export function buildEnvelope(change: Change, context: EnvelopeContext): Envelope {
  const { shape } = change;
  const before = change.before === null ? null : convertRow(shape, change.before, change.keyOnly);
  const after = change.after === null ? null : convertRow(shape, change.after, false);
  const keySource = after ?? before;
  return {
    before,
    after,
    source: {
      version: DEBEZIUM_VERSION,
      connector: 'postgresql',
      name: context.name,
      ts_ms: change.commitTimeMs,
      snapshot: change.snapshot,
      db: context.db,
      sequence: JSON.stringify([
        change.lastCommitLsn === null ? null : String(change.lastCommitLsn),
        String(change.lsn),
      ]),
      schema: shape.schema,
      table: shape.table,
      txId: change.txId,
      lsn: Number(change.lsn),
      xmin: null,
    },
    op: change.op,
    ts_ms: context.nowMs,
    transaction: null,
    _key: recordKey(shape, keySource),
    _schemaVersion: shape.version,
  };
}

function convertRow(shape: TableShape, tuple: RawTuple, keyOnly: boolean): Record<string, JsonValue> {
  const row: Record<string, JsonValue> = {};
  for (const column of shape.columns) {
    if (keyOnly && !shape.keyColumns.includes(column.name)) {
      row[column.name] = null;
      continue;
    }
    const raw = tuple[column.name];
    row[column.name] =
      raw === undefined ? UNAVAILABLE_VALUE : convertPgValue(raw, column.typeOid, column.typeMod);
  }
  return row;
}

function recordKey(
  shape: TableShape,
  row: Record<string, JsonValue> | null,
): Record<string, JsonValue> | null {
  if (shape.keyColumns.length === 0 || row === null) return null;
  const key: Record<string, JsonValue> = {};
  for (const name of shape.keyColumns) key[name] = row[name] ?? null;
  return key;
}
