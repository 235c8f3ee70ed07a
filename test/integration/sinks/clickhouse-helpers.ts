/**
 * ClickHouse access for the sink integration tests: queries through the HTTP interface
 * of the local server, and the topology that feeds a table from a Kafka topic.
 */
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
`;
}
