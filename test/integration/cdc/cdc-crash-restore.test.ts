import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSluice } from '../../e2e/sluice-process.ts';
import { postgres } from '../helpers/services.ts';
import { cdcNames, connectAdmin, dropCdcObjects, type Envelope } from './cdc-fixture.ts';

function topology(names: { slot: string; publication: string }, table: string): string {
  return `name: cdc-crash
workers: 1
checkpoint: { interval: 200ms, keep: 2, snapshotEvery: 3 }
sources:
  db:
    type: cdc
    connection: ${postgres.connectionString}
    slot: ${names.slot}
    publication: ${names.publication}
    tables: [public.${table}]
    topicPrefix: shop
    heartbeat: 500ms
streams:
  changes: { from: db, to: [out] }
sinks:
  out: { type: file, path: ./out/changes.jsonl }
`;
}

async function changesIn(dir: string): Promise<Envelope[]> {
  const text = await readFile(join(dir, 'out', 'changes.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line));
}

describe('CDC → stream → file across kill -9 of the sluice process', { timeout: 120_000 }, () => {
  it('after restarts every change is in the output, none lost', async (t) => {
    const names = cdcNames('cdc_crash');
    const table = `${names.base}_orders`;
    const dir = await mkdtemp(join(tmpdir(), 'sluice-cdc-crash-'));
    const admin = await connectAdmin();
    const writer = await connectAdmin();
    t.after(async () => {
      await writer.end();
      await dropCdcObjects(admin, names, [table]);
      await admin.end();
      await rm(dir, { recursive: true, force: true });
    });
    await admin.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, amount integer NOT NULL)`);
    await admin.query(`INSERT INTO ${table} SELECT g, g FROM generate_series(1, 200) g`);
    await writeFile(join(dir, 'job.yaml'), topology(names, table));

    let writing = true;
    let next = 201;
    const load = (async () => {
      while (writing) {
        await writer.query('BEGIN');
        await writer.query(`INSERT INTO ${table} VALUES ($1, $1)`, [next]);
        await writer.query(`UPDATE ${table} SET amount = amount + 1 WHERE id = $1`, [next - 100]);
        await writer.query('COMMIT');
        next++;
        await sleep(2);
      }
    })();

    let kills = 0;
    for (let run = 0; run < 3; run++) {
      const running = startSluice(['start', 'job.yaml'], { cwd: dir });
      // Kill only once this run has written output of its own.
      const before = (await changesIn(dir)).length;
      const started = Date.now();
      while ((await changesIn(dir)).length <= before) {
        assert.ok(Date.now() - started < 20_000, `run ${run} wrote nothing: ${running.stderr}`);
        await sleep(100);
      }
      await sleep(300 + Math.floor(Math.random() * 1200));
      assert.equal(running.child.exitCode, null, `sluice exited by itself: ${running.stderr}`);
      running.child.kill('SIGKILL');
      kills++;
      await running.finished;
    }
    writing = false;
    await load;
    const last = next - 1;
    const final = startSluice(['start', 'job.yaml'], {
      cwd: dir,
      env: { SLUICE_LOG: process.env.CDC_TEST_LOG ?? 'warn' },
    });
    const rebuilt = (changes: Envelope[]) => {
      const state = new Map<number, number>();
      for (const change of changes) {
        if (change.op === 'd') state.delete(change.before.id);
        else state.set(change.after.id, change.after.amount);
      }
      return state;
    };
    const { rows } = await admin.query<{ id: number; amount: number }>(`SELECT id, amount FROM ${table}`);
    const expected = new Map(rows.map((row) => [row.id, row.amount]));
    const same = (state: Map<number, number>) =>
      state.size === expected.size && [...expected].every(([id, amount]) => state.get(id) === amount);
    const deadline = Date.now() + 30_000;
    let changes = await changesIn(dir);
    while (!same(rebuilt(changes))) {
      assert.ok(
        Date.now() < deadline,
        `output rebuilds ${rebuilt(changes).size} of ${expected.size} rows: ${final.stderr}`,
      );
      await sleep(250);
      changes = await changesIn(dir);
    }
    final.child.kill('SIGTERM');
    const result = await final.finished;
    assert.equal(result.code, 0, result.stderr);
    changes = await changesIn(dir);

    assert.equal(kills, 3);
    assert.ok(same(rebuilt(changes)), 'replaying the output gives the table');
    const reads = changes.filter((c) => c.op === 'r');
    const snapshotMax = Math.max(...reads.map((c) => c.after.id));
    assert.equal(new Set(reads.map((c) => c.after.id)).size, reads.length, 'no row read twice');
    for (let id = snapshotMax + 1; id <= last; id++) {
      assert.ok(
        changes.some((c) => c.op === 'c' && c.after.id === id),
        `insert of ${id} (after the snapshot) is in the output`,
      );
    }
    assert.ok(last - snapshotMax > 100, 'most inserts were streamed, across the kills');
    const unique = new Set(changes.map((c) => `${c.source.lsn}:${c.op}:${c.after.id}`));
    t.diagnostic(
      `${changes.length} lines, ${unique.size} distinct changes, ${changes.length - unique.size} re-read`,
    );
  });
});
