/**
 * A graceful shutdown that cannot finish ends the process anyway: `sluice start` with a
 * ClickHouse sink behind a proxy that, once the job runs, accepts connections and never
 * answers (a server hung mid-request). SIGTERM must exit 1 within shutdown.timeout plus a
 * margin, with one line naming what did not finish — never hang.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { clickhouse } from '../integration/helpers/services.ts';
import { clickhouseCommand, clickhouseQuery } from '../integration/sinks/clickhouse-helpers.ts';
import { startSluice } from './sluice-process.ts';

/** Forwards to ClickHouse until `stall()`; from then on it holds every connection open and silent. */
class StallingProxy {
  readonly #target = new URL(clickhouse.url);
  readonly #links = new Set<{ client: Socket; upstream: Socket | null }>();
  #server: Server | null = null;
  #stalled = false;
  port = 0;

  async up(): Promise<void> {
    const server = createServer((client) => {
      client.on('error', () => {});
      const link = { client, upstream: null as Socket | null };
      this.#links.add(link);
      client.on('close', () => {
        link.upstream?.destroy();
        this.#links.delete(link);
      });
      if (this.#stalled) return;
      const upstream = connect(Number(this.#target.port), this.#target.hostname);
      upstream.on('error', () => client.destroy());
      link.upstream = upstream;
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  stall(): void {
    this.#stalled = true;
    for (const link of this.#links) {
      if (link.upstream === null) continue;
      link.client.unpipe(link.upstream);
      link.upstream.unpipe(link.client);
      link.upstream.destroy();
      link.upstream = null;
    }
  }

  async close(): Promise<void> {
    for (const link of this.#links) {
      link.client.destroy();
      link.upstream?.destroy();
    }
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()) ?? resolve());
  }
}

describe('sluice start whose graceful shutdown cannot finish', () => {
  it('exits 1 within shutdown.timeout plus a margin, naming what did not finish', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-stuck-'));
    const table = `sluice_stuck_${randomUUID().slice(0, 8)}`;
    const proxy = new StallingProxy();
    await proxy.up();
    t.after(async () => {
      await proxy.close();
      await clickhouseCommand(`DROP TABLE IF EXISTS default.${table}`);
      await rm(dir, { recursive: true, force: true });
    });
    await writeFile(
      join(dir, 'stuck.yaml'),
      `name: stuck
workers: 1
shutdown: { timeout: 2s }
sources:
  clicks: { type: generator, keys: 100, rate: 5000, partitions: 1, startTime: 0, time: { maxOutOfOrder: 1s } }
windows:
  per_user:
    from: clicks
    window: { type: tumbling, size: 1s }
    groupBy: [user_id]
    aggregate: { events: count() }
    to: [analytics]
sinks:
  analytics:
    type: clickhouse
    url: http://127.0.0.1:${proxy.port}
    database: default
    table: ${table}
    create: true
    batch: { rows: 1000, bytes: 1MiB, interval: 100ms }
`,
    );
    const running = startSluice(['start', 'stuck.yaml'], { cwd: dir });
    const killer = setTimeout(() => running.child.kill('SIGKILL'), 90_000);
    t.after(() => clearTimeout(killer));
    // Rows reach the table through the proxy: the job runs and talks to ClickHouse.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const rows = await clickhouseQuery<{ n: string }>(
        `SELECT count() AS n FROM system.tables WHERE database = 'default' AND name = '${table}'`,
      );
      if (rows[0]?.n === '1') {
        const [count] = await clickhouseQuery<{ n: string }>(`SELECT count() AS n FROM default.${table}`);
        if (Number(count?.n) > 0) break;
      }
      assert.equal(running.child.exitCode, null, `sluice exited early: ${running.stderr}`);
      assert.ok(Date.now() < deadline, `no rows in ClickHouse within 60 s: ${running.stderr}`);
      await sleep(200);
    }
    // Windows of 1 s fire about every second: let the next insert start and hang.
    proxy.stall();
    await sleep(2500);
    const signalled = Date.now();
    running.child.kill('SIGTERM');
    const result = await running.finished;
    const took = Date.now() - signalled;
    assert.equal(result.signal, null, `ended by ${result.signal} after ${took} ms: ${result.stderr}`);
    assert.equal(result.code, 1, result.stderr);
    assert.ok(took >= 2000 && took < 2000 + 5000, `exited ${took} ms after SIGTERM`);
    assert.match(
      result.stderr,
      /^sluice: shutdown did not finish within 2000 ms; still busy: \S.*$/m,
      result.stderr,
    );
  });
});
