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

describe('CDC source: a lost replication connection is resumed', { timeout: 60_000 }, () => {
  const names = cdcNames('cdc_reconnect');
  const table = `${names.base}_t`;
  let admin: pg.Client;
  let source: CdcSource | undefined;

  before(async () => {
    admin = await connectAdmin();
    await admin.query(`CREATE TABLE ${table} (id integer PRIMARY KEY)`);
  });

  after(async () => {
    await source?.stop();
    await dropCdcObjects(admin, names, [table]);
    await admin.end();
  });

  it('after the server ends the walsender, streaming goes on from the slot without loss or repeats', async () => {
    const collector = new Collector();
    let fatal: Error[];
    ({ source, fatal } = await startCollecting(cdcConfig(names, [table]), collector));
    await admin.query(`INSERT INTO ${table} SELECT generate_series(1, 50)`);
    await collector.waitFor(50);
    // What a Postgres restart does to the stream: the server side of the connection goes away.
    const { rows } = await admin.query(
      'SELECT pg_terminate_backend(active_pid) AS done FROM pg_replication_slots WHERE slot_name = $1 AND active',
      [names.slot],
    );
    assert.equal(rows[0]?.done, true);
    await admin.query(`INSERT INTO ${table} SELECT generate_series(51, 100)`);
    await collector.waitFor(100, 20_000);
    await sleep(300);
    const ids = collector.received.map((r) => r.event.after.id);
    assert.deepEqual(
      ids,
      Array.from({ length: 100 }, (_, index) => index + 1),
    );
    assert.deepEqual(fatal, []);
  });
});
