/**
 * Scenario `e2e-clickhouse`: event created → produced to Kafka → windowed by sluice →
 * row visible in ClickHouse, at a fixed offered load. Event times follow the wall clock
 * (event i is due at start + i / rate, and the producer keeps that schedule), windows are
 * 1 s tumbling, and a poller reads `count()` per window_start from ClickHouse every 50 ms:
 * each row's latency is the moment it became visible minus its window's end, the due time
 * of the window's last event. Windows of the first 3 s (group join, warm-up) are left out.
 * Before the figures count, the rows in ClickHouse must hold exactly the events produced
 * for every measured window.
 *
 * JSON events (one message each) are produced by kcat (librdkafka) in its own process:
 * kafkajs in this process cannot offer 50,000 messages/s on 2 cores beside the engine.
 * Frames (1,000 events per message) go through `produceEvents` (kafkajs).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@clickhouse/client';
import { Job } from '../../actors/job/job.ts';
import { produceEvents } from '../../actors/kafka/produce-events.ts';
import { createLogger } from '../../runtime/logger.ts';
import { Metrics } from '../../runtime/metrics.ts';
import { parseTopology } from '../../runtime/topology/load-topology.ts';
import { LatencyRecorder, measureProcess } from '../lib/figures.ts';
import { kcatAvailable, produceJsonWithKcat } from '../lib/kcat-producer.ts';
import { runContext } from '../lib/machine.ts';
import type { ScenarioResult, SystemFigures } from '../lib/scenario-result.ts';

const WINDOW_MS = 1000;
const WARM_UP_MS = 3000;
const PARTITIONS = 8;

interface Load {
  rate: number;
  format: 'json' | 'frame';
  seconds: number;
}

function topology(
  brokers: string[],
  topic: string,
  table: string,
  url: string,
  format: string,
  state: string,
) {
  return parseTopology(
    `name: bench-e2e
workers: 2
state: { dir: ${state} }
sources:
  events:
    type: kafka
    brokers: [${brokers.join(', ')}]
    topic: ${topic}
    group: ${topic}-g
    format: ${format}
    key: user_id
    time: { field: ts, maxOutOfOrder: 50ms }
windows:
  per_user:
    from: events
    window: { type: tumbling, size: ${WINDOW_MS}ms }
    groupBy: [user_id]
    aggregate: { events: count() }
    to: [analytics]
sinks:
  analytics:
    type: clickhouse
    url: ${url}
    table: ${table}
    create: true
    batch: { rows: 50000, bytes: 16MiB, interval: 50ms }
`,
    '/tmp/bench-e2e.yaml',
  );
}

async function runLoad(
  load: Load,
  brokers: string[],
  url: string,
): Promise<{ figures: SystemFigures; line: string; agree: boolean }> {
  const name = `bench_e2e_${load.rate}_${Date.now()}`;
  const client = createClient({ url });
  const log = createLogger({ level: 'warn' });
  await produceEvents({ brokers, topic: name, format: load.format, count: 0, createTopic: PARTITIONS, log });
  // A state directory of its own: a shared default would restore the windows and offsets
  // of an earlier run (another topic) into this one.
  const state = await mkdtemp(join(tmpdir(), 'sluice-bench-e2e-'));
  const job = await Job.start(topology(brokers, name, name, url, load.format, state), {
    metrics: new Metrics(),
    log,
  });
  const latency = new LatencyRecorder();
  const seen = new Map<number, number>();
  let producing = true;
  let firstWindowEnd = Number.POSITIVE_INFINITY;
  let lastWindowEnd = 0;
  const poll = async () => {
    while (producing || Date.now() < lastWindowEnd + 10_000) {
      await sleep(50);
      const rows = await client
        .query({
          query: `SELECT window_start, count() AS rows FROM default.${name} GROUP BY window_start`,
          format: 'JSONEachRow',
        })
        .then((result) => result.json<{ window_start: string | number; rows: string | number }>())
        .catch(() => []);
      const now = Date.now();
      for (const row of rows) {
        const start = Number(row.window_start);
        const count = Number(row.rows);
        const before = seen.get(start) ?? 0;
        if (count <= before) continue;
        seen.set(start, count);
        if (start >= firstWindowEnd && start + WINDOW_MS <= lastWindowEnd)
          for (let added = before; added < count; added += 1)
            latency.record((now - start - WINDOW_MS) * 1000);
      }
      if (!producing && [...seen.keys()].some((start) => start + WINDOW_MS >= lastWindowEnd)) break;
    }
  };
  try {
    const useKcat = load.format === 'json' && (await kcatAvailable());
    await sleep(8000); // the consumer group joins before the clock starts
    const startTime = Math.ceil(Date.now() / WINDOW_MS) * WINDOW_MS;
    await sleep(startTime - Date.now());
    firstWindowEnd = startTime + WARM_UP_MS;
    lastWindowEnd = startTime + load.seconds * 1000 - WINDOW_MS;
    const polling = poll();
    const measure = measureProcess();
    const count = load.rate * load.seconds;
    const produced = useKcat
      ? await produceJsonWithKcat({
          brokers,
          topic: name,
          count,
          rate: load.rate,
          generator: { keys: 1000, startTime },
        })
      : await produceEvents({
          brokers,
          topic: name,
          format: load.format,
          count,
          rate: load.rate,
          startTime,
          keys: 1000,
          batchEvents: Math.max(500, load.rate / 10),
          log,
        });
    producing = false;
    await polling;
    const usage = measure.stop();
    const totals = await client
      .query({
        query: `SELECT sum(events) AS events FROM default.${name} FINAL WHERE window_start >= ${firstWindowEnd} AND window_start + ${WINDOW_MS} <= ${lastWindowEnd}`,
        format: 'JSONEachRow',
      })
      .then((result) => result.json<{ events: string | number }>());
    const expected = Math.round(((lastWindowEnd - firstWindowEnd) / 1000) * load.rate);
    const stored = Number(totals[0]?.events ?? 0);
    const label = `sluice → ClickHouse, ${load.rate.toLocaleString('en-US')}/s offered (${load.format})`;
    return {
      agree: stored === expected,
      line: `${label}: ${stored.toLocaleString('en-US')} events counted in the measured windows, ${expected.toLocaleString('en-US')} produced${stored === expected ? '' : ' — MISMATCH'}`,
      figures: {
        system: label,
        scenario: 'e2e-clickhouse',
        events: produced.events,
        ...usage,
        eventsPerSecond: produced.eventsPerSecond,
        latencyUs: latency.percentiles(),
        latencyOf: 'per row: visible in ClickHouse − its window end (its last event due)',
        extra: { offered: load.rate, producer: useKcat ? 'kcat (librdkafka)' : 'kafkajs' },
      },
    };
  } finally {
    producing = false;
    await job.stop();
    await client.command({ query: `DROP TABLE IF EXISTS default.${name}` }).catch(() => {});
    await client.close();
    await rm(state, { recursive: true, force: true });
  }
}

export async function runE2eClickHouse(options: {
  quick: boolean;
  command: string;
}): Promise<ScenarioResult> {
  const context = runContext(options.command);
  const brokers = (process.env.SLUICE_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  const url = process.env.SLUICE_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';
  const loads: Load[] = options.quick
    ? [{ rate: 5000, format: 'json', seconds: 8 }]
    : [
        { rate: 50_000, format: 'json', seconds: 20 },
        { rate: 200_000, format: 'frame', seconds: 20 },
      ];
  const systems: SystemFigures[] = [];
  const lines: string[] = [];
  let agree = true;
  for (const load of loads) {
    const run = await runLoad(load, brokers, url);
    systems.push(run.figures);
    lines.push(run.line);
    agree &&= run.agree;
  }
  return {
    scenario: 'e2e-clickhouse',
    context,
    quick: options.quick,
    input: `${loads.map((load) => `${load.rate.toLocaleString('en-US')} events/s for ${load.seconds} s (${load.format})`).join('; ')}; 1,000 users, 1 s tumbling count, ${PARTITIONS} partitions, 2 workers; events/s column = rate the producer achieved`,
    check: { agree, lines },
    systems,
    skipped: ['no baseline run here: the seed stack (Spark → ClickHouse) reported < 3 s on a cluster'],
  };
}
