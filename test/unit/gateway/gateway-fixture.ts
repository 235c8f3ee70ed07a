import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type GatewaySource, startGatewaySource } from '../../../actors/gateway/gateway-source.ts';
import { unpackLogRecords } from '../../../actors/gateway/log-batch.ts';
import type { PartitionMessage } from '../../../actors/partition/partition-plan.ts';
import { createLogger } from '../../../runtime/logger.ts';
import { gatewaySourceSchema } from '../../../runtime/topology/sources/gateway-schema.ts';
import type { GatewaySourceConfig } from '../../../runtime/topology/topology-schema.ts';

/** A gateway started in-process on a free port whose partition actors are arrays of received messages. */
export interface GatewayFixture {
  source: GatewaySource;
  url: string;
  received: Map<number, Extract<PartitionMessage, { kind: 'records' }>[]>;
  dir: string;
  stop(): Promise<void>;
}

export async function startFixture(
  overrides: Record<string, unknown> = {},
  options: { dir?: string; resumeFrom?: (partition: number) => number | null; env?: NodeJS.ProcessEnv } = {},
): Promise<GatewayFixture> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'sluice-gateway-'));
  const config = gatewaySourceSchema.parse({
    type: 'gateway',
    host: '127.0.0.1',
    port: 0,
    partitions: 2,
    key: 'user_id',
    time: { field: 'ts' },
    ...overrides,
    log: { dir, groupCommit: '1ms', ...(overrides.log as object) },
  }) as GatewaySourceConfig;
  const received = new Map<number, Extract<PartitionMessage, { kind: 'records' }>[]>();
  const source = await startGatewaySource({
    name: 'live',
    config,
    log: createLogger({ level: 'error' }),
    deliver: async (partition, message) => {
      const list = received.get(partition) ?? [];
      list.push({ kind: 'records', ...unpackLogRecords(message.records) });
      received.set(partition, list);
    },
    resumeFrom: async (partition) => options.resumeFrom?.(partition) ?? null,
    onFatal: (error) => {
      throw error;
    },
    env: options.env,
  });
  return {
    source,
    url: `127.0.0.1:${source.port}`,
    received,
    dir,
    stop: async () => {
      await source.stop();
      if (options.dir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every event delivered so far, with its partition and position. */
export function deliveredEvents(
  fixture: GatewayFixture,
): Array<{ partition: number; position: number; event: unknown }> {
  const all: Array<{ partition: number; position: number; event: unknown }> = [];
  for (const [partition, messages] of fixture.received) {
    for (const message of messages) {
      message.events.forEach((event, index) => {
        all.push({ partition, position: Number(message.positions[index]), event });
      });
    }
  }
  return all;
}

export async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
