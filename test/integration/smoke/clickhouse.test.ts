import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient } from '@clickhouse/client';
import { clickhouse, uniqueName } from '../helpers/services.ts';

describe('ClickHouse smoke: the local server through @clickhouse/client', { timeout: 60_000 }, () => {
  const client = createClient({
    url: clickhouse.url,
    username: clickhouse.username,
    password: clickhouse.password,
  });
  const table = uniqueName('smoke_rows');

  before(async () => {
    // ReplacingMergeTree on a version column is how sluice's sink stays idempotent.
    await client.command({
      query: `CREATE TABLE ${table} (
        window_start DateTime, key String, clicks UInt64, version UInt32
      ) ENGINE = ReplacingMergeTree(version) ORDER BY (window_start, key)`,
    });
  });

  after(async () => {
    await client.command({ query: `DROP TABLE IF EXISTS ${table}` });
    await client.close();
  });

  it('answers ping and reports its version', async () => {
    assert.equal((await client.ping()).success, true);
    const result = await client.query({ query: 'SELECT version() AS version', format: 'JSONEachRow' });
    const [{ version }] = await result.json<{ version: string }>();
    assert.match(version, /^\d+\.\d+/);
  });

  it('returns inserted rows, keeping only the highest version of a replaced row', async () => {
    await client.insert({
      table,
      format: 'JSONEachRow',
      values: [
        { window_start: '2024-01-01 00:00:00', key: 'a', clicks: 1, version: 1 },
        { window_start: '2024-01-01 00:00:00', key: 'b', clicks: 5, version: 1 },
      ],
    });
    await client.insert({
      table,
      format: 'JSONEachRow',
      values: [{ window_start: '2024-01-01 00:00:00', key: 'a', clicks: 3, version: 2 }],
    });
    const result = await client.query({
      query: `SELECT key, clicks, version FROM ${table} FINAL ORDER BY key`,
      format: 'JSONEachRow',
    });
    // UInt64 arrives as a string in JSON formats; UInt32 as a number.
    assert.deepEqual(await result.json(), [
      { key: 'a', clicks: '3', version: 2 },
      { key: 'b', clicks: '5', version: 1 },
    ]);
  });
});
