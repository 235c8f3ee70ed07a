/**
 * BigQuery sink benchmark against the local emulator (reported, no target: the emulator
 * is a single-process Go server, not BigQuery's streaming backend).
 *
 * 1. insertAll throughput (rows/s) through the sink's target, batches of `batchRows`;
 *    before timing, one batch is read back and checked equal to what was sent.
 * 2. Window fired → rows visible to a query with the sink's default batching
 *    (5,000 rows, 5 MiB, 1 s): `firings` firings of 200 rows every 200 ms, the table
 *    polled every 50 ms. Percentiles with hdr-histogram-js.
 *
 *   node --import tsx bench/sinks/bigquery.ts [rows] [batchRows] [firings]
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { BigQuery } from '@google-cloud/bigquery';
import * as hdr from 'hdr-histogram-js';
import { BatchingSink } from '../../actors/sinks/batching-sink.ts';
import { type BigQuerySinkConfig, BigQueryTarget } from '../../actors/sinks/bigquery-sink.ts';
import { benchContext, serialDriver } from './sink-driver.ts';

const ROWS = Number(process.argv[2] ?? 20_000);
const BATCH_ROWS = Number(process.argv[3] ?? 5000);
const FIRINGS = Number(process.argv[4] ?? 20);
const projectId = process.env.SLUICE_BIGQUERY_PROJECT ?? 'sluice-test';
const dataset = process.env.SLUICE_BIGQUERY_DATASET ?? 'sluice';
const apiEndpoint = process.env.SLUICE_BIGQUERY_ENDPOINT ?? 'http://127.0.0.1:9050';
process.env.METADATA_SERVER_DETECTION ??= 'none';
const client = new BigQuery({ projectId, apiEndpoint });
const suffix = randomBytes(3).toString('hex');

function config(table: string): BigQuerySinkConfig {
  return {
    name: 'bench',
    deadLetter: null,
    batch: { rows: 5000, bytes: 5 * 1024 * 1024, intervalMs: 1000 },
    projectId,
    dataset,
    table,
    apiEndpoint,
    create: true,
    shape: { groupBy: ['user_id'], aggregates: [{ name: 'events', fn: 'count' }] },
  };
}

function line(index: number, windowStart: number): string {
  return JSON.stringify({
    window_start: windowStart,
    window_end: windowStart + 10_000,
    user_id: `u${index}`,
    events: index % 9,
    version: 1,
  });
}

async function throughput(): Promise<void> {
  const table = `bench_bq_${suffix}`;
  const target = new BigQueryTarget(config(table));
  await target.open(benchContext());
  const start = Date.UTC(2026, 0, 1);
  const first = Array.from({ length: 100 }, (_, index) => line(index, start));
  assert.deepEqual(await target.write(first), []);
  const [rows] = await client.query({
    query: `SELECT SUM(events) AS total, COUNT(*) AS n FROM ${dataset}.${table}`,
  });
  const sent = first.reduce((sum, text) => sum + JSON.parse(text).events, 0);
  assert.deepEqual(
    rows.map((row: { total: number; n: number }) => [Number(row.total), Number(row.n)]),
    [[sent, 100]],
  );
  const started = performance.now();
  for (let offset = 0; offset < ROWS; offset += BATCH_ROWS) {
    const batch = Array.from({ length: Math.min(BATCH_ROWS, ROWS - offset) }, (_, index) =>
      line(offset + index, start + 10_000),
    );
    assert.deepEqual(await target.write(batch), []);
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `insertAll ${Math.round(ROWS / seconds).toLocaleString('en')} rows/s (${ROWS} rows in batches of ${BATCH_ROWS})`,
  );
  await client.dataset(dataset).table(table).delete();
}

async function latency(): Promise<void> {
  const table = `bench_bq_latency_${suffix}`;
  const sink = new BatchingSink(config(table), new BigQueryTarget(config(table)));
  const { ctx, run } = serialDriver(sink as never);
  await run(() => sink.start(ctx));
  const firedAt = new Map<number, number>();
  const histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000,
    numberOfSignificantValueDigits: 3,
  });
  let firing = true;
  const poller = (async () => {
    while (firing || firedAt.size > 0) {
      const [rows] = await client.query({
        query: `SELECT DISTINCT UNIX_MILLIS(window_start) AS ws FROM ${dataset}.${table}`,
      });
      const now = performance.now();
      for (const { ws } of rows as Array<{ ws: number }>) {
        const fired = firedAt.get(Number(ws));
        if (fired !== undefined) {
          histogram.recordValue(Math.max(1, Math.round(now - fired)));
          firedAt.delete(Number(ws));
        }
      }
      await sleep(50);
    }
  })();
  for (let index = 0; index < FIRINGS; index++) {
    const windowStart = Date.UTC(2026, 0, 2) + index * 10_000;
    let data = '';
    for (let row = 0; row < 200; row++) data += `${line(row, windowStart)}\n`;
    firedAt.set(windowStart, performance.now());
    await run(() =>
      sink.receive({ sink: 'bench', file: null, data, rows: 200, outputs: { bench: 200 } }, ctx),
    );
    await sleep(200);
  }
  await run(() => sink.stop(ctx));
  firing = false;
  await poller;
  console.log(
    `window fired → rows visible (${FIRINGS} firings of 200 rows every 200 ms, batch 5,000 rows / 5 MiB / 1 s): ` +
      `p50 ${histogram.getValueAtPercentile(50)} ms, p99 ${histogram.getValueAtPercentile(99)} ms, max ${histogram.maxValue} ms`,
  );
  await client.dataset(dataset).table(table).delete();
}

await throughput();
await latency();
