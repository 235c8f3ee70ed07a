import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LookupTable } from '../../../actors/tables/lookup-table.ts';
import { tableStateDir } from '../../../actors/tables/lookup-tables.ts';
import { resolveTableColumns } from '../../../actors/tables/table-columns.ts';
import { TopologyError } from '../../../runtime/errors.ts';
import { createLogger } from '../../../runtime/logger.ts';
import { loadTopology } from '../../../runtime/topology/load-topology.ts';
import { startSluice } from '../../e2e/sluice-process.ts';
import { cdcNames, connectAdmin, dropCdcObjects } from '../cdc/cdc-fixture.ts';
import { postgres } from '../helpers/services.ts';

type Line = Record<string, unknown>;

function topology(names: { slot: string; publication: string }, table: string): string {
  return `name: enrich-it
workers: 2
checkpoint: { interval: 300ms, keep: 2, snapshotEvery: 3 }
sources:
  db:
    type: cdc
    connection: ${postgres.connectionString}
    slot: ${names.slot}
    publication: ${names.publication}
    tables: [public.${table}]
    heartbeat: 500ms
  payments:
    type: generator
    key: user_id
    keys: 6
    rate: 400
    partitions: 2
    time: { field: ts }
tables:
  users: { from: db, table: public.${table}, key: id }
streams:
  enriched:
    from: payments
    enrich: [{ table: users, on: user_id, fields: [country], onMissing: dead-letter }]
    to: [events]
windows:
  spend:
    from: payments
    enrich: [{ table: users, on: user_id, fields: { user_country: country }, onMissing: keep }]
    window: { type: tumbling, size: 1s }
    groupBy: [user_country]
    aggregate: { payments: count(), amount: sum(amount) }
    to: [rows]
sinks:
  events: { type: file, path: ./out/events.jsonl }
  rows: { type: file, path: ./out/rows.jsonl }
  dlq: { type: file, path: ./out/dlq.jsonl }
deadLetter: dlq
`;
}

/** Lines of every per-partition file `<name>.p<n>.jsonl`, by file. */
async function linesOf(dir: string, name: string): Promise<Map<string, Line[]>> {
  const files = (await readdir(join(dir, 'out')).catch(() => [] as string[])).filter(
    (file) => file.startsWith(`${name}.`) && file.endsWith('.jsonl'),
  );
  const out = new Map<string, Line[]>();
  for (const file of files.sort()) {
    const text = await readFile(join(dir, 'out', file), 'utf8');
    // A line being written may be cut short; only whole lines count.
    const whole = text.slice(0, text.lastIndexOf('\n') + 1);
    out.set(
      file,
      whole
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line)),
    );
  }
  return out;
}

