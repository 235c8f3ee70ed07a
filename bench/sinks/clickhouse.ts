/**
 * ClickHouse sink benchmark against the local server.
 *
 * 1. Insert throughput (rows/s) per format: JSONEachRow through the sink's own target
 *    (row conversion included) versus TabSeparated text built here, with per-insert
 *    latency percentiles. Before timing, both formats write the same first batch into two
 *    tables and the FINAL contents must agree; after timing, both whole tables are read
 *    back and must hold every row sent, with equal contents. Used by the suite's `sinks`
 *    scenario (bench/sinks/sinks.ts).
 * 2. Latency from a window firing (rows handed to the sink actor) to its rows being
 *    visible to a ClickHouse query, with the sink's default batching (50,000 rows, 8 MiB,
 *    500 ms): firings of `rowsPerFiring` rows every 100 ms; a poller queries the table
 *    every 10 ms. Percentiles with hdr-histogram-js. Standalone only: in the suite the
 *    fired → visible latency is measured end to end by e2e-clickhouse.
 *
 *   node --import tsx bench/sinks/clickhouse.ts [rows] [firings] [rowsPerFiring] [url]
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ClickHouseClient, createClient } from '@clickhouse/client';
import * as hdr from 'hdr-histogram-js';
import type { SinkWrite } from '../../actors/partition/partition-plan.ts';
import { BatchingSink } from '../../actors/sinks/batching-sink.ts';
import { type ClickHouseSinkConfig, ClickHouseTarget } from '../../actors/sinks/clickhouse-sink.ts';
import type { RowShape } from '../../actors/sinks/clickhouse-table.ts';
import type { SystemFigures } from '../lib/scenario-result.ts';
import { benchContext, serialDriver, timedBatches } from './sink-driver.ts';

const BATCH_ROWS = 50_000;

const shape: RowShape = {
  groupBy: ['user_id'],
  aggregates: [
    { name: 'events', fn: 'count' },
    { name: 'amount', fn: 'sum', field: 'amount' },
    { name: 'pages', fn: 'count_distinct', field: 'page' },
  ],
};
const suffix = randomBytes(3).toString('hex');

function clientFor(url: string): ClickHouseClient {
  return createClient({ url, compression: { request: true, response: true } });
}

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
  url: string,
  table: string,
  batch = { rows: BATCH_ROWS, bytes: 8 * 1024 * 1024, intervalMs: 500 },
): ClickHouseSinkConfig {
  return {
    name: 'bench',
    deadLetter: null,
    batch,
    url,
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

async function fingerprint(client: ClickHouseClient, table: string): Promise<string> {
  const result = await client.query({
    query: `SELECT count() AS n, sum(cityHash64(window_start, window_end, user_id, events, ifNull(amount, -1), pages, version)) AS h FROM default.${table} FINAL`,
    format: 'JSONEachRow',
  });
  return JSON.stringify(await result.json());
}

export interface InsertFigures {
  systems: SystemFigures[];
  /** Both formats wrote equal contents, and every row sent was read back. */
  agree: boolean;
  lines: string[];
  version: string;
}

