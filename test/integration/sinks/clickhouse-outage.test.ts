/**
 * Issue 6, §4: ClickHouse away for 30 s mid-stream, then back. The sink talks to the
 * server through a TCP proxy that the test takes down (listener closed, connections cut:
 * every connect is refused) and brings up again on the same port. Meanwhile the test
 * samples the process's RSS and scrapes its `/metrics`: the sink holds its rows back and
 * retries, the sources stop reading with input left, memory stays flat; afterwards
 * `SELECT … FINAL` equals a clean run's result.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { residentBytes, runSluice, startSluice } from '../../e2e/sluice-process.ts';
import { clickhouse, uniqueName } from '../helpers/services.ts';
import {
  clickhouseCommand,
  clickhouseQuery,
  clickhouseTopology,
  deleteTopic,
  finalRows,
  freePort,
  produceSpreadEvents,
  type Scrape,
  scrapeMetrics,
} from './clickhouse-helpers.ts';
import { TcpProxy } from './tcp-proxy.ts';

const columns = 'window_start, window_end, user_id, events, amount, pages, version';
const events = 160_000;
const outageMs = 30_000;
/** Small mailboxes and source batches, so that a stalled sink stops the sources early. */
const bounded = 'mailbox: { capacity: 4 }\nbatch: { size: 500 }\n';

async function tableRows(table: string): Promise<number> {
  const [exists] = await clickhouseQuery<{ n: string }>(
    `SELECT count() AS n FROM system.tables WHERE database = 'default' AND name = '${table}'`,
  );
  if (Number(exists?.n) === 0) return 0;
  const [count] = await clickhouseQuery<{ n: string }>(`SELECT count() AS n FROM default.${table}`);
  return Number(count?.n);
}

