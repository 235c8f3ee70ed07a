/**
 * BigQuery sink benchmark against the local emulator (reported, no target: the emulator
 * is a single-process Go server, not BigQuery's streaming backend).
 *
 * 1. insertAll throughput (rows/s) through the sink's target, batches of `batchRows`,
 *    with per-insert latency percentiles; before timing, one batch is read back and
 *    checked equal to what was sent, after timing the whole table (count and sum). Used
 *    by the suite's `sinks` scenario (bench/sinks/sinks.ts).
 * 2. Window fired → rows visible to a query with the sink's default batching
 *    (5,000 rows, 5 MiB, 1 s): `firings` firings of 200 rows every 200 ms, the table
 *    polled every 50 ms. Percentiles with hdr-histogram-js. Standalone only.
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
import type { SystemFigures } from '../lib/scenario-result.ts';
import { benchContext, serialDriver, timedBatches } from './sink-driver.ts';

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

async function tableTotals(table: string): Promise<[number, number]> {
  const [rows] = await client.query({
    query: `SELECT SUM(events) AS total, COUNT(*) AS n FROM ${dataset}.${table}`,
  });
  const [row] = rows as Array<{ total: number; n: number }>;
  return [Number(row?.total ?? 0), Number(row?.n ?? 0)];
}

/** insertAll rows/s through the sink's target, checked against a read-back before and after. */
export async function bigQueryInsertFigures(options: {
  rows: number;
  batchRows: number;
}): Promise<{ system: SystemFigures; agree: boolean; lines: string[] }> {
  const { rows, batchRows } = options;
  const table = `bench_bq_${suffix}`;
  const target = new BigQueryTarget(config(table));
  await target.open(benchContext());
  try {
    const start = Date.UTC(2026, 0, 1);
    const first = Array.from({ length: 100 }, (_, index) => line(index, start));
    assert.deepEqual(await target.write(first), []);
    const sent = first.reduce((sum, text) => sum + JSON.parse(text).events, 0);
    const before = await tableTotals(table);
    const lines = [
      `bigquery: 100 rows read back before timing: ${before[0] === sent && before[1] === 100 ? 'equal to what was sent' : `DIFFERENT (sum ${before[0]}, ${before[1]} rows)`}`,
    ];
    const batches: string[][] = [];
    for (let offset = 0; offset < rows; offset += batchRows)
      batches.push(
        Array.from({ length: Math.min(batchRows, rows - offset) }, (_, index) =>
          line(offset + index, start + 10_000),
        ),
      );
    const figures = await timedBatches('bigquery', batches, async (batch) => {
      const rejected = await target.write(batch);
      if (rejected.length > 0) throw new Error(`the emulator rejected ${rejected.length} rows`);
    });
    const expected = batches.flat().reduce((sum, text) => sum + JSON.parse(text).events, sent);
    const after = await tableTotals(table);
    const agree = before[0] === sent && before[1] === 100 && after[0] === expected && after[1] === rows + 100;
    lines.push(
      `bigquery: after timing, table read back: ${after[1].toLocaleString('en-US')} of ${(rows + 100).toLocaleString('en-US')} rows, sum(events) ${after[0] === expected ? 'equal' : `DIFFERENT (${after[0]} vs ${expected})`}`,
    );
    return {
      system: {
        ...figures,
        system: 'BigQuery emulator',
        latencyOf: `one insertAll of ${batchRows.toLocaleString('en-US')} rows through the sink's target, sent → acknowledged by the emulator`,
      },
      agree,
      lines,
    };
  } finally {
    await client.dataset(dataset).table(table).delete();
  }
}

async function latency(firings: number): Promise<void> {
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
  for (let index = 0; index < firings; index++) {
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
    `window fired → rows visible (${firings} firings of 200 rows every 200 ms, batch 5,000 rows / 5 MiB / 1 s): ` +
      `p50 ${histogram.getValueAtPercentile(50)} ms, p99 ${histogram.getValueAtPercentile(99)} ms, max ${histogram.maxValue} ms`,
  );
  await client.dataset(dataset).table(table).delete();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = Number(process.argv[2] ?? 20_000);
  const batchRows = Number(process.argv[3] ?? 5000);
  const inserts = await bigQueryInsertFigures({ rows, batchRows });
  for (const check of inserts.lines) console.log(check);
  if (!inserts.agree) process.exit(1);
  console.log(
    `insertAll ${Math.round(inserts.system.eventsPerSecond).toLocaleString('en')} rows/s (${rows} rows in batches of ${batchRows}), insert p50 ${inserts.system.latencyUs?.p50} µs p99 ${inserts.system.latencyUs?.p99} µs`,
  );
  await latency(Number(process.argv[4] ?? 20));
}