async function waitUntil(what: string, check: () => Promise<boolean>, stderr: () => string, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}\n${stderr()}`);
    await sleep(100);
  }
}

/** The countries user `id`'s events carry, in file order, with repeats collapsed. */
function countrySequence(lines: Line[], id: string): unknown[] {
  const sequence: unknown[] = [];
  for (const line of lines) {
    if (line.user_id !== id) continue;
    if (sequence[sequence.length - 1] !== line.country) sequence.push(line.country);
  }
  return sequence;
}

describe('enrichment of a generator stream by a CDC lookup table (real PostgreSQL)', {
  timeout: 150_000,
}, () => {
  it('reflects a row change from the point it was applied, and keeps the table across kill -9', async (t) => {
    const names = cdcNames('enrich');
    const table = `${names.base}_users`;
    const dir = await mkdtemp(join(tmpdir(), 'sluice-enrich-'));
    const admin = await connectAdmin();
    t.after(async () => {
      await dropCdcObjects(admin, names, [table]);
      await admin.end();
      await rm(dir, { recursive: true, force: true });
    });
    await admin.query(`CREATE TABLE ${table} (id text PRIMARY KEY, country text, name text)`);
    await admin.query(
      `INSERT INTO ${table} VALUES ('u0', 'US', 'Ann'), ('u1', 'DE', 'Bo'), ('u2', 'JP', 'Cy'), ('u3', 'IN', 'Di'), ('u4', 'IN', 'Ed'), ('u5', 'MX', 'Fa')`,
    );
    await writeFile(join(dir, 'job.yaml'), topology(names, table));

    // First run: the snapshot fills the table; then u0 moves from US to FR.
    const first = startSluice(['start', 'job.yaml'], { cwd: dir, env: { SLUICE_LOG: 'info' } });
    const events = async () => [...(await linesOf(dir, 'events')).values()].flat();
    await waitUntil(
      'enriched events of u0 with US',
      async () => (await events()).some((line) => line.user_id === 'u0' && line.country === 'US'),
      () => first.stderr,
    );
    await admin.query(`UPDATE ${table} SET country = 'FR' WHERE id = 'u0'`);
    await waitUntil(
      'events of u0 with FR',
      async () => (await events()).some((line) => line.user_id === 'u0' && line.country === 'FR'),
      () => first.stderr,
    );
    for (const [file, lines] of await linesOf(dir, 'events')) {
      const sequence = countrySequence(lines, 'u0');
      if (sequence.length > 0)
        assert.deepEqual(sequence, sequence.includes('US') ? ['US', 'FR'] : ['FR'], file);
    }
    // Let the table checkpoint the change, then crash.
    await sleep(1000);
    assert.equal(first.child.exitCode, null, `sluice exited by itself: ${first.stderr}`);
    first.child.kill('SIGKILL');
    await first.finished;

    // While sluice is down: u0 moves again, u1 is deleted.
    await admin.query(`UPDATE ${table} SET country = 'BR' WHERE id = 'u0'`);
    await admin.query(`DELETE FROM ${table} WHERE id = 'u1'`);

    const second = startSluice(['start', 'job.yaml'], { cwd: dir, env: { SLUICE_LOG: 'info' } });
    await waitUntil(
      'events of u0 with BR after the restart',
      async () => (await events()).some((line) => line.user_id === 'u0' && line.country === 'BR'),
      () => second.stderr,
    );
    const deadLetters = async () => [...(await linesOf(dir, 'dlq')).values()].flat();
    await waitUntil(
      'a dead letter for an event of the deleted u1',
      async () => (await deadLetters()).some((line) => String(line.raw).includes('"user_id":"u1"')),
      () => second.stderr,
    );
    // Windows group by the looked-up column: the moves show as rows per country, u1 as null.
    const countries = async () =>
      new Set([...(await linesOf(dir, 'rows')).values()].flat().map((row) => row.user_country));
    await waitUntil(
      'window rows for every country and for the deleted user',
      async () => {
        const seen = await countries();
        return ['US', 'FR', 'BR', 'JP', null].every((country) => seen.has(country));
      },
      () => second.stderr,
    );
    second.child.kill('SIGTERM');
    const stopped = await second.finished;
    assert.equal(stopped.code, 0, stopped.stderr);

    // The restart resumed the slot: no second snapshot, no re-created slot.
    assert.match(first.stderr, /cdc slot created/);
    assert.doesNotMatch(second.stderr, /cdc slot created|initial snapshot/);
    assert.match(second.stderr, /cdc resuming from slot/);

    // Per partition, u0's events go US → FR → BR, never back: the output follows the table.
    for (const [file, lines] of await linesOf(dir, 'events')) {
      const sequence = countrySequence(lines, 'u0');
      if (sequence.length === 0) continue;
      const order = ['US', 'FR', 'BR'];
      const ranks = sequence.map((country) => order.indexOf(String(country)));
      assert.ok(
        ranks.every((rank, index) => rank >= 0 && (index === 0 || rank > ranks[index - 1])),
        `${file}: ${sequence}`,
      );
      assert.equal(sequence[sequence.length - 1], 'BR', file);
    }
    const letter = (await deadLetters()).find((line) => String(line.raw).includes('"user_id":"u1"'));
    assert.equal(letter?.code, 'ENRICH_MISSING');
    assert.equal(letter?.source, 'payments');
    assert.equal(typeof letter?.position, 'number');
    assert.match(String(letter?.reason), /enriched: enrich users: no row with key u1 \(field user_id\)/);
    // The table's LevelDB state equals the Postgres table.
    const stored = await LookupTable.open({
      name: 'users',
      dir: tableStateDir(join(dir, '.sluice', 'enrich-it'), 'users'),
      keyColumn: 'id',
      keep: 2,
      snapshotEvery: 3,
      log: createLogger({ level: 'error' }),
    });
    const state: Record<string, unknown> = {};
    for await (const [key, row] of stored.rows()) state[key] = row;
    await stored.close();
    const { rows: expected } = await admin.query(`SELECT id, country, name FROM ${table} ORDER BY id`);
    assert.deepEqual(state, Object.fromEntries(expected.map((row) => [row.id, row])));
  });

  it('rejects at start a key that is not the primary key and a column the table lacks, with their paths', async (t) => {
    const names = cdcNames('enrich_cols');
    const table = `${names.base}_users`;
    const dir = await mkdtemp(join(tmpdir(), 'sluice-enrich-cols-'));
    const admin = await connectAdmin();
    t.after(async () => {
      await admin.query(`DROP TABLE IF EXISTS ${table}`);
      await admin.end();
      await rm(dir, { recursive: true, force: true });
    });
    await admin.query(`CREATE TABLE ${table} (id text PRIMARY KEY, country text)`);
    const text = topology(names, table)
      .replace('key: id }', 'key: country }')
      .replace('fields: [country]', 'fields: [country, tier]');
    await writeFile(join(dir, 'job.yaml'), text);
    const loaded = await loadTopology(join(dir, 'job.yaml'));
    const error = await resolveTableColumns(loaded).then(
      () => assert.fail('accepted'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof TopologyError, String(error));
    const problems = error.problems.map((problem) => [problem.path, problem.line]);
    assert.deepEqual(problems, [
      ['tables.users.key', 20],
      ['streams.enriched.enrich.0.fields.1', 24],
    ]);
    assert.match(
      error.message,
      /expected the single-column primary key of public\.\S+, got 'country'; it is \(id\)/,
    );
    assert.match(error.message, /expected a column of public\.\S+ \(id, country\), got 'tier'/);
  });
});
