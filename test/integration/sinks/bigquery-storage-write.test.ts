import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BigQuery } from '@google-cloud/bigquery';
import { adapt, managedwriter } from '@google-cloud/bigquery-storage';
import * as grpc from '@grpc/grpc-js';
import type { SinkWrite } from '../../../actors/partition/partition-plan.ts';
import type { SinkHook } from '../../../actors/partition/sink-hooks.ts';
import { createBigQueryStorageSink, readRecord } from '../../../actors/sinks/bigquery-storage-sink.ts';
import { bigQueryFields, toStorageRow } from '../../../actors/sinks/bigquery-table.ts';
import type { Actor } from '../../../runtime/actor.ts';
import { type Finished, runSluice, startSluice } from '../../e2e/sluice-process.ts';
import { recordingContext } from '../../unit/sinks/fake-sink-context.ts';
import { bigQueryClientOptions, bigquery, uniqueName } from '../helpers/services.ts';

const storageEndpoint = process.env.SLUICE_BIGQUERY_STORAGE_ENDPOINT ?? '127.0.0.1:9060';

const EVENTS = 120_000;

/**
 * A deterministic generator (seed, synthetic clock) paced at 20 000 events/s over two
 * partitions, so rows reach the sink at many checkpoints of two streams.
 */
function topology(table: string): string {
  return `name: bqsw
workers: 1
checkpoint: { interval: 200ms, keep: 2 }
sources:
  events:
    type: generator
    keys: 30
    rate: 20000
    count: ${EVENTS}
    seed: 7
    partitions: 2
    startTime: 2026-01-01T00:00:00Z
windows:
  per_user:
    from: events
    window: { type: tumbling, size: 100ms }
    groupBy: [user_id]
    aggregate: { events: count(), amount: sum(amount), first_page: first(page) }
    to: [warehouse]
sinks:
  warehouse:
    type: bigquery
    api: storage-write
    projectId: ${bigquery.projectId}
    dataset: ${bigquery.dataset}
    table: ${table}
    apiEndpoint: "${bigquery.apiEndpoint}"
    storageEndpoint: "${storageEndpoint}"
    insecure: true
    create: true
  dlq: { type: file, path: ./out/dlq.jsonl }
deadLetter: dlq
`;
}

interface StoredRow {
  user_id: string;
  start_ms: number;
  events: number;
  amount: number;
  first_page: string | null;
  version: number;
}

async function storedRows(client: BigQuery, table: string): Promise<string[]> {
  const [rows] = await client.query({
    query: `SELECT user_id, UNIX_MILLIS(window_start) AS start_ms, events, amount, first_page, version FROM ${bigquery.dataset}.${table}`,
  });
  return (rows as StoredRow[])
    .map((row) =>
      JSON.stringify([
        row.user_id,
        Number(row.start_ms),
        Number(row.events),
        Number(row.amount),
        row.first_page,
        Number(row.version),
      ]),
    )
    .sort();
}

/**
 * Rows the sink has noted as stored, from its stream records: read from disk rather than
 * by querying the emulator, whose one DuckDB connection refuses a call that meets another
 * ("connection is busy") — see the README on the emulator.
 */
async function recordedRows(cwd: string): Promise<number> {
  const dir = join(cwd, '.sluice', 'bqsw', 'bigquery-streams', 'warehouse');
  let total = 0;
  for (const file of await readdir(dir).catch(() => [])) {
    if (!file.endsWith('.json')) continue;
    total += (await readRecord(join(dir, file)).catch(() => null))?.next ?? 0;
  }
  return total;
}

/**
 * Runs the job, killing it with SIGKILL `kills` times, each time once the sink has stored
 * more rows during this run and a random 0–500 ms more, so that kills land between checkpoints and
 * their appends. The run after the last kill is let finish.
 */