describe('ClickHouse sink while the server is away', { timeout: 240_000 }, () => {
  it('holds rows back and pauses the sources for a 30 s outage mid-stream, with bounded memory, and loses or doubles none', async (t) => {
    const topic = uniqueName('chdown');
    const dir = await mkdtemp(join(tmpdir(), 'sluice-ch-down-'));
    const cleanTable = `${topic}_clean`;
    const outageTable = `${topic}_outage`;
    const target = new URL(clickhouse.url);
    const proxy = new TcpProxy(target.hostname, Number(target.port));
    t.after(async () => {
      await proxy.down();
      await rm(dir, { recursive: true, force: true });
      await deleteTopic(topic);
      for (const table of [cleanTable, outageTable])
        await clickhouseCommand(`DROP TABLE IF EXISTS default.${table}`);
    });
    // 100 users, an event every 20 ms: 3200 s of event time, 320 windows fired along the stream.
    await produceSpreadEvents({ topic, count: events, users: 100, partitions: 4, stepMs: 20 });
    await proxy.up();
    const adminPort = await freePort();
    const cleanDir = join(dir, 'clean');
    const outageDir = join(dir, 'outage');
    await mkdir(cleanDir, { recursive: true });
    await mkdir(outageDir, { recursive: true });
    const batch = '{ rows: 2000, bytes: 1MiB, interval: 100ms }';
    await writeFile(
      join(cleanDir, 'job.yaml'),
      clickhouseTopology({
        name: 'chdown',
        topic,
        group: `${cleanTable}-g`,
        table: cleanTable,
        batch,
        extra: bounded,
      }),
    );
    await writeFile(
      join(outageDir, 'job.yaml'),
      clickhouseTopology({
        name: 'chdown',
        topic,
        group: `${outageTable}-g`,
        table: outageTable,
        url: `http://127.0.0.1:${proxy.port}`,
        batch,
        extra: `${bounded}admin: { port: ${adminPort} }\n`,
      }),
    );
    const clean = await runSluice(['start', 'job.yaml'], { cwd: cleanDir, timeoutMs: 90_000 });
    assert.equal(clean.code, 0, clean.stderr);

    const running = startSluice(['start', 'job.yaml'], { cwd: outageDir });
    t.after(() => {
      if (running.child.exitCode === null) running.child.kill('SIGKILL');
    });
    const pid = running.child.pid as number;
    let visible = 0;
    for (let waited = 0; visible === 0 && waited < 60_000; waited += 50) {
      await sleep(50);
      assert.equal(running.child.exitCode, null, `the job ended before the outage: ${running.stderr}`);
      visible = await tableRows(outageTable);
    }
    assert.ok(visible > 0, 'rows reached ClickHouse before the outage');

    await proxy.down();
    const outageStarted = Date.now();
    const rssDuring: Array<[atMs: number, bytes: number]> = [];
    let settled: Scrape | null = null;
    let rowsAtStart = -1;
    while (Date.now() - outageStarted < outageMs) {
      await sleep(500);
      rssDuring.push([Date.now() - outageStarted, await residentBytes(pid)]);
      if (rowsAtStart < 0 && Date.now() - outageStarted >= 1000) rowsAtStart = await tableRows(outageTable);
      if (settled === null && Date.now() - outageStarted >= 8000) settled = await scrapeMetrics(adminPort);
    }
    const late = await scrapeMetrics(adminPort);
    assert.equal(running.child.exitCode, null, 'the job waits for ClickHouse instead of failing');
    const rowsDuring = await tableRows(outageTable);
    await proxy.up();
    const result = await running.finished;
    assert.equal(result.code, 0, result.stderr);

    // The sink held rows and kept retrying; nothing reached the table while it was away.
    assert.ok(settled !== null);
    const sink = { sink: 'analytics' };
    assert.ok(late.value('sluice_sink_buffered_rows', sink) > 0, 'rows held back during the outage');
    assert.ok(late.value('sluice_sink_buffered_bytes', sink) > 0);
    assert.ok(late.value('sluice_sink_retries_total', { sink: 'analytics', operation: 'write' }) > 3);
    assert.ok(late.value('sluice_sink_errors_total', { sink: 'analytics', operation: 'write' }) > 3);
    assert.ok(late.value('sluice_sink_rows_written_total', sink) > 0, 'rows written before the outage');
    assert.equal(rowsDuring, rowsAtStart, 'nothing reached the table while the proxy refused connections');
    // The sources paused with input left: no event read between 8 s and 30 s into the outage.
    const readEarly = settled.value('sluice_events_in_total');
    const readLate = late.value('sluice_events_in_total');
    assert.equal(
      readLate,
      readEarly,
      `sources read ${readLate - readEarly} events while ClickHouse was away`,
    );
    assert.ok(readLate < events, `input left unread during the outage (read ${readLate} of ${events})`);

    t.diagnostic(
      `outage ${outageMs} ms: read ${readLate} of ${events} events before the sources paused; ` +
        `${late.value('sluice_sink_buffered_rows', sink)} rows held; ` +
        `${late.value('sluice_sink_retries_total', sink)} retries`,
    );
    // Memory stays flat while rows wait.
    const peak = Math.max(...rssDuring.map(([, bytes]) => bytes));
    const early = rssDuring.find(([atMs]) => atMs >= 3000)?.[1] ?? peak;
    assert.ok(rssDuring.length >= 40, `sampled RSS ${rssDuring.length} times over the outage`);
    assert.ok(peak < 600 * 1024 * 1024, `RSS ${peak} bytes during the outage`);
    assert.ok(peak - early < 48 * 1024 * 1024, `RSS grew by ${peak - early} bytes while the server was away`);

    t.diagnostic(
      `RSS during the outage: ${(early / 2 ** 20).toFixed(1)} MiB at 3 s, peak ${(peak / 2 ** 20).toFixed(1)} MiB`,
    );
    const expected = await finalRows(cleanTable, columns);
    assert.ok(expected.length > 20_000, `clean run wrote ${expected.length} rows`);
    const actual = await finalRows(outageTable, columns);
    assert.equal(actual.length, expected.length);
    assert.deepEqual(actual, expected);
  });
});
