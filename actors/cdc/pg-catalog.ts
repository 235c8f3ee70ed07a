/**
 * What the CDC source asks Postgres's catalog and the replication protocol: table shapes
 * with their primary keys, the slot and the publication (created when missing), and a
 * slot created together with an exported snapshot.
 *
 * Identifiers are always quoted with `quoteIdent`; table names come from the topology.
 */
import pg from 'pg';
import { cdcError } from './cdc-errors.ts';
import type { TableShape } from './debezium-envelope.ts';
import { parseLsn } from './lsn.ts';

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function splitTableName(qualified: string): { schema: string; table: string } {
  const dot = qualified.indexOf('.');
  return dot < 0
    ? { schema: 'public', table: qualified }
    : { schema: qualified.slice(0, dot), table: qualified.slice(dot + 1) };
}

export function quoteTable(shape: { schema: string; table: string }): string {
  return `${quoteIdent(shape.schema)}.${quoteIdent(shape.table)}`;
}

/** Columns (in attribute order) and primary key of a table; schema version 1. */
export async function readTableShape(client: pg.Client, qualified: string): Promise<TableShape> {
  const { schema, table } = splitTableName(qualified);
  const columns = await client.query<{ name: string; type_oid: number; type_mod: number }>(
    `SELECT a.attname AS name, a.atttypid::int AS type_oid, a.atttypmod AS type_mod
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [schema, table],
  );
  if (columns.rows.length === 0) {
    throw cdcError('SLUICE_ERR_CDC_TABLE_INVALID', [qualified, 'no such table (or it has no columns)']);
  }
  const key = await client.query<{ name: string }>(
    `SELECT a.attname AS name
       FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
      WHERE i.indrelid = $1::regclass AND i.indisprimary
      ORDER BY array_position(i.indkey::int2[], a.attnum)`,
    [`${quoteIdent(schema)}.${quoteIdent(table)}`],
  );
  return {
    schema,
    table,
    columns: columns.rows.map((row) => ({ name: row.name, typeOid: row.type_oid, typeMod: row.type_mod })),
    keyColumns: key.rows.map((row) => row.name),
    version: 1,
  };
}

/** The slot's confirmed LSN, or null when the slot does not exist. */
export async function slotConfirmedLsn(client: pg.Client, slot: string): Promise<bigint | null> {
  const result = await client.query<{ lsn: string | null }>(
    'SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
    [slot],
  );
  if (result.rows.length === 0) return null;
  return parseLsn(result.rows[0].lsn ?? '0/0');
}

/** WAL the slot keeps on the server: current WAL position minus the slot's restart LSN. */
export async function slotRetainedBytes(client: pg.Client, slot: string): Promise<number | null> {
  const result = await client.query<{ bytes: string | null }>(
    'SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text AS bytes FROM pg_replication_slots WHERE slot_name = $1',
    [slot],
  );
  return result.rows.length === 0 ? null : Number(result.rows[0].bytes ?? 0);
}

export async function publicationExists(client: pg.Client, publication: string): Promise<boolean> {
  const result = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [publication]);
  return result.rows.length > 0;
}

export async function createPublication(
  client: pg.Client,
  publication: string,
  tables: TableShape[],
): Promise<void> {
  const list = tables.map(quoteTable).join(', ');
  await client.query(`CREATE PUBLICATION ${quoteIdent(publication)} FOR TABLE ${list}`);
}

export async function dropSlot(client: pg.Client, slot: string): Promise<void> {
  await client.query('SELECT pg_drop_replication_slot($1)', [slot]);
}

export interface ExportedSlot {
  consistentPoint: bigint;
  /** Name for `SET TRANSACTION SNAPSHOT`; valid until `release`. */
  snapshotName: string | null;
  /** Closes the replication connection that keeps the exported snapshot alive. */
  release(): Promise<void>;
}

/**
 * Creates a pgoutput slot on a replication connection. With `exportSnapshot` the
 * connection stays open (and idle) so another session can import the snapshot, which
 * shows exactly the data committed before the slot's consistent point.
 */
export async function createSlot(
  connection: pg.ClientConfig,
  slot: string,
  exportSnapshot: boolean,
): Promise<ExportedSlot> {
  const client = new pg.Client({ ...connection, replication: 'database' } as pg.ClientConfig);
  await client.connect();
  try {
    const mode = exportSnapshot ? 'EXPORT_SNAPSHOT' : 'NOEXPORT_SNAPSHOT';
    const result = await client.query<{ consistent_point: string; snapshot_name: string | null }>(
      `CREATE_REPLICATION_SLOT ${quoteIdent(slot)} LOGICAL pgoutput ${mode}`,
    );
    const row = result.rows[0];
    const release = async () => {
      await client.end().catch(() => {});
    };
    if (!exportSnapshot) await release();
    return { consistentPoint: parseLsn(row.consistent_point), snapshotName: row.snapshot_name, release };
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
}
