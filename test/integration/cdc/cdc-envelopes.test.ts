import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import type { CdcSource } from '../../../actors/cdc/cdc-source.ts';
import { UNAVAILABLE_VALUE } from '../../../actors/cdc/debezium-envelope.ts';
import {
  Collector,
  cdcConfig,
  cdcNames,
  connectAdmin,
  dropCdcObjects,
  startCollecting,
} from './cdc-fixture.ts';

describe('CDC source: Debezium envelopes from a real PostgreSQL', { timeout: 60_000 }, () => {
  const names = cdcNames('cdc_env');
  const typed = `${names.base}_typed`;
  const docs = `${names.base}_docs`;
  let admin: pg.Client;
  let source: CdcSource;
  const collector = new Collector();

  before(async () => {
    admin = await connectAdmin();
    await admin.query(`CREATE TABLE ${typed} (
      id bigint PRIMARY KEY, small smallint, amount numeric(20,6), ratio double precision, label text,
      active boolean, created_at timestamp, updated_at timestamptz, day date, doc jsonb, ref uuid,
      tags text[], scores integer[])`);
    await admin.query(`ALTER TABLE ${typed} REPLICA IDENTITY FULL`);
    await admin.query(`CREATE TABLE ${docs} (id integer PRIMARY KEY, title text, body text)`);
    await admin.query(`INSERT INTO ${docs} VALUES (1, 'snap', 'before the slot')`);
    ({ source } = await startCollecting(cdcConfig(names, [typed, docs]), collector));
    await collector.waitFor(1);
  });

  after(async () => {
    await source?.stop();
    await dropCdcObjects(admin, names, [typed, docs]);
    await admin.end();
  });

  it('a row present before the slot is a snapshot read (op r) with its key', async () => {
    const [first] = collector.received;
    assert.equal(first.partition, 1);
    assert.equal(first.event.op, 'r');
    assert.deepEqual(first.event.after, { id: 1, title: 'snap', body: 'before the slot' });
    assert.equal(first.event.before, null);
    assert.equal(first.event.source.snapshot, 'last');
    assert.deepEqual(first.event._key, { id: 1 });
    assert.match(first.position, /^snapshot@/);
  });

  it('insert, update and delete of every supported type carry Debezium values field by field', async () => {
    await admin.query("SET TIME ZONE 'Europe/Paris'");
    await admin.query(`INSERT INTO ${typed} VALUES (9007199254740993, 7, 12345678901234.000001, 0.25, 'héllo',
      true, '2024-03-01 12:34:56.123456', '2024-03-01 12:34:56.5+02', '2024-03-01', '{"a": [1, 2]}',
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"x y",NULL}', '{1,2}')`);
    await admin.query(`UPDATE ${typed} SET label = NULL, active = false WHERE id = 9007199254740993`);
    await admin.query(`DELETE FROM ${typed} WHERE id = 9007199254740993`);
    const events = (await collector.waitFor(4)).slice(1).map((r) => r.event);
    const [insert, update, remove] = events;
    const expectedRow = {
      id: '9007199254740993',
      small: 7,
      amount: '12345678901234.000001',
      ratio: 0.25,
      label: 'héllo',
      active: true,
      created_at: 1709296496123456,
      updated_at: '2024-03-01T10:34:56.5Z',
      day: 19783,
      doc: '{"a": [1, 2]}',
      ref: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      tags: ['x y', null],
      scores: [1, 2],
    };
    assert.equal(insert.op, 'c');
    assert.equal(insert.before, null);
    assert.deepEqual(insert.after, expectedRow);
    assert.deepEqual(insert._key, { id: '9007199254740993' });
    assert.equal(insert._schemaVersion, 1);
    const source = insert.source;
    assert.equal(source.connector, 'postgresql');
    assert.equal(source.name, 'shop');
    assert.equal(source.db, 'sluice_test');
    assert.equal(source.schema, 'public');
    assert.equal(source.table, typed);
    assert.equal(source.snapshot, 'false');
    assert.equal(typeof source.txId, 'number');
    assert.equal(typeof source.lsn, 'number');
    assert.ok(Math.abs(source.ts_ms - Date.now()) < 10_000);
    assert.equal(typeof insert.ts_ms, 'number');

    assert.equal(update.op, 'u');
    assert.deepEqual(update.before, expectedRow, 'REPLICA IDENTITY FULL fills before');
    assert.deepEqual(update.after, { ...expectedRow, label: null, active: false });
    assert.ok(update.source.lsn > insert.source.lsn);

    assert.equal(remove.op, 'd');
    assert.deepEqual(remove.before, { ...expectedRow, label: null, active: false });
    assert.equal(remove.after, null);
  });

  it('an update that leaves a TOASTed value unchanged marks it unavailable, not null', async () => {
    // EXTERNAL storage keeps the value out of line (TOASTed) and uncompressed.
    await admin.query(`ALTER TABLE ${docs} ALTER COLUMN body SET STORAGE EXTERNAL`);
    const big = randomBytes(8_000).toString('hex');
    await admin.query(`INSERT INTO ${docs} VALUES (2, 't', $1)`, [big]);
    await admin.query(`UPDATE ${docs} SET title = 'changed' WHERE id = 2`);
    await admin.query(`DELETE FROM ${docs} WHERE id = 2`);
    const [insert, update, remove] = (await collector.waitFor(7)).slice(4).map((r) => r.event);
    assert.ok(insert.after.body === big, 'the inserted TOASTed value arrives whole');
    assert.deepEqual(update.after, { id: 2, title: 'changed', body: UNAVAILABLE_VALUE });
    assert.equal(update.before, null, 'default replica identity: no before on update');
    assert.deepEqual(remove.before, { id: 2, title: null, body: null });
  });

  it('a column added mid-stream shows up from that change on, with the next schema version', async () => {
    await admin.query(`INSERT INTO ${docs} VALUES (3, 'old shape', 'b')`);
    await admin.query(`ALTER TABLE ${docs} ADD COLUMN country text`);
    await admin.query(`INSERT INTO ${docs} VALUES (4, 'new shape', 'b', 'FR')`);
    await admin.query(`ALTER TABLE ${docs} DROP COLUMN body`);
    await admin.query(`INSERT INTO ${docs} VALUES (5, 'dropped')`);
    const [old, added, dropped] = (await collector.waitFor(10)).slice(7).map((r) => r.event);
    assert.deepEqual(old.after, { id: 3, title: 'old shape', body: 'b' });
    assert.equal(old._schemaVersion, 1);
    assert.deepEqual(added.after, { id: 4, title: 'new shape', body: 'b', country: 'FR' });
    assert.equal(added._schemaVersion, 2);
    assert.deepEqual(dropped.after, { id: 5, title: 'dropped', country: null });
    assert.equal(dropped._schemaVersion, 3);
  });
});