async function runKilledWhileWriting(
  cwd: string,
  kills: number,
): Promise<{ kills: number; result: Finished; logs: string }> {
  let logs = '';
  for (let killed = 0; ; ) {
    if (killed >= kills) {
      const result = await runSluice(['start', 'job.yaml'], { cwd, timeoutMs: 60_000 });
      return { kills: killed, result, logs: logs + result.stderr };
    }
    const before = await recordedRows(cwd);
    const running = startSluice(['start', 'job.yaml'], { cwd });
    let exited = false;
    void running.finished.then(() => {
      exited = true;
    });
    const deadline = Date.now() + 30_000;
    while (!exited && Date.now() < deadline && (await recordedRows(cwd)) <= before) await sleep(20);
    await sleep(Math.floor(Math.random() * 500));
    if (running.child.exitCode === null) running.child.kill('SIGKILL');
    const result = await running.finished;
    logs += result.stderr;
    if (result.signal !== 'SIGKILL') {
      assert.equal(result.code, 0, result.stderr);
      return { kills: killed, result, logs };
    }
    killed++;
  }
}

describe('BigQuery sink, api: storage-write (emulator)', { timeout: 150_000 }, () => {
  it('stores exactly the rows of a clean run across kill -9 restarts; the rows are queryable', async (t) => {
    const cleanTable = uniqueName('bqsw_clean');
    const crashTable = uniqueName('bqsw_crash');
    const dir = await mkdtemp(join(tmpdir(), 'sluice-bqsw-'));
    const client = new BigQuery(bigQueryClientOptions());
    t.after(async () => {
      await rm(dir, { recursive: true, force: true });
      for (const table of [cleanTable, crashTable])
        await client
          .dataset(bigquery.dataset)
          .table(table)
          .delete()
          .catch(() => {});
    });
    const cleanDir = join(dir, 'clean');
    const crashDir = join(dir, 'crash');
    await mkdir(cleanDir, { recursive: true });
    await mkdir(crashDir, { recursive: true });
    await writeFile(join(cleanDir, 'job.yaml'), topology(cleanTable));
    await writeFile(join(crashDir, 'job.yaml'), topology(crashTable));

    const clean = await runSluice(['start', 'job.yaml'], { cwd: cleanDir, timeoutMs: 60_000 });
    assert.equal(clean.code, 0, clean.stderr);
    const expected = await storedRows(client, cleanTable);
    const total = expected.reduce((sum, row) => sum + (JSON.parse(row) as number[])[2]!, 0);
    assert.equal(total, EVENTS, 'the clean run stored every event once, in queryable rows');
    assert.equal(new Set(expected).size, expected.length, 'the clean run stored no row twice');

    const { kills, result, logs } = await runKilledWhileWriting(crashDir, 3);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(kills >= 2, `killed ${kills} times`);
    const seen = await storedRows(client, crashTable);
    const settled = logs
      .split('\n')
      .filter((line) => line.includes('bigquery rows of the restored checkpoint settled'));
    t.diagnostic(
      `${kills} kills; ${expected.length} rows; restores that re-appended a checkpoint's rows: ${settled.join(' | ') || 'none'}`,
    );
    assert.equal(seen.length, expected.length, 'no row missing, none twice');
    assert.deepEqual(seen, expected);
  });
});

