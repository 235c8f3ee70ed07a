/**
 * ClickHouse access for the sink integration tests: queries through the HTTP interface
 * of the local server, the topology that feeds a table from a Kafka topic, events spread
 * over many windows, and a reader of the admin server's `/metrics`.
 */
import { createServer } from 'node:net';
import { createClient } from '@clickhouse/client';
import kafkajs from 'kafkajs';
import { clickhouse, kafkaBrokers } from '../helpers/services.ts';

export async function clickhouseQuery<Row>(query: string, url = clickhouse.url): Promise<Row[]> {
  const client = createClient({ url, username: clickhouse.username, password: clickhouse.password });
  try {
    const result = await client.query({ query, format: 'JSONEachRow' });
    return await result.json<Row>();
  } finally {
    await client.close();
  }
}

export async function clickhouseCommand(query: string): Promise<void> {
  const client = createClient({
    url: clickhouse.url,
    username: clickhouse.username,
    password: clickhouse.password,
  });
  try {
    await client.command({ query });
  } finally {
    await client.close();
  }
}

/** Every row of `table` after replacement (FINAL), ordered by identity, as JSON lines. */
export async function finalRows(table: string, columns: string): Promise<string[]> {
  const rows = await clickhouseQuery<Record<string, unknown>>(
    `SELECT ${columns} FROM default.${table} FINAL ORDER BY user_id, window_start`,
  );
  return rows.map((row) => JSON.stringify(row));
}

export async function deleteTopic(topic: string): Promise<void> {
  const admin = new kafkajs.Kafka({ brokers: kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
}

export interface ClickHouseTopologyOptions {
  name: string;
  topic: string;
  group: string;
  table: string;
  url?: string;
  aggregate?: string;
  schema?: 'evolve' | 'strict';
  batch?: string;
  /** Extra top-level topology lines (admin, mailbox, batch). */
  extra?: string;
}

export function clickhouseTopology(options: ClickHouseTopologyOptions): string {
  return `name: ${options.name}
workers: 2
checkpoint: { interval: 200ms, keep: 2, snapshotEvery: 3 }
sources:
  events:
    type: kafka
    brokers: [${kafkaBrokers.join(', ')}]
    topic: ${options.topic}
    group: ${options.group}
    format: json
    key: user_id
    bounded: latest
    time: { field: ts, maxOutOfOrder: 3s }
windows:
  per_user:
    from: events
    window: { type: tumbling, size: 10s, allowedLateness: 5s }
    groupBy: [user_id]
    aggregate: { ${options.aggregate ?? 'events: count(), amount: sum(amount), pages: count_distinct(page)'} }
    to: [analytics]
    late: late
sinks:
  analytics:
    type: clickhouse
    url: ${options.url ?? clickhouse.url}
    table: ${options.table}
    create: true
    schema: ${options.schema ?? 'strict'}
    batch: ${options.batch ?? '{ rows: 5000, bytes: 4MiB, interval: 100ms }'}
  late: { type: file, path: ./out/late.jsonl }
  dlq: { type: file, path: ./out/dlq.jsonl }
deadLetter: dlq
${options.extra ?? ''}`;
}

/**
 * Writes `count` JSON events to a new topic of `partitions` partitions, keyed by user:
 * event i belongs to user `u<i % users>` at `start + i * stepMs`, so the events cover
 * `count * stepMs` ms of event time and windows fire all along the stream.
 */
export async function produceSpreadEvents(options: {
  topic: string;
  count: number;
  users: number;
  partitions: number;
  stepMs: number;
}): Promise<void> {
  const kafka = new kafkajs.Kafka({ brokers: kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: options.topic, numPartitions: options.partitions }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  const start = Date.UTC(2026, 0, 1);
  for (let first = 0; first < options.count; first += 10_000) {
    const messages = [];
    for (let index = first; index < Math.min(options.count, first + 10_000); index++) {
      const user = `u${index % options.users}`;
      const event = {
        user_id: user,
        ts: start + index * options.stepMs,
        amount: index % 7,
        page: `/p${index % 5}`,
      };
      messages.push({ key: user, value: JSON.stringify(event) });
    }
    await producer.send({ topic: options.topic, messages });
  }
  await producer.disconnect();
}

/** A TCP port nobody listens on right now, for an admin server the test scrapes. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** One scrape of `/metrics`: the sum of a family's series whose labels include `labels`. */
export interface Scrape {
  text: string;
  value(name: string, labels?: Record<string, string>): number;
}

export async function scrapeMetrics(port: number): Promise<Scrape> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  const text = await response.text();
  return {
    text,
    value(name, labels = {}) {
      let sum = 0;
      for (const line of text.split('\n')) {
        const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
        if (match === null || match[1] !== name) continue;
        const seen = new Map<string, string>();
        for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
          seen.set(pair[1] as string, pair[2] as string);
        if (Object.entries(labels).every(([label, value]) => seen.get(label) === value))
          sum += Number(match[3]);
      }
      return sum;
    },
  };
}
