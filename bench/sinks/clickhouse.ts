/**
 * ClickHouse sink benchmark against the local server.
 *
 * 1. Insert throughput (rows/s) per format: JSONEachRow through the sink's own target
 *    (row conversion included) versus TabSeparated text built here. Before timing, both
 *    formats write the same rows into two tables and the FINAL contents must agree.
 * 2. Latency from a window firing (rows handed to the sink actor) to its rows being
 *    visible to a ClickHouse query, with the sink's default batching (50,000 rows, 8 MiB,
 *    500 ms): firings of `rowsPerFiring` rows every 100 ms; a poller queries the table
 *    every 10 ms. Percentiles with hdr-histogram-js.
 *
 *   node --import tsx bench/sinks/clickhouse.ts [rows] [firings] [rowsPerFiring] [url]
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@clickhouse/client';
import * as hdr from 'hdr-histogram-js';
import type { SinkWrite } from '../../actors/partition/partition-plan.ts';
import { BatchingSink } from '../../actors/sinks/batching-sink.ts';
import { type ClickHouseSinkConfig, ClickHouseTarget } from '../../actors/sinks/clickhouse-sink.ts';
import type { RowShape } from '../../actors/sinks/clickhouse-table.ts';
import { benchContext, serialDriver } from './sink-driver.ts';

const ROWS = Number(process.argv[2] ?? 400_000);
const FIRINGS = Number(process.argv[3] ?? 100);
const ROWS_PER_FIRING = Number(process.argv[4] ?? 2000);
const URL = process.argv[5] ?? 'http://127.0.0.1:8123';
const BATCH_ROWS = 50_000;

const shape: RowShape = {
  groupBy: ['user_id'],
  aggregates: [
    { name: 'events', fn: 'count' },
    { name: 'amount', fn: 'sum', field: 'amount' },
    { name: 'pages', fn: 'count_distinct', field: 'page' },
  ],
};
const client = createClient({ url: URL, compression: { request: true, response: true } });
const suffix = randomBytes(3).toString('hex');

function line(index: number, windowStart: number): string {
  return JSON.stringify({
    window_start: windowStart,
    window_end: windowStart + 10_000,
    user_id: `u${index}`,
    events: (index % 13) + 1,
    amount: (index % 17) * 1.5,
    pages: (index % 5) + 1,
    version: 1,
  });
}

function config(
  table: string,
  batch = { rows: BATCH_ROWS, bytes: 8 * 1024 * 1024, intervalMs: 500 },
): ClickHouseSinkConfig {
  return {
    name: 'bench',
    deadLetter: null,
    batch,
    url: URL,
    database: 'default',
    table,
    create: true,
    schema: 'strict',
    shape,
  };
}

function tsv(lines: readonly string[]): string {
  let text = '';
  for (const text_ of lines) {
    const row = JSON.parse(text_);
    text += `${row.window_start}\t${row.window_end}\t${row.user_id}\t${row.events}\t${row.amount}\t${row.pages}\t${row.version}\n`;
  }
  return text;
}

async function fingerprint(table: string): Promise<string> {
  const result = await client.query({
    query: `SELECT count() AS n, sum(cityHash64(window_start, window_end, user_id, events, ifNull(amount, -1), pages, version)) AS h FROM default.${table} FINAL`,
    format: 'JSONEachRow',
  });
  return JSON.stringify(await result.json());
}

async function throughput(): Promise<void> {
  const lines = Array.from({ length: ROWS }, (_, index) =>
    line(index, Date.UTC(2026, 0, 1) + (index % 50) * 10_000),
  );
  const batches: string[][] = [];
  for (let start = 0; start < lines.length; start += BATCH_ROWS)
    batches.push(lines.slice(start, start + BATCH_ROWS));
  const jsonTable = `bench_json_${suffix}`;
  const tsvTable = `bench_tsv_${suffix}`;
  const target = new ClickHouseTarget(config(jsonTable));
  const tsvTarget = new ClickHouseTarget(config(tsvTable));
  await target.open(benchContext());
  await tsvTarget.open(benchContext());
  const formats = {
    JSONEachRow: async (batch: string[]) => {
      await target.write(batch);
    },
    TabSeparated: async (batch: string[]) => {
      await client.insert({
        table: `default.${tsvTable}`,
        values: Readable.from([tsv(batch)], { objectMode: false }),
        format: 'TabSeparated',
      });
    },
  };
  // Agreement first: the same first batch through both formats gives the same table.
  await formats.JSONEachRow(batches[0] as string[]);
  await formats.TabSeparated(batches[0] as string[]);
  assert.equal(await fingerprint(jsonTable), await fingerprint(tsvTable), 'formats disagree');
  console.log(`formats agree on ${batches[0]?.length} rows: ${await fingerprint(jsonTable)}`);
  for (const [format, insert] of Object.entries(formats)) {
    const started = performance.now();
    for (const batch of batches) await insert(batch);
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `${format.padEnd(13)} ${Math.round(ROWS / seconds).toLocaleString('en')} rows/s (${ROWS} rows in batches of ${BATCH_ROWS})`,
    );
  }
  await target.close();
  await tsvTarget.close();
  for (const table of [jsonTable, tsvTable]) await client.command({ query: `DROP TABLE default.${table}` });
}

async function latency(): Promise<void> {
  const table = `bench_latency_${suffix}`;
  const sink = new BatchingSink(config(table), new ClickHouseTarget(config(table)));
  const { ctx, run } = serialDriver(sink as never);
  await run(() => sink.start(ctx));
  const firedAt = new Map<number, number>();
  const histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000,
    numberOfSignificantValueDigits: 3,
  });
  let polling = true;
  const poller = (async () => {
    while (polling || histogram.totalCount < FIRINGS) {
      const result = await client.query({
        query: `SELECT DISTINCT window_start FROM default.${table}`,
        format: 'JSONEachRow',
      });
      const now = performance.now();
      for (const { window_start } of await result.json<{ window_start: string }>()) {
        const fired = firedAt.get(Number(window_start));
        if (fired !== undefined) {
          histogram.recordValue(Math.max(1, Math.round(now - fired)));
          firedAt.delete(Number(window_start));
        }
      }
      if (!polling && firedAt.size === 0) break;
      await sleep(10);
    }
  })();
  for (let firing = 0; firing < FIRINGS; firing++) {
    const windowStart = Date.UTC(2026, 0, 1) + firing * 10_000;
    let data = '';
    for (let index = 0; index < ROWS_PER_FIRING; index++) data += `${line(index, windowStart)}\n`;
    const write: SinkWrite = {
      sink: 'bench',
      file: null,
      data,
      rows: ROWS_PER_FIRING,
      outputs: { bench: ROWS_PER_FIRING },
    };
    firedAt.set(windowStart, performance.now());
    await run(() => sink.receive(write, ctx));
    await sleep(100);
  }
  await run(() => sink.stop(ctx));
  polling = false;
  await poller;
  console.log(
    `window fired → rows visible (${FIRINGS} firings of ${ROWS_PER_FIRING} rows every 100 ms, batch 50,000 rows / 8 MiB / 500 ms): ` +
      `p50 ${histogram.getValueAtPercentile(50)} ms, p99 ${histogram.getValueAtPercentile(99)} ms, max ${histogram.maxValue} ms`,
  );
  await client.command({ query: `DROP TABLE default.${table}` });
}

const version = await (await client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' })).json();
console.log(`ClickHouse ${JSON.stringify(version)} at ${URL}`);
await throughput();
await latency();
await client.close();