describe('BigQuery storage-write sink actor (emulator)', { timeout: 60_000 }, () => {
  it('re-appends a checkpoint cut off mid-append at its offsets, storing each row once', async (t) => {
    const table = uniqueName('bqsw_hooks');
    const dir = await mkdtemp(join(tmpdir(), 'sluice-bqsw-hooks-'));
    const client = new BigQuery(bigQueryClientOptions());
    t.after(async () => {
      await rm(dir, { recursive: true, force: true });
      await client
        .dataset(bigquery.dataset)
        .table(table)
        .delete()
        .catch(() => {});
    });
    const shape = { groupBy: ['user_id'], aggregates: [{ name: 'events', fn: 'count' }] } as never;
    const config = {
      name: 'out',
      deadLetter: null,
      batch: { rows: 1000, bytes: 1_000_000, intervalMs: 100 },
      projectId: bigquery.projectId,
      dataset: bigquery.dataset,
      table,
      apiEndpoint: bigquery.apiEndpoint,
      create: true,
      shape,
      storageEndpoint,
      insecure: true,
      stateDir: dir,
    };
    const { ctx, logs } = recordingContext();
    const partition = 'events/0';
    const incarnation = async (restarts: number) => {
      const sink = await createBigQueryStorageSink(config, { name: 'sink:out', restarts });
      await sink.start?.(ctx);
      return sink;
    };
    const hook = (sink: Actor<SinkWrite>, call: SinkHook) => sink.request?.(call.kind, call, ctx);
    const rows = (from: number, count: number) =>
      Array.from(
        { length: count },
        (_, index) =>
          `${JSON.stringify({ window_start: Date.UTC(2026, 0, 1), window_end: Date.UTC(2026, 0, 1, 0, 0, 10), user_id: `u${from + index}`, events: from + index, version: 1 })}\n`,
      ).join('');
    const write = (sink: Actor<SinkWrite>, data: string, checkpoint: number) =>
      sink.receive?.(
        {
          sink: 'out',
          file: null,
          data,
          rows: data.split('\n').length - 1,
          outputs: { per_user: 1 },
          origin: { partition, checkpoint },
        },
        ctx,
      );

    // Incarnation 1: checkpoint 1 records R1 (3 rows); its commit appends them at offsets 0..2.
    const first = await incarnation(0);
    assert.equal(
      await hook(first, { kind: 'recover', sink: 'out', partition, checkpoint: 0, pending: null }),
      null,
    );
    const r1 = rows(0, 3);
    await write(first, r1, 0);
    assert.equal(await hook(first, { kind: 'prepare', sink: 'out', partition }), null);
    assert.equal(await hook(first, { kind: 'commit', sink: 'out', partition, checkpoint: 1 }), null);
    await first.stop?.(ctx);
    const recordPath = join(dir, 'bigquery-streams', 'out', `${encodeURIComponent(partition)}.json`);
    const record = await readRecord(recordPath);
    assert.equal(record?.checkpoint, 1);
    assert.equal(record?.next, 3);

    // Checkpoint 2 records R2 (4 rows); the process dies after appending 2 of them (offsets 3, 4).
    const r2 = rows(3, 4);
    const writer = new managedwriter.WriterClient({
      projectId: bigquery.projectId,
      apiEndpoint: storageEndpoint.split(':')[0],
      port: Number(storageEndpoint.split(':')[1]),
      sslCreds: grpc.credentials.createInsecure(),
    });
    const fields = bigQueryFields(shape);
    const connection = await writer.createStreamConnection({ streamId: record?.stream as string });
    const json = new managedwriter.JSONWriter({
      connection,
      protoDescriptor: adapt.convertStorageSchemaToProto2Descriptor(
        adapt.convertBigQuerySchemaToStorageTableSchema({ fields }),
        'row',
      ),
    });
    const partial = r2
      .trim()
      .split('\n')
      .slice(0, 2)
      .map((line) => toStorageRow(fields, JSON.parse(line)) as never);
    const answer = await json.appendRows(partial, 3).getResult();
    assert.equal(answer.error ?? null, null);
    json.close();
    writer.close();

    // Incarnation 2 restores checkpoint 2: R2 goes again at offsets 3..6, the first two are skipped.
    const second = await incarnation(1);
    assert.equal(
      await hook(second, { kind: 'recover', sink: 'out', partition, checkpoint: 2, pending: r2 }),
      null,
    );
    assert.ok(
      logs.some(
        (line) =>
          line.includes('settled') && line.includes('alreadyStored') && /alreadyStored[^0-9]*2/.test(line),
      ),
      logs.join('\n'),
    );
    assert.equal(
      await hook(second, { kind: 'commit', sink: 'out', partition: 'events/1', checkpoint: 3 }),
      'this sink has not recovered the partition (the sink restarted)',
    );
    await second.stop?.(ctx);
    assert.equal((await readRecord(recordPath))?.next, 7);

    // Incarnation 3 restores checkpoint 2 again: the record says R2 is stored; nothing is appended.
    const third = await incarnation(2);
    assert.equal(
      await hook(third, { kind: 'recover', sink: 'out', partition, checkpoint: 2, pending: r2 }),
      null,
    );
    await third.stop?.(ctx);

    const [stored] = await client.query({
      query: `SELECT user_id, events FROM ${bigquery.dataset}.${table} ORDER BY events`,
    });
    assert.deepEqual(
      (stored as Array<{ user_id: string; events: number }>).map(
        (row) => `${row.user_id}:${Number(row.events)}`,
      ),
      ['u0:0', 'u1:1', 'u2:2', 'u3:3', 'u4:4', 'u5:5', 'u6:6'],
    );
  });
});
