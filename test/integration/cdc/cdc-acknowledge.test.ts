import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { parseLsn } from '../../../actors/cdc/lsn.ts';
import {
  Collector,
  cdcConfig,
  cdcNames,
  connectAdmin,
  dropCdcObjects,
  startCollecting,
} from './cdc-fixture.ts';

async function confirmed(admin: pg.Client, slot: string): Promise<bigint> {
  const { rows } = await admin.query(
    'SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
    [slot],
  );
  return parseLsn(rows[0].lsn);
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

describe('CDC source: the slot is confirmed only past checkpointed changes', { timeout: 60_000 }, () => {
  const names = cdcNames('cdc_ack');
  const users = `${names.base}_users`;
  const orders = `${names.base}_orders`;
  let admin: pg.Client;

  before(async () => {
    admin = await connectAdmin();
    await admin.query(`CREATE TABLE ${users} (id integer PRIMARY KEY, name text)`);
    await admin.query(`CREATE TABLE ${orders} (id integer PRIMARY KEY, amount integer)`);
  });

  after(async () => {
    await dropCdcObjects(admin, names, [users, orders]);
    await admin.end();
  });

  it('unacknowledged changes come back after a restart, checkpointed ones do not, and none is lost', async () => {
    const config = cdcConfig(names, [users, orders], { heartbeatMs: 200 });
    const first = new Collector();
    const run1 = await startCollecting(config, first);
    await admin.query(`INSERT INTO ${users} VALUES (1, 'ann')`);
    await admin.query(`INSERT INTO ${orders} VALUES (10, 5)`);
    await admin.query(`INSERT INTO ${users} VALUES (2, 'bob')`);
    await first.waitFor(3);
    const commitOf = (position: string) => parseLsn(position.split('#')[0]);
    const annCommit = commitOf(first.received[0].position);
    const bobCommit = commitOf(first.received[2].position);
    // Heartbeats pass, but users holds the slot at its first change until it checkpoints.
    await sleep(800);
    assert.ok((await confirmed(admin, names.slot)) <= annCommit, 'ann not confirmed before any checkpoint');
    const orderPosition = first.received.find((r) => r.partition === 1)?.position ?? '';
    run1.source.onCheckpointed(1, orderPosition);
    await sleep(400);
    assert.ok((await confirmed(admin, names.slot)) <= annCommit, 'users still pending holds the slot');
    const annPosition = first.received[0].position;
    run1.source.onCheckpointed(0, annPosition);
    await until(async () => (await confirmed(admin, names.slot)) > annCommit, 'the slot moves past ann');
    await sleep(400);
    assert.ok((await confirmed(admin, names.slot)) <= bobCommit, 'bob is not confirmed');
    // "Crash": stop without checkpointing bob.
    await run1.source.stop();

    const second = new Collector();
    const run2 = await startCollecting(config, second, [annPosition, orderPosition]);
    await admin.query(`INSERT INTO ${users} VALUES (3, 'cy')`);
    const events = await second.waitFor(2);
    assert.deepEqual(
      events.map((r) => r.event.after.id),
      [2, 3],
      'bob is re-read, ann and the order are not, cy is new',
    );
    // Every partition checkpointed: a quiet database still lets the slot advance (heartbeat).
    run2.source.onCheckpointed(0, events[1].position);
    await until(
      async () => (await confirmed(admin, names.slot)) > commitOf(events[1].position),
      'cy is confirmed',
    );
    const settled = await confirmed(admin, names.slot);
    await until(
      async () => (await confirmed(admin, names.slot)) > settled,
      'heartbeats advance a quiet slot',
    );
    assert.deepEqual(run2.fatal, []);
    await run2.source.stop();
  });

  it('a slot dropped while checkpoints refer to it is fatal, not a silent re-snapshot', async () => {
    const config = cdcConfig(names, [users, orders]);
    await until(async () => {
      const { rows } = await admin.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [
        names.slot,
      ]);
      return rows.length === 0 || !rows[0].active;
    }, 'the slot is released');
    await admin.query('SELECT pg_drop_replication_slot($1)', [names.slot]);
    await assert.rejects(
      startCollecting(config, new Collector(), ['0/1#0', null]),
      (error: Error & { code?: string }) => error.code === 'SLUICE_ERR_CDC_SLOT_MISSING',
    );
  });
});
