import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import { startSluice } from '../../e2e/sluice-process.ts';
import { kafkaBrokers, postgres } from '../helpers/services.ts';
import {
  cdcNames,
  connectAdmin,
  deleteTopics,
  dropCdcObjects,
  readTopic,
  scrapeRetainedWal,
  type TopicRecord,
} from './cdc-fixture.ts';

function topology(
  names: { base: string; slot: string; publication: string },
  table: string,
  adminPort: number,
): string {
  return `name: cdc-publish-crash
workers: 1
admin: { port: ${adminPort} }
checkpoint: { interval: 300ms, keep: 2, snapshotEvery: 3 }
sources:
  db:
    type: cdc
    connection: ${postgres.connectionString}
    slot: ${names.slot}
    publication: ${names.publication}
    tables: [public.${table}]
    topicPrefix: ${names.base}
    heartbeat: 500ms
    publish: { type: kafka, brokers: [${kafkaBrokers.join(', ')}], topics: create, partitions: 2 }
sinks: {}
`;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function topicSize(topic: string): Promise<number> {
  const kafka = new kafkajs.Kafka({ brokers: kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return 0;
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, offset) => sum + Number(offset.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** The table as a consumer of the topic sees it: the last record per key wins, a delete or tombstone removes. */
function rebuilt(records: TopicRecord[]): Map<number, number> {
  const state = new Map<number, number>();
  for (const record of records) {
    const id = JSON.parse(record.key ?? 'null').id as number;
    if (record.value === null || record.value.op === 'd') state.delete(id);
    else state.set(id, record.value.after.amount);
  }
  return state;
}

describe('CDC published to Kafka across kill -9 of the sluice process', { timeout: 150_000 }, () => {
  it('every committed change reaches the topic; what was published but not acknowledged is published again', async (t) => {
    const names = cdcNames('cdc_pubcrash');
    const table = `${names.base}_orders`;
    const topic = `${names.base}.public.${table}`;
    const dir = await mkdtemp(join(tmpdir(), 'sluice-cdc-publish-crash-'));
    const admin = await connectAdmin();
    const writer = await connectAdmin();
    t.after(async () => {
      await writer.end();
      await dropCdcObjects(admin, names, [table]);
      await admin.end();
      await deleteTopics([topic]);
      await rm(dir, { recursive: true, force: true });
    });
    await admin.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, amount integer NOT NULL)`);
    await admin.query(`INSERT INTO ${table} SELECT g, g FROM generate_series(1, 200) g`);
    const adminPort = await freePort();
    await writeFile(join(dir, 'job.yaml'), topology(names, table, adminPort));

    let writing = true;
    let next = 201;
    const writeLoad = async () => {
      while (writing) {
        await writer.query('BEGIN');
        await writer.query(`INSERT INTO ${table} VALUES ($1, $1)`, [next]);
        await writer.query(`UPDATE ${table} SET amount = amount + 1 WHERE id = $1`, [next - 100]);
        if (next % 7 === 0) await writer.query(`DELETE FROM ${table} WHERE id = $1`, [next - 150]);
        await writer.query('COMMIT');
        next++;
        await sleep(2);
      }
    };
    // The load starts once the first run has published its snapshot, so the snapshot holds rows 1-200.
    let load: Promise<void> | null = null;

    for (let run = 0; run < 3; run++) {
      const running = startSluice(['start', 'job.yaml'], { cwd: dir });
      // Kill only once this run has published records of its own.
      const before = await topicSize(topic);
      const started = Date.now();
      while ((await topicSize(topic)) <= before) {
        assert.ok(Date.now() - started < 30_000, `run ${run} published nothing: ${running.stderr}`);
        await sleep(100);
      }
      load ??= writeLoad();
      await sleep(300 + Math.floor(Math.random() * 1200));
      assert.equal(running.child.exitCode, null, `sluice exited by itself: ${running.stderr}`);
      running.child.kill('SIGKILL');
      await running.finished;
    }
    writing = false;
    await load;
    const last = next - 1;

    const final = startSluice(['start', 'job.yaml'], { cwd: dir });
    const { rows } = await admin.query<{ id: number; amount: number }>(`SELECT id, amount FROM ${table}`);
    const expected = new Map(rows.map((row) => [row.id, row.amount]));
    const same = (state: Map<number, number>) =>
      state.size === expected.size && [...expected].every(([id, amount]) => state.get(id) === amount);
    const deadline = Date.now() + 40_000;
    let records = await readTopic(topic);
    while (!same(rebuilt(records))) {
      assert.ok(
        Date.now() < deadline,
        `the topic rebuilds ${rebuilt(records).size} of ${expected.size} rows: ${final.stderr}`,
      );
      await sleep(500);
      records = await readTopic(topic);
    }
    const retained = await scrapeRetainedWal(adminPort, names.slot);
    assert.ok(
      retained !== null && retained >= 0,
      'the running job shows the slot’s retained WAL on /metrics',
    );
    final.child.kill('SIGTERM');
    const result = await final.finished;
    assert.equal(result.code, 0, result.stderr);

    const changes = records.filter((record) => record.value !== null).map((record) => record.value!);
    const reads = changes.filter((change) => change.op === 'r');
    // A kill before the first checkpoint re-creates the slot and snapshots again: more reads, none missing.
    const readIds = new Set(reads.map((change) => change.after.id));
    for (let id = 1; id <= 200; id++) assert.ok(readIds.has(id), `snapshot row ${id} is on the topic`);
    for (let id = 201; id <= last; id++) {
      assert.ok(
        changes.some((change) => (change.op === 'c' || change.op === 'r') && change.after.id === id),
        `the insert of ${id} is on the topic`,
      );
    }
    const distinct = new Set(
      changes.map((change) => `${change.source.lsn}:${change.op}:${(change.after ?? change.before).id}`),
    );
    const republished = changes.length - distinct.size;
    t.diagnostic(
      `${changes.length} change records, ${distinct.size} distinct, ${republished} published again`,
    );
    assert.ok(republished > 0, 'kills between Kafka acks and checkpoints re-publish, never skip');
  });
});
