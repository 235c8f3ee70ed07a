import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BigQuery } from '@google-cloud/bigquery';
import kafkajs from 'kafkajs';
import { runSluice } from '../../e2e/sluice-process.ts';
import { bigQueryClientOptions, bigquery, kafkaBrokers, uniqueName } from '../helpers/services.ts';
import { deleteTopic } from './clickhouse-helpers.ts';
import { fileTopology, testEvents, writeEvents } from './file-source-topology.ts';

const windowMs = 10_000;
const start = Date.UTC(2026, 0, 1);

function topology(topic: string, table: string): string {
  return `name: bq
workers: 1
sources:
  events:
    type: kafka
    brokers: [${kafkaBrokers.join(', ')}]
    topic: ${topic}
    group: ${topic}-g
    format: json
    key: user_id
    bounded: latest
    time: { field: ts }
windows:
  per_user:
    from: events
    window: { type: tumbling, size: 10s }
    groupBy: [user_id]
    aggregate: { events: count(), amount: sum(amount) }
    to: [warehouse]
sinks:
  warehouse:
    type: bigquery
    projectId: ${bigquery.projectId}
    dataset: ${bigquery.dataset}
    table: ${table}
    apiEndpoint: ${bigquery.apiEndpoint}
    batch: { rows: 50, interval: 200ms }
  dlq: { type: file, path: ./out/dlq.jsonl }
deadLetter: dlq
`;
}

describe('Kafka → sluice → BigQuery emulator', { timeout: 90_000 }, () => {
  it('stores the expected rows and sends the rows the API rejects to the dead-letter sink', async (t) => {
    const topic = uniqueName('bq');
    const table = uniqueName('bq_rows');
    const dir = await mkdtemp(join(tmpdir(), 'sluice-bq-'));
    const client = new BigQuery(bigQueryClientOptions());
    const dataset = client.dataset(bigquery.dataset);
    t.after(async () => {
      await rm(dir, { recursive: true, force: true });
      await deleteTopic(topic);
      await dataset
        .table(table)
        .delete()
        .catch(() => {});
    });
    // user_id is INT64 in this table, so the windows of user "x" are refused by the API.
    await dataset.createTable(table, {
      schema: {
        fields: [
          { name: 'window_start', type: 'TIMESTAMP' },
          { name: 'window_end', type: 'TIMESTAMP' },
          { name: 'user_id', type: 'INT64' },
          { name: 'events', type: 'INT64' },
          { name: 'amount', type: 'FLOAT64' },
          { name: 'version', type: 'INT64' },
        ],
      },
      timePartitioning: { type: 'DAY', field: 'window_start' },
    });
    const users = ['1', '2', '3', 'x'];
    const events = Array.from({ length: 400 }, (_, index) => ({
      user_id: users[index % users.length] as string,
      ts: start + index * 100,
      amount: index % 3,
    }));
    const kafka = new kafkajs.Kafka({ brokers: kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: events.map((event) => ({ key: event.user_id, value: JSON.stringify(event) })),
    });
    await producer.disconnect();

    await writeFile(join(dir, 'job.yaml'), topology(topic, table));
    const result = await runSluice(['start', 'job.yaml'], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(result.code, 0, result.stderr);

    const expected = new Map<string, { events: number; amount: number }>();
    for (const event of events) {
      const id = `${event.user_id}@${Math.floor((event.ts - start) / windowMs)}`;
      const totals = expected.get(id) ?? { events: 0, amount: 0 };
      totals.events++;
      totals.amount += event.amount;
      expected.set(id, totals);
    }
    const [rows] = await client.query({
      query: `SELECT user_id, UNIX_MILLIS(window_start) AS start_ms, events, amount, version FROM ${bigquery.dataset}.${table}`,
    });
    const stored = new Map<string, { events: number; amount: number }>();
    for (const row of rows as Array<{
      user_id: number;
      start_ms: number;
      events: number;
      amount: number;
      version: number;
    }>) {
      assert.equal(Number(row.version), 1);
      stored.set(`${row.user_id}@${(Number(row.start_ms) - start) / windowMs}`, {
        events: Number(row.events),
        amount: Number(row.amount),
      });
    }
    const numericExpected = new Map([...expected].filter(([id]) => !id.startsWith('x@')));
    assert.deepEqual(new Map([...stored].sort()), new Map([...numericExpected].sort()));

    const dead = (await readFile(join(dir, 'out', 'dlq.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const rejectedWindows = [...expected.keys()].filter((id) => id.startsWith('x@')).length;
    assert.equal(dead.length, rejectedWindows);
    for (const letter of dead) {
      assert.equal(letter.sink, 'warehouse');
      assert.equal(letter.row.user_id, 'x');
      assert.match(letter.code, /^BIGQUERY_/);
      assert.ok(letter.reason.length > 0);
    }
  });

  it('creates its table from the topology, time-partitioned on window_start', async (t) => {
    const table = uniqueName('bq_created');
    const dir = await mkdtemp(join(tmpdir(), 'sluice-bq-create-'));
    const client = new BigQuery(bigQueryClientOptions());
    t.after(async () => {
      await rm(dir, { recursive: true, force: true });
      await client
        .dataset(bigquery.dataset)
        .table(table)
        .delete()
        .catch(() => {});
    });
    const events = testEvents(1000, 5);
    await writeEvents(dir, events);
    const sink = `{ type: bigquery, projectId: ${bigquery.projectId}, dataset: ${bigquery.dataset}, table: ${table}, apiEndpoint: "${bigquery.apiEndpoint}", create: true }`;
    await writeFile(
      join(dir, 'job.yaml'),
      fileTopology({ name: 'bqcreate', aggregate: 'events: count(), first_page: first(page)', sink }),
    );
    const result = await runSluice(['start', 'job.yaml'], { cwd: dir, timeoutMs: 30_000 });
    assert.equal(result.code, 0, result.stderr);
    const [metadata] = await client.dataset(bigquery.dataset).table(table).getMetadata();
    assert.deepEqual(
      metadata.schema.fields.map(
        (field: { name: string; type: string }) =>
          // BigQuery answers INTEGER, the emulator echoes INT64: the same type.
          `${field.name}:${field.type === 'INTEGER' ? 'INT64' : field.type}`,
      ),
      [
        'window_start:TIMESTAMP',
        'window_end:TIMESTAMP',
        'user_id:STRING',
        'events:INT64',
        'first_page:STRING',
        'version:INT64',
      ],
    );
    assert.equal(metadata.timePartitioning?.field, 'window_start');
    const [rows] = await client.query({
      query: `SELECT SUM(events) AS total FROM ${bigquery.dataset}.${table}`,
    });
    assert.equal(Number((rows as Array<{ total: number }>)[0]?.total), events.length);
  });
});