/** Rows/s per insert format, each checked against the other and read back. */
export async function clickhouseInsertFigures(options: {
  rows: number;
  batchRows: number;
  url: string;
}): Promise<InsertFigures> {
  const { rows, batchRows, url } = options;
  const client = clientFor(url);
  const [{ v: version }] = await (
    await client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' })
  ).json<{ v: string }>();
  const lines = Array.from({ length: rows }, (_, index) =>
    line(index, Date.UTC(2026, 0, 1) + (index % 50) * 10_000),
  );
  const batches: string[][] = [];
  for (let start = 0; start < lines.length; start += batchRows)
    batches.push(lines.slice(start, start + batchRows));
  const jsonTable = `bench_json_${suffix}`;
  const tsvTable = `bench_tsv_${suffix}`;
  const target = new ClickHouseTarget(config(url, jsonTable));
  const tsvTarget = new ClickHouseTarget(config(url, tsvTable));
  await target.open(benchContext());
  await tsvTarget.open(benchContext());
  const formats: Record<string, (batch: string[]) => Promise<unknown>> = {
    JSONEachRow: (batch) => target.write(batch),
    TabSeparated: (batch) =>
      client.insert({
        table: `default.${tsvTable}`,
        values: Readable.from([tsv(batch)], { objectMode: false }),
        format: 'TabSeparated',
      }),
  };
  try {
    // Agreement first: the same first batch through both formats gives the same table.
    const [jsonInsert, tsvInsert] = Object.values(formats);
    await jsonInsert?.(batches[0] as string[]);
    await tsvInsert?.(batches[0] as string[]);
    const first = [await fingerprint(client, jsonTable), await fingerprint(client, tsvTable)];
    const checks = [
      `first batch of ${batches[0]?.length.toLocaleString('en-US')} rows through both formats: ${first[0] === first[1] ? `equal FINAL contents ${first[0]}` : `DIFFERENT ${first.join(' vs ')}`}`,
    ];
    if (first[0] !== first[1]) return { systems: [], agree: false, lines: checks, version };
    const systems: SystemFigures[] = [];
    for (const [format, insert] of Object.entries(formats))
      systems.push({
        system: `ClickHouse ${format}`,
        ...(await timedBatches(`ClickHouse ${format}`, batches, insert)),
        latencyOf: `one insert of ${batchRows.toLocaleString('en-US')} rows ${format === 'JSONEachRow' ? "through the sink's target (row conversion included)" : 'as text built here'}, sent → acknowledged by the server`,
      });
    // Read back: every row sent is in both tables, with equal contents.
    const after = [await fingerprint(client, jsonTable), await fingerprint(client, tsvTable)];
    const counted = JSON.parse(after[0] as string)[0]?.n;
    const agree = after[0] === after[1] && Number(counted) === rows;
    checks.push(
      `after timing, both tables read back (FINAL): ${Number(counted).toLocaleString('en-US')} of ${rows.toLocaleString('en-US')} rows, ${after[0] === after[1] ? 'equal contents' : 'DIFFERENT contents'}`,
    );
    return { systems, agree, lines: checks, version };
  } finally {
    await target.close();
    await tsvTarget.close();
    for (const table of [jsonTable, tsvTable])
      await client.command({ query: `DROP TABLE IF EXISTS default.${table}` });
    await client.close();
  }
}

async function latency(
  client: ClickHouseClient,
  url: string,
  firings: number,
  rowsPerFiring: number,
): Promise<void> {
  const table = `bench_latency_${suffix}`;
  const sink = new BatchingSink(config(url, table), new ClickHouseTarget(config(url, table)));
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
    while (polling || histogram.totalCount < firings) {
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
  for (let firing = 0; firing < firings; firing++) {
    const windowStart = Date.UTC(2026, 0, 1) + firing * 10_000;
    let data = '';
    for (let index = 0; index < rowsPerFiring; index++) data += `${line(index, windowStart)}\n`;
    const write: SinkWrite = {
      sink: 'bench',
      file: null,
      data,
      rows: rowsPerFiring,
      outputs: { bench: rowsPerFiring },
    };
    firedAt.set(windowStart, performance.now());
    await run(() => sink.receive(write, ctx));
    await sleep(100);
  }
  await run(() => sink.stop(ctx));
  polling = false;
  await poller;
  console.log(
    `window fired → rows visible (${firings} firings of ${rowsPerFiring} rows every 100 ms, batch 50,000 rows / 8 MiB / 500 ms): ` +
      `p50 ${histogram.getValueAtPercentile(50)} ms, p99 ${histogram.getValueAtPercentile(99)} ms, max ${histogram.maxValue} ms`,
  );
  await client.command({ query: `DROP TABLE default.${table}` });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = Number(process.argv[2] ?? 400_000);
  const url = process.argv[5] ?? 'http://127.0.0.1:8123';
  const inserts = await clickhouseInsertFigures({ rows, batchRows: BATCH_ROWS, url });
  console.log(`ClickHouse ${inserts.version} at ${url}`);
  for (const check of inserts.lines) console.log(check);
  if (!inserts.agree) process.exit(1);
  for (const system of inserts.systems)
    console.log(
      `${system.system.padEnd(38)} ${Math.round(system.eventsPerSecond).toLocaleString('en')} rows/s (${rows} rows in batches of ${BATCH_ROWS}), insert p50 ${system.latencyUs?.p50} µs p99 ${system.latencyUs?.p99} µs`,
    );
  const client = clientFor(url);
  await latency(client, url, Number(process.argv[3] ?? 100), Number(process.argv[4] ?? 2000));
  await client.close();
}
