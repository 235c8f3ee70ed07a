import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { LogicalReplicationService, type Pgoutput, PgoutputPlugin } from 'pg-logical-replication';
import { postgres, uniqueName } from '../helpers/services.ts';

describe('PostgreSQL smoke: logical replication with pgoutput', { timeout: 60_000 }, () => {
  const admin = new pg.Client({ connectionString: postgres.connectionString });
  const table = uniqueName('smoke_cdc');
  const publication = `${table}_pub`;
  const slot = `${table}_slot`;

  before(async () => {
    await admin.connect();
    await admin.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, label text NOT NULL)`);
    await admin.query(`CREATE PUBLICATION ${publication} FOR TABLE ${table}`);
    await admin.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
  });

  after(async () => {
    // A slot stays active for a moment after its walsender's client leaves.
    for (let attempt = 0; attempt < 50; attempt++) {
      const { rows } = await admin.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [
        slot,
      ]);
      if (rows.length === 0) break;
      if (!rows[0].active) {
        await admin.query('SELECT pg_drop_replication_slot($1)', [slot]);
        break;
      }
      await sleep(100);
    }
    await admin.query(`DROP PUBLICATION IF EXISTS ${publication}`);
    await admin.query(`DROP TABLE IF EXISTS ${table}`);
    await admin.end();
  });

  it('runs with wal_level=logical', async () => {
    const { rows } = await admin.query('SHOW wal_level');
    assert.equal(rows[0].wal_level, 'logical');
  });

  it('streams an inserted row through a replication slot to pg-logical-replication', async () => {
    const service = new LogicalReplicationService(
      { connectionString: postgres.connectionString },
      { acknowledge: { auto: true, timeoutSeconds: 0 } },
    );
    const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [publication] });
    try {
      const inserted = new Promise<Pgoutput.MessageInsert>((resolve, reject) => {
        service.on('error', reject);
        service.on('data', (_lsn: string, message: Pgoutput.Message) => {
          if (message.tag === 'insert') resolve(message);
        });
      });
      const started = new Promise<void>((resolve) => service.once('start', () => resolve()));
      const streaming = service.subscribe(plugin, slot);
      streaming.catch(() => {});
      await Promise.race([started, streaming]);

      await admin.query(`INSERT INTO ${table} (id, label) VALUES (1, 'first')`);
      const change = await inserted;
      assert.equal(change.relation.schema, 'public');
      assert.equal(change.relation.name, table);
      assert.deepEqual({ ...change.new }, { id: 1, label: 'first' });
    } finally {
      await service.destroy();
    }
  });
});
