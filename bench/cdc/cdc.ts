/**
 * CDC benchmark: PostgreSQL changes → Debezium envelopes delivered by the cdc source.
 *
 * 1. Throughput: N inserts committed in transactions of `batch` rows (pgbench-style
 *    bulk load), then the time from the first to the last delivered event; changes/s.
 *    The delivered count and id set are checked against what was written first.
 * 2. Latency: single-row commits at a steady rate; commit → event latency is the time
 *    the event is delivered minus `source.ts_ms` (the server's commit timestamp, same
 *    host clock). Percentiles, not averages.
 *
 * Run: node --import tsx bench/cdc/cdc.ts [--changes 200000] [--latency 2000] [--rate 500]
 * Needs the local PostgreSQL (deploy/local/services up postgres).
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startCdcSource } from '../../actors/cdc/cdc-source.ts';
import type { PartitionMessage } from '../../actors/partition/partition-plan.ts';
import { createLogger } from '../../runtime/logger.ts';

const { values } = parseArgs({
  options: {
    changes: { type: 'string', default: '200000' },
    batch: { type: 'string', default: '1000' },
    latency: { type: 'string', default: '2000' },
    rate: { type: 'string', default: '500' },
    url: {
      type: 'string',
      default: process.env.SLUICE_PG_URL ?? 'postgresql://sluice:sluice@127.0.0.1:5432/sluice_test',
    },
  },
});
const changes = Number(values.changes);
const batch = Number(values.batch);
const latencyCommits = Number(values.latency);
const rate = Number(values.rate);
const base = `bench_cdc_${Date.now()}`;
const table = `${base}_t`;
const slot = `${base}_slot`;
const publication = `${base}_pub`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const admin = new pg.Client({ connectionString: values.url });
await admin.connect();
await admin.query(
  `CREATE TABLE ${table} (id integer PRIMARY KEY, user_id integer, amount numeric(12,2), note text, at timestamptz DEFAULT now())`,
);

let delivered = 0;
const ids = new Set<number>();
let first = 0;
let last = 0;
const latencies: number[] = [];
let measuring = false;
const source = await startCdcSource({
  config: {
    connection: values.url,
    slot,
    publication,
    tables: [`public.${table}`],
    snapshot: 'never',
    topicPrefix: 'bench',
    heartbeatMs: 1000,
    batchSize: 500,
    reconnectTimeoutMs: 10_000,
  },
  log: createLogger({ level: 'warn' }),
  deliver: async (_partition, message: PartitionMessage) => {
    if (message.kind !== 'records') return;
    const now = Date.now();
    if (first === 0) first = performance.now();
    for (const event of message.events as Array<{ after: { id: number }; source: { ts_ms: number } }>) {
      delivered++;
      ids.add(event.after.id);
      if (measuring) latencies.push(now - event.source.ts_ms);
    }
    last = performance.now();
  },
  resumeFrom: async () => null,
  onFatal: (error) => {
    console.error(error);
    process.exit(1);
  },
});

try {
  // 1. Throughput.
  const loadStart = performance.now();
  for (let from = 1; from <= changes; from += batch) {
    const to = Math.min(changes, from + batch - 1);
    await admin.query(
      `INSERT INTO ${table} (id, user_id, amount, note) SELECT g, g % 1000, g * 0.01, 'order ' || g FROM generate_series($1::int, $2::int) g`,
      [from, to],
    );
  }
  const loadMs = performance.now() - loadStart;
  while (delivered < changes) await sleep(20);
  if (ids.size !== changes) throw new Error(`delivered ${ids.size} distinct ids, wrote ${changes}`);
  const streamMs = last - first;
  console.log(
    `cdc throughput: ${changes} inserts in ${changes / batch} txns; Postgres load ${loadMs.toFixed(0)} ms`,
  );
  console.log(
    `  delivered (first → last event): ${streamMs.toFixed(0)} ms = ${Math.round((changes / streamMs) * 1000)} changes/s`,
  );

  // 2. Latency.
  measuring = true;
  const before = delivered;
  const interval = 1000 / rate;
  const started = performance.now();
  for (let index = 0; index < latencyCommits; index++) {
    const id = changes + 1 + index;
    await admin.query(`UPDATE ${table} SET amount = amount + 1 WHERE id = $1`, [1 + (id % changes)]);
    const wait = started + (index + 1) * interval - performance.now();
    if (wait > 0) await sleep(wait);
  }
  while (delivered < before + latencyCommits) await sleep(10);
  latencies.sort((a, b) => a - b);
  console.log(
    `cdc latency: ${latencyCommits} single-row commits at ${rate}/s, commit → delivered event (ms):`,
  );
  console.log(
    `  p50 ${percentile(latencies, 50)}  p90 ${percentile(latencies, 90)}  p99 ${percentile(latencies, 99)}  max ${latencies[latencies.length - 1]}`,
  );
} finally {
  await source.stop();
  for (let attempt = 0; attempt < 50; attempt++) {
    const { rows } = await admin.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [
      slot,
    ]);
    if (rows.length === 0 || !rows[0].active) break;
    await sleep(100);
  }
  await admin.query('SELECT pg_drop_replication_slot($1)', [slot]).catch(() => {});
  await admin.query(`DROP PUBLICATION IF EXISTS ${publication}`);
  await admin.query(`DROP TABLE IF EXISTS ${table}`);
  await admin.end();
}
