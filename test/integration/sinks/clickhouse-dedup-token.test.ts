/**
 * The insert deduplication token against the real local server. The server's version
 * decides: before 22.2 (the local 18.16) no setting is sent, inserts work, a replayed
 * insert is a second copy that FINAL folds; from 22.2 on the replayed insert is dropped by
 * the server before any merge.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BatchPart } from '../../../actors/sinks/batching-buffer.ts';
import { supportsDeduplicationToken } from '../../../actors/sinks/clickhouse-server.ts';
import { type ClickHouseSinkConfig, ClickHouseTarget } from '../../../actors/sinks/clickhouse-sink.ts';
import { recordingContext } from '../../unit/sinks/fake-sink-context.ts';
import { clickhouse, uniqueName } from '../helpers/services.ts';
import { clickhouseCommand, clickhouseQuery, finalRows } from './clickhouse-helpers.ts';

function row(user: string, windowStart: number): string {
  return JSON.stringify({
    window_start: windowStart,
    window_end: windowStart + 10_000,
    user_id: user,
    events: 1,
    version: 1,
  });
}

describe('ClickHouse insert deduplication token on the local server', { timeout: 60_000 }, () => {
  it('sends the token only where the server version has it, and inserts work either way', async (t) => {
    const table = uniqueName('chtoken');
    t.after(() => clickhouseCommand(`DROP TABLE IF EXISTS default.${table}`));
    const config: ClickHouseSinkConfig = {
      name: 'analytics',
      deadLetter: null,
      batch: { rows: 100, bytes: 1 << 20, intervalMs: 100 },
      url: clickhouse.url,
      username: clickhouse.username,
      password: clickhouse.password,
      database: 'default',
      table,
      create: true,
      schema: 'strict',
      shape: { groupBy: ['user_id'], aggregates: [{ name: 'events', fn: 'count' }] },
    };
    const target = new ClickHouseTarget(config);
    t.after(() => target.close());
    const { ctx } = recordingContext();
    await target.open(ctx);
    const [reported] = await clickhouseQuery<{ version: string }>('SELECT version() AS version');
    assert.equal(target.server.version, reported?.version);
    assert.equal(target.server.deduplicationToken, supportsDeduplicationToken(reported?.version ?? ''));
    const [ddl] = await clickhouseQuery<{ statement: string }>(`SHOW CREATE TABLE default.${table}`);
    assert.equal(
      ddl?.statement.includes('non_replicated_deduplication_window'),
      target.server.deduplicationToken,
    );

    const parts: BatchPart[] = [
      { origin: { partition: 'events/0', checkpoint: 3 }, sequence: 0, lines: [row('a', 0), row('b', 0)] },
      { origin: { partition: 'events/1', checkpoint: 3 }, sequence: 0, lines: [row('c', 0)] },
    ];
    const lines = parts.flatMap((part) => part.lines);
    assert.deepEqual(await target.write(lines, ctx, parts), []);
    // The same parts again: a retried insert, or a replay from checkpoint 3 after a crash.
    assert.deepEqual(await target.write(lines, ctx, parts), []);
    const [stored] = await clickhouseQuery<{ n: string }>(`SELECT count() AS n FROM default.${table}`);
    const copies = target.server.deduplicationToken ? 1 : 2;
    t.diagnostic(`server ${target.server.version}: ${stored?.n} rows stored for 3 rows written twice`);
    assert.equal(Number(stored?.n), 3 * copies);
    assert.deepEqual(await finalRows(table, 'user_id, events, version'), [
      '{"user_id":"a","events":"1","version":"1"}',
      '{"user_id":"b","events":"1","version":"1"}',
      '{"user_id":"c","events":"1","version":"1"}',
    ]);
  });
});
