/**
 * Gateway ingest on this machine: the gateway (log + feeders, partition actors replaced
 * by a counter) runs in this process; a load generator in a separate process opens N
 * WebSocket connections over loopback and sends batches of 1, 64 and 1,024 events,
 * each connection keeping a window of batches in flight. Before any figure is printed,
 * each run checks that the acked event count equals what the feeders read back from
 * the log. Prints ingest events/s, messages/s and ack latency p50/p99/p99.9 (hdr).
 *
 *   node --import tsx bench/gateway/gateway.ts [seconds=5] [connections=4] [fsync=group]
 */
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as hdr from 'hdr-histogram-js';
import WebSocket from 'ws';
import { startGatewaySource } from '../../actors/gateway/gateway-source.ts';
import { createLogger } from '../../runtime/logger.ts';
import { gatewaySourceSchema } from '../../runtime/topology/sources/gateway-schema.ts';
import type { GatewaySourceConfig } from '../../runtime/topology/topology-schema.ts';

interface LoadSpec {
  port: number;
  connections: number;
  batchEvents: number;
  window: number;
  seconds: number;
}

interface LoadResult {
  events: number;
  batches: number;
  elapsedMs: number;
  /** Encoded hdr histogram of ack latency in microseconds. */
  latency: string;
  refused: number;
}

async function load(spec: LoadSpec): Promise<LoadResult> {
  const histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  let events = 0;
  let batches = 0;
  let refused = 0;
  const started = performance.now();
  const endAt = started + spec.seconds * 1000;
  await Promise.all(
    Array.from({ length: spec.connections }, async (_, connection) => {
      const ws = new WebSocket(`ws://127.0.0.1:${spec.port}/ws`);
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      const sentAt = new Map<string, number>();
      let seq = 0;
      const body = (id: string) => {
        const list = [];
        for (let index = 0; index < spec.batchEvents; index++) {
          list.push({
            user_id: `u${(seq * 31 + index) % 10_000}`,
            ts: 1_767_225_600_000 + seq,
            amount: index,
          });
        }
        return JSON.stringify({ id, events: list });
      };
      await new Promise<void>((resolve) => {
        const sendOne = () => {
          const id = `${connection}-${seq++}`;
          sentAt.set(id, performance.now());
          ws.send(body(id));
        };
        ws.on('message', (data) => {
          const reply = JSON.parse(String(data)) as { ack?: string; count?: number; id?: string };
          const id = reply.ack ?? reply.id ?? '';
          const at = sentAt.get(id);
          sentAt.delete(id);
          if (reply.ack !== undefined) {
            events += reply.count ?? 0;
            batches++;
            if (at !== undefined)
              histogram.recordValue(Math.max(1, Math.round((performance.now() - at) * 1000)));
          } else refused++;
          if (performance.now() < endAt) sendOne();
          else if (sentAt.size === 0) {
            ws.close();
            resolve();
          }
        });
        for (let index = 0; index < spec.window; index++) sendOne();
      });
    }),
  );
  const result = {
    events,
    batches,
    elapsedMs: performance.now() - started,
    latency: hdr.encodeIntoCompressedBase64(histogram),
    refused,
  };
  histogram.destroy();
  return result;
}

if (process.argv[2] === '--load') {
  process.once('message', async (spec: LoadSpec) => {
    process.send?.(await load(spec), () => process.exit(0));
  });
} else {
  await main();
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 5);
  const connections = Number(process.argv[3] ?? 4);
  const fsync = (process.argv[4] ?? 'group') as 'group' | 'always' | 'none';
  console.log(
    `gateway ingest: ${connections} connections over loopback, ${seconds}s per run, fsync ${fsync}`,
  );
  console.log('batch  events/s   msgs/s  ack p50 ms  p99 ms  p99.9 ms  refused');
  for (const batchEvents of [1, 64, 1024]) {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-gateway-'));
    let delivered = 0;
    const config = gatewaySourceSchema.parse({
      type: 'gateway',
      host: '127.0.0.1',
      port: 0,
      partitions: 4,
      key: 'user_id',
      time: { field: 'ts' },
      limits: { maxPayload: '8MiB', inflightBatches: 256 },
      log: { dir, fsync, groupCommit: '2ms' },
    }) as GatewaySourceConfig;
    const source = await startGatewaySource({
      name: 'bench',
      config,
      log: createLogger({ level: 'error' }),
      deliver: async (_partition, message) => {
        if (message.kind === 'records') delivered += message.events.length;
      },
      resumeFrom: async () => null,
      onFatal: (error) => {
        throw error;
      },
    });
    const child = fork(fileURLToPath(import.meta.url), ['--load'], { execArgv: ['--import', 'tsx'] });
    const window = batchEvents === 1 ? 64 : batchEvents === 64 ? 16 : 4;
    child.send({ port: source.port, connections, batchEvents, window, seconds } satisfies LoadSpec);
    const result = await new Promise<LoadResult>((resolve) =>
      child.once('message', (message) => resolve(message as LoadResult)),
    );
    const deadline = Date.now() + 10_000;
    while (delivered < result.events && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    // Every acked event was read back from the log exactly once before any figure counts.
    assert.equal(delivered, result.events, 'acked events and events read back from the log differ');
    await source.stop();
    rmSync(dir, { recursive: true, force: true });
    const latency = hdr.decodeFromCompressedBase64(result.latency);
    const ms = (percentile: number) => (latency.getValueAtPercentile(percentile) / 1000).toFixed(2);
    const perSecond = (count: number) => Math.round((count * 1000) / result.elapsedMs);
    console.log(
      `${String(batchEvents).padStart(5)}  ${String(perSecond(result.events)).padStart(8)}  ${String(perSecond(result.batches)).padStart(7)}  ` +
        `${ms(50).padStart(10)}  ${ms(99).padStart(6)}  ${ms(99.9).padStart(8)}  ${String(result.refused).padStart(7)}`,
    );
  }
}
