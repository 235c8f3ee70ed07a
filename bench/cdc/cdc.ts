/**
 * Scenario `cdc`: PostgreSQL changes through the cdc source, two ways.
 * - to windows: changes delivered to a tumbling 1-minute count per user_id (the real
 *   WindowOperator) on the event's commit time.
 * - to Kafka (`publish: kafka`): each batch is produced to the table's topic and handed
 *   on only once Kafka acknowledged it, as in a job.
 *
 * Each way gets its own table, slot and publication, then:
 * 1. Throughput: N inserts committed in transactions of `batch` rows (pgbench-style bulk
 *    load), changes/s from the first to the last delivered change. Checked: every id
 *    written arrives once (and, for Kafka, the topic's end offsets hold every change).
 * 2. Latency: single-row UPDATE commits at a steady rate; commit → event is the time the
 *    change is applied to the window state (or acknowledged by Kafka) minus `source.ts_ms`,
 *    the server's commit timestamp on the same host clock (millisecond resolution).
 *    Checked: every window row summed gives every change delivered, none late.
 *
 *   node --import tsx bench/cdc/cdc.ts [--quick] [--changes 50000] [--batch 1000] [--latency 1000] [--rate 200]
 * Needs the local PostgreSQL and Kafka (deploy/local/services up postgres kafka).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { cdcTopicName } from '../../actors/cdc/cdc-publisher.ts';
import { startCdcSource } from '../../actors/cdc/cdc-source.ts';
import { createKafkaClient } from '../../actors/kafka/kafka-client.ts';
import type { PartitionMessage } from '../../actors/partition/partition-plan.ts';
import type { SluiceEvent } from '../../actors/windows/index.ts';
import { createLogger } from '../../runtime/logger.ts';
import { runScenarioChild, scenarioMain } from '../lib/child-scenario.ts';
import { CountingWindow } from '../lib/counting-window.ts';
import { LatencyRecorder, measureProcess } from '../lib/figures.ts';
import { runContext } from '../lib/machine.ts';
import type { ScenarioResult, SystemFigures } from '../lib/scenario-result.ts';

export interface CdcOptions {
  quick: boolean;
  command: string;
  changes?: number;
  batch?: number;
  latencyCommits?: number;
  rate?: number;
}

interface Sizes {
  changes: number;
  batch: number;
  latencyCommits: number;
  rate: number;
}

const url = process.env.SLUICE_PG_URL ?? 'postgresql://sluice:sluice@127.0.0.1:5432/sluice_test';
const brokers = (process.env.SLUICE_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const log = createLogger({ level: 'warn' });

interface Envelope {
  after: { id: number; user_id: number };
  source: { ts_ms: number };
}

interface WayResult {
  system: SystemFigures;
  lines: string[];
  agree: boolean;
}

/** One way (windows or Kafka) on its own table, slot and publication. */
async function runWay(way: 'windows' | 'kafka', sizes: Sizes): Promise<WayResult> {
  const { changes, batch, latencyCommits, rate } = sizes;
  const base = `bench_cdc_${way}_${Date.now()}`;
  const table = `${base}_t`;
  const slot = `${base}_slot`;
  const publication = `${base}_pub`;
  const topicPrefix = `bench_cdc_${Date.now()}`;
  const topic = cdcTopicName(topicPrefix, { schema: 'public', table });
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(
    `CREATE TABLE ${table} (id integer PRIMARY KEY, user_id integer, amount numeric(12,2), note text, at timestamptz DEFAULT now())`,
  );
  const window = new CountingWindow();
  const latency = new LatencyRecorder();
  let delivered = 0;
  const ids = new Set<number>();
  let first = 0;
  let last = 0;
  let measuring = false;
  let fatal: Error | null = null;
  const source = await startCdcSource({
    config: {
      connection: url,
      slot,
      publication,
      tables: [`public.${table}`],
      snapshot: 'never',
      topicPrefix,
      heartbeatMs: 1000,
      batchSize: 500,
      reconnectTimeoutMs: 10_000,
      ...(way === 'kafka'
        ? { publish: { type: 'kafka', brokers, topics: 'create', partitions: 1, tombstones: false } }
        : {}),
    },
    log,
    deliver: async (_partition, message: PartitionMessage) => {
      if (message.kind !== 'records') return;
      if (first === 0) first = performance.now();
      const envelopes = message.events as unknown as Envelope[];
      if (way === 'windows') {
        const events: SluiceEvent[] = envelopes.map((event) => ({ user_id: event.after.user_id }));
        window.apply(
          events,
          envelopes.map((event) => event.source.ts_ms),
        );
      }
      const now = Date.now();
      for (const event of envelopes) {
        delivered++;
        ids.add(event.after.id);
        if (measuring) latency.record((now - event.source.ts_ms) * 1000);
      }
      last = performance.now();
    },
    resumeFrom: async () => null,
    onFatal: (error) => {
      fatal = error;
    },
  });
  const waitFor = async (count: number) => {
    const deadline = Date.now() + 120_000;
    while (delivered < count && fatal === null && Date.now() < deadline) await sleep(10);
    if (fatal !== null) throw fatal;
  };
  try {
    // 1. Throughput.
    const measure = measureProcess();
    const loadStart = performance.now();
    for (let from = 1; from <= changes; from += batch) {
      await admin.query(
        `INSERT INTO ${table} (id, user_id, amount, note) SELECT g, g % 1000, g * 0.01, 'order ' || g FROM generate_series($1::int, $2::int) g`,
        [from, Math.min(changes, from + batch - 1)],
      );
    }
    const loadMs = performance.now() - loadStart;
    await waitFor(changes);
    const usage = measure.stop();
    const streamMs = last - first;
    const lines = [
      `${way}: ${ids.size.toLocaleString('en-US')} distinct ids of ${changes.toLocaleString('en-US')} inserted, ${delivered.toLocaleString('en-US')} changes delivered`,
    ];
    let agree = ids.size === changes && delivered === changes;
    // 2. Latency.
    measuring = true;
    const interval = 1000 / rate;
    const started = performance.now();
    for (let index = 0; index < latencyCommits; index++) {
      await admin.query(`UPDATE ${table} SET amount = amount + 1 WHERE id = $1`, [1 + (index % changes)]);
      const wait = started + (index + 1) * interval - performance.now();
      if (wait > 0) await sleep(wait);
    }
    await waitFor(changes + latencyCommits);
    const total = changes + latencyCommits;
    if (way === 'windows') {
      const { counted, late } = window.finish();
      agree &&= counted === total && late === 0;
      lines.push(
        `windows: ${counted.toLocaleString('en-US')} changes counted in window rows of ${total.toLocaleString('en-US')} committed, ${late} late`,
      );
    } else {
      const { kafka } = createKafkaClient({ brokers, clientId: `bench-cdc-${Date.now()}`, log });
      const kafkaAdmin = kafka.admin();
      await kafkaAdmin.connect();
      const offsets = await kafkaAdmin.fetchTopicOffsets(topic);
      const inTopic = offsets.reduce((sum, offset) => sum + Number(offset.high) - Number(offset.low), 0);
      agree &&= inTopic === total;
      lines.push(
        `kafka: ${inTopic.toLocaleString('en-US')} records on ${topic} of ${total.toLocaleString('en-US')} changes acknowledged`,
      );
      await kafkaAdmin.deleteTopics({ topics: [topic] }).catch(() => {});
      await kafkaAdmin.disconnect();
    }
    const name = way === 'windows' ? 'cdc → windows' : 'cdc → Kafka';
    return {
      agree,
      lines,
      system: {
        system: name,
        scenario: name,
        events: changes,
        ...usage,
        eventsPerSecond: (changes * 1000) / streamMs,
        latencyUs: latency.percentiles(),
        latencyOf: `commit (source.ts_ms) → change ${way === 'windows' ? 'applied to the window state' : 'acknowledged by Kafka (publish: kafka)'}, ${latencyCommits.toLocaleString('en-US')} single-row commits at ${rate}/s; ms resolution`,
        extra: { postgresLoadMs: Math.round(loadMs), streamMs: Math.round(streamMs) },
      },
    };
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
}

export async function runCdc(options: CdcOptions): Promise<ScenarioResult> {
  const context = runContext(options.command);
  const sizes: Sizes = {
    changes: options.changes ?? (options.quick ? 5_000 : 50_000),
    batch: options.batch ?? 1_000,
    latencyCommits: options.latencyCommits ?? (options.quick ? 200 : 1_000),
    rate: options.rate ?? 200,
  };
  const systems: SystemFigures[] = [];
  const lines: string[] = [];
  let agree = true;
  for (const way of ['windows', 'kafka'] as const) {
    const result = await runWay(way, sizes);
    systems.push(result.system);
    lines.push(...result.lines);
    agree &&= result.agree;
  }
  const n = (value: number) => value.toLocaleString('en-US');
  return {
    scenario: 'cdc',
    context,
    quick: options.quick,
    input: `PostgreSQL (local) logical replication, pgoutput: ${n(sizes.changes)} inserts in transactions of ${n(sizes.batch)} rows (INSERT … SELECT generate_series), then ${n(sizes.latencyCommits)} single-row UPDATE commits at ${sizes.rate}/s; Debezium envelopes; Kafka topic with 1 partition; CPU and RSS are this process's (source, window, producer and the Postgres client issuing the load)`,
    check: { agree, lines },
    systems: agree ? systems : [],
    skipped: [
      'no baseline: none is installed under bench/baselines (Debezium on Kafka Connect is the tool to compare with); the last column compares the Kafka way with the windows way',
    ],
  };
}

/** The scenario for the suite: in its own process, so RSS and CPU are its own. */
export function runCdcScenario(options: CdcOptions): Promise<ScenarioResult> {
  return runScenarioChild(fileURLToPath(import.meta.url), options);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await scenarioMain(runCdc, (command) => {
    const { values } = parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        changes: { type: 'string' },
        batch: { type: 'string' },
        latency: { type: 'string' },
        rate: { type: 'string' },
      },
    });
    const number = (text: string | undefined) => (text === undefined ? undefined : Number(text));
    return {
      quick: values.quick ?? false,
      command,
      changes: number(values.changes),
      batch: number(values.batch),
      latencyCommits: number(values.latency),
      rate: number(values.rate),
    };
  });
  // The Kafka client and the Postgres pool may keep handles; the result is printed.
  process.exit();
}
