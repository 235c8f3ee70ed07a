import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSluice } from '../../e2e/sluice-process.ts';
import { kafkaBrokers, postgres } from '../helpers/services.ts';
import {
  cdcNames,
  connectAdmin,
  deleteTopics,
  dropCdcObjects,
  type Envelope,
  readTopic,
  type TopicRecord,
} from './cdc-fixture.ts';

function topology(names: { base: string; slot: string; publication: string }, table: string): string {
  return `name: cdc-publish-and-stream
workers: 1
checkpoint: { interval: 300ms }
sources:
  db:
    type: cdc
    connection: ${postgres.connectionString}
    slot: ${names.slot}
    publication: ${names.publication}
    tables: [public.${table}]
    topicPrefix: ${names.base}
    heartbeat: 500ms
    publish: { type: kafka, brokers: [${kafkaBrokers.join(', ')}], topics: create }
streams:
  changes: { from: db, to: [out] }
sinks:
  out: { type: file, path: ./out/changes.jsonl }
`;
}

async function fileChanges(dir: string): Promise<Envelope[]> {
  const text = await readFile(join(dir, 'out', 'changes.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line));
}

const summary = (event: Envelope) => `${event.op}:${(event.after ?? event.before).id}:${event.source.lsn}`;

describe('a cdc source that publishes to Kafka and feeds a stream', { timeout: 90_000 }, () => {
  it('the stream’s file and the topic get the same changes, in the same order, across a graceful restart', async (t) => {
    const names = cdcNames('cdc_pubstream');
    const table = `${names.base}_t`;
    const topic = `${names.base}.public.${table}`;
    const dir = await mkdtemp(join(tmpdir(), 'sluice-cdc-publish-stream-'));
    const admin = await connectAdmin();
    t.after(async () => {
      await dropCdcObjects(admin, names, [table]);
      await admin.end();
      await deleteTopics([topic]);
      await rm(dir, { recursive: true, force: true });
    });
    await admin.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, amount integer NOT NULL)`);
    await admin.query(`INSERT INTO ${table} SELECT g, g FROM generate_series(1, 20) g`);
    await writeFile(join(dir, 'job.yaml'), topology(names, table));
    const running = startSluice(['start', 'job.yaml'], { cwd: dir });
    try {
      const deadline = Date.now() + 40_000;
      while ((await fileChanges(dir)).length < 20) {
        assert.ok(Date.now() < deadline, `no snapshot in the file: ${running.stderr}`);
        await sleep(200);
      }
      await admin.query(`INSERT INTO ${table} SELECT g, g FROM generate_series(21, 40) g`);
      await admin.query(`UPDATE ${table} SET amount = amount * 10 WHERE id % 2 = 0`);
      await admin.query(`DELETE FROM ${table} WHERE id % 5 = 0`);
      const expected = 20 + 20 + 20 + 8;
      while ((await fileChanges(dir)).length < expected) {
        assert.ok(
          Date.now() < deadline,
          `the file has ${(await fileChanges(dir)).length} changes: ${running.stderr}`,
        );
        await sleep(200);
      }
    } finally {
      running.child.kill('SIGTERM');
    }
    const result = await running.finished;
    assert.equal(result.code, 0, result.stderr);

    // A graceful stop publishes what was queued and checkpoints it: the next run repeats nothing.
    const again = startSluice(['start', 'job.yaml'], { cwd: dir });
    try {
      const before = (await fileChanges(dir)).length;
      await admin.query(`INSERT INTO ${table} SELECT g, g FROM generate_series(41, 45) g`);
      const deadline = Date.now() + 40_000;
      while ((await fileChanges(dir)).length < before + 5) {
        assert.ok(Date.now() < deadline, `the second run wrote nothing: ${again.stderr}`);
        await sleep(200);
      }
    } finally {
      again.child.kill('SIGTERM');
    }
    const second = await again.finished;
    assert.equal(second.code, 0, second.stderr);

    const inFile = await fileChanges(dir);
    const records: TopicRecord[] = await readTopic(topic);
    const onTopic = records
      .filter((record) => record.value !== null)
      .map((record) => record.value as Envelope);
    assert.deepEqual(onTopic.map(summary), inFile.map(summary), 'one partition: the same order');
    assert.equal(new Set(onTopic.map(summary)).size, onTopic.length, 'nothing published twice');
    assert.equal(records.length - onTopic.length, 8, 'a tombstone after each delete');
    assert.deepEqual(
      inFile
        .map((event) => event.op)
        .reduce<Record<string, number>>((counts, op) => {
          counts[op] = (counts[op] ?? 0) + 1;
          return counts;
        }, {}),
      { r: 20, c: 25, u: 20, d: 8 },
    );
  });
});
