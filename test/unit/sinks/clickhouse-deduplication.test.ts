/**
 * The ClickHouse sink against a fake server that answers `SELECT version()` as told:
 * where the insert token is sent, what it is across a retry and a replay, and that an old
 * server gets no setting at all.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SinkWrite } from '../../../actors/partition/partition-plan.ts';
import { BatchingSink } from '../../../actors/sinks/batching-sink.ts';
import {
  type ClickHouseConnection,
  type ClickHouseSinkConfig,
  ClickHouseTarget,
} from '../../../actors/sinks/clickhouse-sink.ts';
import { recordingContext } from './fake-sink-context.ts';

interface Insert {
  rows: number;
  settings: Record<string, unknown>;
}

/** Answers like a ClickHouse server of `version` with no table yet; fails the next `failures` inserts. */
class FakeServer {
  readonly version: string;
  readonly commands: string[] = [];
  readonly inserts: Insert[] = [];
  failures = 0;

  constructor(version: string) {
    this.version = version;
  }

  get connection(): ClickHouseConnection {
    const server = this;
    return {
      async query({ query }: { query: string }) {
        const rows = query.startsWith('SELECT version()') ? [{ version: server.version }] : [];
        return { json: async () => rows };
      },
      async command({ query }: { query: string }) {
        server.commands.push(query);
        return {};
      },
      async insert({ values, clickhouse_settings }: { values: unknown[]; clickhouse_settings?: object }) {
        if (server.failures > 0) {
          server.failures--;
          throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' });
        }
        server.inserts.push({ rows: values.length, settings: { ...clickhouse_settings } });
        return {};
      },
      async close() {},
    } as unknown as ClickHouseConnection;
  }

  get tokens(): unknown[] {
    return this.inserts.map((insert) => insert.settings.insert_deduplication_token);
  }
}

const config: ClickHouseSinkConfig = {
  name: 'analytics',
  deadLetter: 'dlq',
  batch: { rows: 4, bytes: 1 << 20, intervalMs: 100 },
  retry: { initialDelayMs: 1, maxDelayMs: 2, multiplier: 2, maxAttempts: Number.POSITIVE_INFINITY },
  url: 'http://127.0.0.1:8123',
  database: 'default',
  table: 'clicks',
  create: true,
  schema: 'strict',
  shape: { groupBy: ['user_id'], aggregates: [{ name: 'events', fn: 'count' }] },
};

function write(partition: number, checkpoint: number, users: string[]): SinkWrite {
  return {
    sink: 'analytics',
    file: null,
    data: users
      .map(
        (user) =>
          `${JSON.stringify({ window_start: 0, window_end: 10_000, user_id: user, events: 1, version: 1 })}\n`,
      )
      .join(''),
    rows: users.length,
    outputs: { per_user: users.length },
    origin: { partition: `events/${partition}`, checkpoint },
  };
}

/** Two partitions after checkpoint 5 of each: 6 rows, flushed at 4 rows and at the end. */
const writes = [write(0, 5, ['a', 'b']), write(1, 5, ['c']), write(0, 5, ['d']), write(1, 5, ['e', 'f'])];

async function run(server: FakeServer): Promise<void> {
  const sink = new BatchingSink(config, new ClickHouseTarget(config, server.connection));
  const { ctx } = recordingContext();
  await sink.start(ctx);
  for (const each of writes) await sink.receive(each, ctx);
  await sink.stop(ctx);
}

describe('ClickHouse sink insert deduplication token', () => {
  it('sends no setting to a server older than 22.2 and writes each batch in one insert', async () => {
    const server = new FakeServer('18.16.1');
    await run(server);
    assert.deepEqual(
      server.inserts.map((insert) => insert.rows),
      [4, 2],
    );
    assert.deepEqual(
      server.inserts.map((insert) => insert.settings),
      [{}, {}],
    );
    assert.equal(server.commands.length, 1);
    assert.doesNotMatch(server.commands[0] as string, /deduplication/);
  });

  it('on 22.2 and later, inserts each partition apart with a token of (partition, checkpoint, part, rows)', async () => {
    const server = new FakeServer('24.3.2.23');
    await run(server);
    assert.deepEqual(
      server.inserts.map((insert) => insert.rows),
      [3, 1, 2],
    );
    const tokens = server.tokens as string[];
    assert.match(tokens[0] as string, /^events\/0:5:0:3:/);
    assert.match(tokens[1] as string, /^events\/1:5:0:1:/);
    assert.match(tokens[2] as string, /^events\/1:5:1:2:/);
    assert.match(server.commands[0] as string, /SETTINGS non_replicated_deduplication_window = 1000$/);
  });

  it('gives a retried insert and a replay after a crash the tokens of the first run', async () => {
    const clean = new FakeServer('22.2.1');
    await run(clean);
    const retried = new FakeServer('22.2.1');
    retried.failures = 2;
    await run(retried);
    assert.deepEqual(retried.tokens, clean.tokens);
    const replayed = new FakeServer('22.2.1');
    await run(replayed);
    assert.deepEqual(replayed.tokens, clean.tokens);
  });
});
