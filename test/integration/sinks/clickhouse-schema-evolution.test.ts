import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runSluice } from '../../e2e/sluice-process.ts';
import { clickhouse, uniqueName } from '../helpers/services.ts';
import { clickhouseCommand, clickhouseQuery } from './clickhouse-helpers.ts';
import { fileTopology, testEvents, writeEvents } from './file-source-topology.ts';

function sink(table: string, schema: 'evolve' | 'strict'): string {
  return `{ type: clickhouse, url: "${clickhouse.url}", table: ${table}, create: true, schema: ${schema} }`;
}

describe('ClickHouse schema evolution', { timeout: 90_000 }, () => {
  it('adds the column of a new aggregate at restart with schema evolve, and fills it', async (t) => {
    const table = uniqueName('chevolve');
    const dir = await mkdtemp(join(tmpdir(), 'sluice-ch-evolve-'));
    t.after(async () => {
      await rm(dir, { recursive: true, force: true });
      await clickhouseCommand(`DROP TABLE IF EXISTS default.${table}`);
    });
    const events = testEvents(6000, 20);
    await writeEvents(dir, events);
    const write = (aggregate: string, schema: 'evolve' | 'strict') =>
      writeFile(
        join(dir, 'job.yaml'),
        fileTopology({ name: 'evolve', aggregate, sink: sink(table, schema) }),
      );

    await write('events: count()', 'strict');
    const first = await runSluice(['start', 'job.yaml'], { cwd: dir, timeoutMs: 30_000 });
    assert.equal(first.code, 0, first.stderr);
    const columnsOf = async () =>
      (
        await clickhouseQuery<{ name: string }>(
          `SELECT name FROM system.columns WHERE database = 'default' AND table = '${table}'`,
        )
      ).map((column) => column.name);
    assert.deepEqual(await columnsOf(), ['window_start', 'window_end', 'user_id', 'events', 'version']);

    await rm(join(dir, '.sluice'), { recursive: true, force: true });
    await write('events: count(), amount: sum(amount)', 'evolve');
    const second = await runSluice(['start', 'job.yaml'], { cwd: dir, timeoutMs: 30_000 });
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(await columnsOf(), [
      'window_start',
      'window_end',
      'user_id',
      'events',
      'version',
      'amount',
    ]);
    const [totals] = await clickhouseQuery<{
      row_count: string;
      unfilled: string;
      total_events: string;
      total_amount: number;
    }>(
      `SELECT count() AS row_count, countIf(amount IS NULL) AS unfilled, sum(events) AS total_events, sum(amount) AS total_amount FROM default.${table} FINAL`,
    );
    assert.equal(Number(totals?.unfilled), 0);
    assert.equal(Number(totals?.total_events), events.length);
    assert.equal(
      totals?.total_amount,
      events.reduce((sum, event) => sum + event.amount, 0),
    );
  });

  it('stops the start with the missing column named when schema is strict', async (t) => {
    const table = uniqueName('chstrict');
    const dir = await mkdtemp(join(tmpdir(), 'sluice-ch-strict-'));
    t.after(async () => {
      await rm(dir, { recursive: true, force: true });
      await clickhouseCommand(`DROP TABLE IF EXISTS default.${table}`);
    });
    await writeEvents(dir, testEvents(100, 2));
    await clickhouseCommand(
      `CREATE TABLE default.${table} (window_start UInt64, window_end UInt64, user_id String, events UInt64, version UInt64) ENGINE = ReplacingMergeTree(version) ORDER BY (user_id, window_start)`,
    );
    await writeFile(
      join(dir, 'job.yaml'),
      fileTopology({
        name: 'strict',
        aggregate: 'events: count(), pages: count_distinct(page)',
        sink: sink(table, 'strict'),
      }),
    );
    const result = await runSluice(['start', 'job.yaml'], { cwd: dir, timeoutMs: 30_000 });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /missing column\(s\) pages; set schema: evolve to add them/);
  });
});
