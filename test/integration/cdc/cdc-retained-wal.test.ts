import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { type CdcSource, startCdcSource } from '../../../actors/cdc/cdc-source.ts';
import { type AdminServer, startAdminServer } from '../../../runtime/admin-server.ts';
import { createLogger } from '../../../runtime/logger.ts';
import { Metrics } from '../../../runtime/metrics.ts';
import {
  Collector,
  cdcConfig,
  cdcNames,
  connectAdmin,
  dropCdcObjects,
  scrapeRetainedWal,
} from './cdc-fixture.ts';

describe('CDC source: the slot’s retained WAL on /metrics', { timeout: 60_000 }, () => {
  const names = cdcNames('cdc_wal');
  const table = `${names.base}_t`;
  let admin: pg.Client;
  let server: AdminServer;
  let source: CdcSource | undefined;

  before(async () => {
    admin = await connectAdmin();
    await admin.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, payload text)`);
  });

  after(async () => {
    await source?.stop();
    await server?.close();
    await dropCdcObjects(admin, names, [table]);
    await admin.end();
  });

  it('sluice_cdc_retained_wal_bytes{source,slot} is served and grows while changes wait for checkpoints', async () => {
    const metrics = new Metrics();
    server = await startAdminServer({ host: '127.0.0.1', port: 0, metrics, isReady: () => true });
    const collector = new Collector();
    const fatal: Error[] = [];
    source = await startCdcSource({
      config: cdcConfig(names, [table], { heartbeatMs: 200 }),
      log: createLogger({ level: 'warn' }),
      deliver: collector.deliver,
      resumeFrom: async () => null,
      onFatal: (error) => fatal.push(error),
      metrics: { recorder: metrics, source: 'db' },
    });
    const first = await scrapeRetainedWal(server.port, names.slot);
    assert.notEqual(first, null, 'the gauge is there from the start');
    const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    assert.match(
      text,
      new RegExp(`sluice_cdc_retained_wal_bytes\\{source="db",slot="${names.slot}"\\} \\d+`),
    );

    // Nothing is checkpointed, so the slot keeps every byte written from here on.
    await admin.query(`INSERT INTO ${table} SELECT g, repeat('x', 1000) FROM generate_series(1, 2000) g`);
    await collector.waitFor(2000);
    const deadline = Date.now() + 10_000;
    let latest = first ?? 0;
    while (latest < (first ?? 0) + 1_000_000) {
      assert.ok(Date.now() < deadline, `retained WAL went from ${first} to ${latest} only`);
      await sleep(100);
      latest = (await scrapeRetainedWal(server.port, names.slot)) ?? 0;
    }
    // Nothing was acknowledged, so the slot's restart point stayed put: a later direct reading is no smaller.
    const direct = (await source.retainedWalBytes()) ?? 0;
    assert.ok(direct >= latest, `direct reading ${direct} < gauge ${latest}`);
    assert.deepEqual(fatal, []);
  });
});
