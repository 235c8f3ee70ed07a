import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import {
  Collector,
  cdcConfig,
  cdcNames,
  connectAdmin,
  dropCdcObjects,
  startCollecting,
} from './cdc-fixture.ts';

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

async function slotExists(admin: pg.Client, slot: string): Promise<boolean> {
  const { rows } = await admin.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot]);
  return rows.length > 0;
}

/** Ends the slot's walsender and drops the slot before the source reconnects (it waits a second). */
async function dropActiveSlot(admin: pg.Client, slot: string): Promise<void> {
  await admin.query(
    'SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active',
    [slot],
  );
  await until(async () => {
    const { rows } = await admin.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [
      slot,
    ]);
    return rows.length === 1 && rows[0].active === false;
  }, 'the walsender let go of the slot');
  await admin.query('SELECT pg_drop_replication_slot($1)', [slot]);
}

describe('CDC source: a dropped slot or publication is an error, never a silent re-snapshot', {
  timeout: 90_000,
}, () => {
  let admin: pg.Client;
  const cleanups: Array<() => Promise<void>> = [];

  before(async () => {
    admin = await connectAdmin();
  });

  after(async () => {
    for (const cleanup of cleanups) await cleanup();
    await admin.end();
  });

  async function prepare(prefix: string) {
    const names = cdcNames(prefix);
    const table = `${names.base}_t`;
    await admin.query(`CREATE TABLE ${table} (id integer PRIMARY KEY)`);
    await admin.query(`INSERT INTO ${table} VALUES (1)`);
    cleanups.push(() => dropCdcObjects(admin, names, [table]));
    return { names, table, config: cdcConfig(names, [table], { heartbeatMs: 200 }) };
  }

  it('a restart that finds the slot but not its publication stops with SLUICE_ERR_CDC_PUBLICATION_MISSING', async () => {
    const { names, config } = await prepare('cdc_nopub');
    const collector = new Collector();
    const first = await startCollecting(config, collector);
    const [row] = await collector.waitFor(1);
    first.source.onCheckpointed(0, row.position);
    await first.source.stop();
    await admin.query(`DROP PUBLICATION ${names.publication}`);

    await assert.rejects(
      startCollecting(config, new Collector(), [row.position]),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'SLUICE_ERR_CDC_PUBLICATION_MISSING');
        assert.match(error.message, new RegExp(`publication ${names.publication} is gone`));
        return true;
      },
    );
    assert.ok(await slotExists(admin, names.slot), 'the slot was left as it was');
  });

  it('a slot dropped while streaming stops the source with SLUICE_ERR_CDC_SLOT_MISSING', async () => {
    const { names, table, config } = await prepare('cdc_noslot');
    const collector = new Collector();
    const { source, fatal } = await startCollecting(config, collector);
    cleanups.push(() => source.stop());
    await collector.waitFor(1);
    await admin.query(`INSERT INTO ${table} VALUES (2)`);
    await collector.waitFor(2);
    await dropActiveSlot(admin, names.slot);
    await admin.query(`INSERT INTO ${table} VALUES (3)`);

    await until(() => fatal.length > 0, 'the source reports the missing slot');
    assert.equal((fatal[0] as Error & { code?: string }).code, 'SLUICE_ERR_CDC_SLOT_MISSING');
    assert.match(fatal[0].message, new RegExp(`replication slot ${names.slot} is gone`));
    assert.match(fatal[0].message, /Not re-snapshotting silently/);
    await sleep(1500);
    assert.equal(await slotExists(admin, names.slot), false, 'no new slot was created');
    assert.deepEqual(
      collector.received.map((r) => [r.event.op, r.event.after.id]),
      [
        ['r', 1],
        ['c', 2],
      ],
      'no snapshot read again, nothing after the slot was gone',
    );
  });

  it('a publication dropped while streaming stops the source with SLUICE_ERR_CDC_PUBLICATION_MISSING', async () => {
    const { names, table, config } = await prepare('cdc_droppub');
    const collector = new Collector();
    const { source, fatal } = await startCollecting(config, collector);
    cleanups.push(() => source.stop());
    await collector.waitFor(1);
    await admin.query(`DROP PUBLICATION ${names.publication}`);
    // The server notices when it decodes the next change of the table.
    await admin.query(`INSERT INTO ${table} VALUES (2)`);

    await until(() => fatal.length > 0, 'the source reports the missing publication');
    assert.equal((fatal[0] as Error & { code?: string }).code, 'SLUICE_ERR_CDC_PUBLICATION_MISSING');
    assert.match(fatal[0].message, new RegExp(`publication ${names.publication} is gone`));
    await sleep(1500);
    assert.ok(await slotExists(admin, names.slot), 'the slot is kept (its changes are still there)');
    assert.deepEqual(
      collector.received.map((r) => r.event.op),
      ['r'],
      'no snapshot read again',
    );
  });
});
