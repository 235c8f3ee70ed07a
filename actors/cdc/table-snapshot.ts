/**
 * The initial snapshot: every listed table read inside one REPEATABLE READ transaction
 * that imported the slot's exported snapshot, so it shows exactly the rows committed
 * before the slot's consistent point; streaming starts at that point, so no change is
 * missed or seen twice at the seam. Rows are fetched through a cursor in batches and
 * handed over one batch at a time (the caller's `deliver` back-pressures the read).
 */
import pg from 'pg';
import { buildEnvelope, type Envelope, type RawTuple, type TableShape } from './debezium-envelope.ts';
import { snapshotPosition } from './lsn.ts';
import { quoteIdent, quoteTable } from './pg-catalog.ts';

export interface SnapshotBatch {
  partition: number;
  events: Envelope[];
  positions: string[];
}

/** Every value as Postgres text: conversion happens in one place, for snapshot and stream alike. */
const RAW_TEXT = { getTypeParser: () => (value: string) => value };

export async function readSnapshot(options: {
  connection: pg.ClientConfig;
  snapshotName: string;
  consistentPoint: bigint;
  shapes: TableShape[];
  context: { name: string; db: string; now: () => number };
  batchSize: number;
  /** Called once the snapshot is imported: the exporting connection may close. */
  onImported(): Promise<void>;
  deliver(batch: SnapshotBatch): Promise<void>;
}): Promise<void> {
  const client = new pg.Client(options.connection);
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query(`SET TRANSACTION SNAPSHOT '${options.snapshotName.replaceAll("'", "''")}'`);
    await options.onImported();
    const startedMs = options.context.now();
    for (let partition = 0; partition < options.shapes.length; partition++) {
      const shape = options.shapes[partition];
      const table = quoteTable(shape);
      const count = await client.query<{ rows: string }>(`SELECT count(*)::text AS rows FROM ${table}`);
      const rows = Number(count.rows[0].rows);
      if (rows === 0) continue;
      const columns = shape.columns.map((column) => quoteIdent(column.name)).join(', ');
      const order = shape.keyColumns.map(quoteIdent).join(', ');
      await client.query(
        `DECLARE sluice_snapshot NO SCROLL CURSOR FOR SELECT ${columns} FROM ${table}${order ? ` ORDER BY ${order}` : ''}`,
      );
      let ordinal = 0;
      for (;;) {
        const batch = await client.query<RawTuple>({
          text: `FETCH ${options.batchSize} FROM sluice_snapshot`,
          types: RAW_TEXT,
        });
        if (batch.rows.length === 0) break;
        const events: Envelope[] = [];
        const positions: string[] = [];
        for (const row of batch.rows) {
          const last = ordinal === rows - 1;
          const event = buildEnvelope(
            {
              op: 'r',
              shape,
              before: null,
              keyOnly: false,
              after: row,
              txId: null,
              lsn: options.consistentPoint,
              lastCommitLsn: null,
              commitTimeMs: startedMs,
              snapshot: last ? 'last' : 'true',
            },
            { name: options.context.name, db: options.context.db, nowMs: options.context.now() },
          );
          events.push(event);
          positions.push(snapshotPosition(options.consistentPoint, ordinal, rows));
          ordinal++;
        }
        await options.deliver({ partition, events, positions });
      }
      await client.query('CLOSE sluice_snapshot');
    }
    await client.query('COMMIT');
  } finally {
    await client.end().catch(() => {});
  }
}
