import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { produceEvents } from '../../../actors/kafka/produce-events.ts';
import { residentBytes, runSluice, startSluice } from '../../e2e/sluice-process.ts';
import { clickhouse, kafkaBrokers, uniqueName } from '../helpers/services.ts';
import {
  clickhouseCommand,
  clickhouseQuery,
  clickhouseTopology,
  deleteTopic,
  finalRows,
} from './clickhouse-helpers.ts';
import { TcpProxy } from './tcp-proxy.ts';

const columns = 'window_start, window_end, user_id, events, amount, pages, version';
const outageMs = 6000;

describe('ClickHouse sink while the server is away', { timeout: 150_000 }, () => {
  it('holds rows back while ClickHouse is unreachable mid-stream and loses or doubles none once it returns', async (t) => {
    const topic = uniqueName('chdown');
    const dir = await mkdtemp(join(tmpdir(), 'sluice-ch-down-'));
    const cleanTable = `${topic}_clean`;
    const outageTable = `${topic}_outage`;
    const target = new URL(clickhouse.url);
    const proxy = new TcpProxy(target.hostname, Number(target.port));
    t.after(async () => {
      await proxy.down();
      await rm(dir, { recursive: true, force: true });
      await deleteTopic(topic);
      for (const table of [cleanTable, outageTable])
        await clickhouseCommand(`DROP TABLE IF EXISTS default.${table}`);
    });
    await produceEvents({
      brokers: kafkaBrokers,
      topic,
      format: 'json',
      count: 30_000,
      keys: 1000,
      createTopic: 4,
      startTime: Date.UTC(2026, 0, 1),
      rate: 0,
      outOfOrder: 0.1,
      maxOutOfOrderMs: 3000,
    });
    await proxy.up();
    const cleanDir = join(dir, 'clean');
    const outageDir = join(dir, 'outage');
    await mkdir(cleanDir, { recursive: true });
    await mkdir(outageDir, { recursive: true });
    await writeFile(
      join(cleanDir, 'job.yaml'),
      clickhouseTopology({ name: 'chdown', topic, group: `${cleanTable}-g`, table: cleanTable }),
    );
    await writeFile(
      join(outageDir, 'job.yaml'),
      clickhouseTopology({
        name: 'chdown',
        topic,
        group: `${outageTable}-g`,
        table: outageTable,
        url: `http://127.0.0.1:${proxy.port}`,
        batch: '{ rows: 2000, bytes: 1MiB, interval: 100ms }',
      }),
    );
    const clean = await runSluice(['start', 'job.yaml'], { cwd: cleanDir, timeoutMs: 60_000 });
    assert.equal(clean.code, 0, clean.stderr);

    const running = startSluice(['start', 'job.yaml'], { cwd: outageDir });
    const pid = running.child.pid as number;
    let visible = 0;
    for (let waited = 0; visible === 0 && waited < 30_000; waited += 50) {
      await sleep(50);
      const [row] = await clickhouseQuery<{ n: string }>(
        `SELECT count() AS n FROM system.tables WHERE database = 'default' AND name = '${outageTable}'`,
      );
      if (Number(row?.n) > 0) {
        const [count] = await clickhouseQuery<{ n: string }>(
          `SELECT count() AS n FROM default.${outageTable}`,
        );
        visible = Number(count?.n);
      }
    }
    assert.ok(visible > 0, 'rows reached ClickHouse before the outage');
    await proxy.down();
    const rssDuring: number[] = [];
    for (let waited = 0; waited < outageMs; waited += 500) {
      await sleep(500);
      rssDuring.push(await residentBytes(pid));
    }
    assert.equal(running.child.exitCode, null, 'the job waits for ClickHouse instead of failing');
    await proxy.up();
    const result = await running.finished;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /sink retrying/, 'the outage was seen by the sink');

    const peak = Math.max(...rssDuring);
    const settled = rssDuring[2] ?? peak;
    assert.ok(peak < 600 * 1024 * 1024, `RSS ${peak} bytes during the outage`);
    assert.ok(
      peak - settled < 64 * 1024 * 1024,
      `RSS grew by ${peak - settled} bytes while the server was away`,
    );
    const expected = await finalRows(cleanTable, columns);
    assert.ok(expected.length > 200);
    assert.deepEqual(await finalRows(outageTable, columns), expected);
  });
});
