/**
 * The per-sink metrics on the admin server's `/metrics`, after a real run into ClickHouse
 * and the BigQuery emulator. The job runs in this process (as `sluice start` runs it) so
 * the registry can be scraped once the input has ended and the sinks are flushed. Each
 * sink reaches its server through a TCP proxy that is down for the first seconds (open
 * retried), and each gets rows its server refuses (dead-lettered):
 * - ClickHouse: windows before 1970 have a negative `window_start`, which a UInt64 column
 *   refuses (code 72);
 * - BigQuery: the table exists with `user_id` INT64, so the windows of user `x` are refused.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BigQuery } from '@google-cloud/bigquery';
import { Job } from '../../../actors/job/job.ts';
import { startAdminServer } from '../../../runtime/admin-server.ts';
import { createLogger } from '../../../runtime/logger.ts';
import { Metrics } from '../../../runtime/metrics.ts';
import { loadTopology } from '../../../runtime/topology/load-topology.ts';
import { bigQueryClientOptions, bigquery, clickhouse, uniqueName } from '../helpers/services.ts';
import { clickhouseCommand, finalRows, scrapeMetrics } from './clickhouse-helpers.ts';
import { TcpProxy } from './tcp-proxy.ts';

const start = Date.UTC(2026, 0, 1);

function topology(options: {
  clickhousePort: number;
  bigqueryPort: number;
  chTable: string;
  bqTable: string;
}) {
  return `name: sinkmetrics
workers: 1
sources:
  events: { type: file, path: ./events.jsonl, key: user_id, time: { field: ts } }
windows:
  per_user:
    from: events
    window: { type: tumbling, size: 10s }
    groupBy: [user_id]
    aggregate: { events: count(), amount: sum(amount) }
    to: [analytics, warehouse]
sinks:
  analytics:
    type: clickhouse
    url: http://127.0.0.1:${options.clickhousePort}
    table: ${options.chTable}
    create: true
    batch: { rows: 50, interval: 100ms }
  warehouse:
    type: bigquery
    projectId: ${bigquery.projectId}
    dataset: ${bigquery.dataset}
    table: ${options.bqTable}
    apiEndpoint: http://127.0.0.1:${options.bigqueryPort}
    batch: { rows: 50, interval: 100ms }
  dlq: { type: file, path: ./out/dlq.jsonl }
deadLetter: dlq
`;
}

describe('sink metrics on /metrics', { timeout: 120_000 }, () => {
  it('counts rows and batches written, retries, failed attempts, refused rows and write time per sink', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-sink-metrics-'));
    const chTable = uniqueName('sinkmetrics_ch');
    const bqTable = uniqueName('sinkmetrics_bq');
    const chTarget = new URL(clickhouse.url);
    const bqTarget = new URL(bigquery.apiEndpoint);
    const chProxy = new TcpProxy(chTarget.hostname, Number(chTarget.port));
    const bqProxy = new TcpProxy(bqTarget.hostname, Number(bqTarget.port));
    const client = new BigQuery(bigQueryClientOptions());
    const dataset = client.dataset(bigquery.dataset);
    t.after(async () => {
      await chProxy.down();
      await bqProxy.down();
      await rm(dir, { recursive: true, force: true });
      await clickhouseCommand(`DROP TABLE IF EXISTS default.${chTable}`);
      await dataset
        .table(bqTable)
        .delete()
        .catch(() => {});
    });
    await dataset.createTable(bqTable, {
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
    const before1970 = Array.from({ length: 20 }, (_, index) => ({
      user_id: '1',
      ts: -50_000 + index * 2500,
      amount: 1,
    }));
    const after = Array.from({ length: 400 }, (_, index) => ({
      user_id: users[index % users.length] as string,
      ts: start + index * 100,
      amount: index % 3,
    }));
    const events = [...before1970, ...after];
    await writeFile(join(dir, 'events.jsonl'), events.map((event) => `${JSON.stringify(event)}\n`).join(''));
    // Reserve the proxies' ports, then leave them down: the sinks start against refused connections.
    await chProxy.up();
    await bqProxy.up();
    await chProxy.down();
    await bqProxy.down();
    const file = join(dir, 'job.yaml');
    await writeFile(
      file,
      topology({ clickhousePort: chProxy.port, bigqueryPort: bqProxy.port, chTable, bqTable }),
    );

    const metrics = new Metrics();
    const admin = await startAdminServer({ host: '127.0.0.1', port: 0, metrics, isReady: () => true });
    t.after(() => admin.close());
    // Each proxy comes up once its sink has counted a failed open (so a retry follows,
    // however long the job takes to start). The BigQuery client retries a refused
    // connection itself for about 16 s before it gives up and the sink's own retry counts.
    const upAfterFailedOpen = async (proxy: TcpProxy, sink: string) => {
      const labels = { sink, operation: 'open', code: 'SLUICE_ERR_SINK_UNAVAILABLE' };
      while ((await scrapeMetrics(admin.port)).value('sluice_sink_errors_total', labels) === 0)
        await sleep(100);
      await proxy.up();
    };
    const proxiesUp = Promise.all([
      upAfterFailedOpen(chProxy, 'analytics'),
      upAfterFailedOpen(bqProxy, 'warehouse'),
    ]);
    const job = await Job.start(await loadTopology(file), { metrics, log: createLogger({ level: 'error' }) });
    try {
      await proxiesUp;
      await job.finished;
      await job.stop();
    } catch (error) {
      await job.terminate();
      throw error;
    }

    const scrape = await scrapeMetrics(admin.port);
    for (const sink of ['analytics', 'warehouse']) {
      const labels = { sink };
      const positive = (name: string, extra: Record<string, string> = {}) =>
        assert.ok(scrape.value(name, { ...labels, ...extra }) > 0, `${name} of ${sink} is 0`);
      positive('sluice_sink_rows_written_total');
      positive('sluice_sink_batches_total');
      positive('sluice_sink_retries_total', { operation: 'open' });
      positive('sluice_sink_errors_total', { operation: 'open', code: 'SLUICE_ERR_SINK_UNAVAILABLE' });
      positive('sluice_sink_rows_rejected_total');
      positive('sluice_sink_write_seconds_count');
      positive('sluice_events_out_total');
      assert.ok(scrape.value('sluice_dead_letters_total', { source: sink }) > 0);
      assert.match(scrape.text, new RegExp(`^sluice_sink_buffered_rows\\{sink="${sink}"\\} 0$`, 'm'));
      assert.match(scrape.text, new RegExp(`^sluice_sink_buffered_bytes\\{sink="${sink}"\\} 0$`, 'm'));
      assert.equal(
        scrape.value('sluice_sink_rows_written_total', labels) +
          scrape.value('sluice_sink_rows_rejected_total', labels),
        scrape.value('sluice_events_out_total', labels),
        `every row handed to ${sink} was written or refused`,
      );
    }
    // ClickHouse refused the five windows before 1970 (UInt64 window_start), one row each.
    assert.equal(
      scrape.value('sluice_sink_rows_rejected_total', { sink: 'analytics', code: 'CLICKHOUSE_72' }),
      5,
    );
    const dead = (await readFile(join(dir, 'out', 'dlq.jsonl'), 'utf8'))
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as { sink: string; code: string });
    assert.equal(
      dead.filter((letter) => letter.sink === 'analytics').length,
      scrape.value('sluice_sink_rows_rejected_total', { sink: 'analytics' }),
    );
    assert.equal(
      dead.filter((letter) => letter.sink === 'warehouse').length,
      scrape.value('sluice_sink_rows_rejected_total', { sink: 'warehouse' }),
    );
    const stored = await finalRows(chTable, 'window_start, user_id, events');
    assert.equal(stored.length, scrape.value('sluice_sink_rows_written_total', { sink: 'analytics' }));
  });
});
