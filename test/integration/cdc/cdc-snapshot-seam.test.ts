import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { CdcSource } from '../../../actors/cdc/cdc-source.ts';
import {
  Collector,
  cdcConfig,
  cdcNames,
  connectAdmin,
  dropCdcObjects,
  startCollecting,
} from './cdc-fixture.ts';

describe('CDC source: initial snapshot and streaming meet without gap or double', { timeout: 60_000 }, () => {
  const names = cdcNames('cdc_seam');
  const table = `${names.base}_t`;
  let admin: pg.Client;
  let writer: pg.Client;
  let source: CdcSource | undefined;
  const collector = new Collector();

  before(async () => {
    admin = await connectAdmin();
    writer = await connectAdmin();
    await admin.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, n integer NOT NULL)`);
    await admin.query(`INSERT INTO ${table} SELECT g, 0 FROM generate_series(1, 3000) g`);
  });

  after(async () => {
    await source?.stop();
    await dropCdcObjects(admin, names, [table]);
    await writer.end();
    await admin.end();
  });

  it('rows written while the snapshot is taken appear exactly once, as a read or as a change', async () => {
    let writing = true;
    let next = 3001;
    const written: number[] = [];
    const updates: number[] = [];
    const load = (async () => {
      while (writing) {
        await writer.query(`INSERT INTO ${table} VALUES ($1, 0)`, [next]);
        written.push(next++);
        const id = 1 + (next % 3000);
        await writer.query(`UPDATE ${table} SET n = n + 1 WHERE id = $1`, [id]);
        updates.push(id);
      }
    })();
    await sleep(100);
    // A slow first deliveries stretch the snapshot so writes overlap it.
    let slow = 5;
    const deliver = collector.deliver;
    collector.deliver = async (partition, message) => {
      if (slow-- > 0) await sleep(50);
      await deliver(partition, message);
    };
    ({ source } = await startCollecting(cdcConfig(names, [table], { batchSize: 500 }), collector));
    await sleep(300);
    writing = false;
    await load;
    const final = await admin.query<{ id: number; n: number }>(`SELECT id, n FROM ${table} ORDER BY id`);
    const expected = new Map(final.rows.map((row) => [row.id, row.n]));

    // Replay the change log onto an empty table: it must equal the table.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const state = new Map<number, number>();
      const seen = new Set<string>();
      for (const { event, position } of collector.received) {
        assert.ok(!seen.has(position), `position ${position} delivered twice`);
        seen.add(position);
        if (event.op === 'r' || event.op === 'c') {
          assert.ok(!state.has(event.after.id) || event.op === 'r', `row ${event.after.id} created twice`);
          state.set(event.after.id, event.after.n);
        } else if (event.op === 'u') {
          state.set(event.after.id, event.after.n);
        }
      }
      const equal = state.size === expected.size && [...expected].every(([id, n]) => state.get(id) === n);
      if (equal) break;
      if (Date.now() > deadline) {
        assert.fail(`table has ${expected.size} rows, change log rebuilt ${state.size}`);
      }
      await sleep(100);
    }
    const reads = collector.received.filter((r) => r.event.op === 'r');
    const creates = collector.received.filter((r) => r.event.op === 'c');
    assert.equal(new Set(reads.map((r) => r.event.after.id)).size, reads.length, 'no row read twice');
    const readIds = new Set(reads.map((r) => r.event.after.id));
    for (const create of creates)
      assert.ok(!readIds.has(create.event.after.id), 'a row read is not created again');
    assert.ok(written.length > 0 && updates.length > 0);
    assert.ok(reads.length >= 3000);
    assert.ok(creates.length > 0, 'writes went on after the slot was created');
    assert.ok(
      reads.some((r) => r.event.after.id > 3000),
      'writes before the slot are in the snapshot',
    );
  });
});
