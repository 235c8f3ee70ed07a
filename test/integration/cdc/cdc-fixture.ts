/**
 * Shared set-up for the CDC integration tests: unique tables, slot and publication per
 * test, a source whose `deliver` records what it receives, and clean-up that waits for
 * the slot's walsender to let go before dropping it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { type CdcConnectorConfig, type CdcSource, startCdcSource } from '../../../actors/cdc/cdc-source.ts';
import type { PartitionMessage } from '../../../actors/partition/partition-plan.ts';
import { createLogger } from '../../../runtime/logger.ts';
import { postgres, uniqueName } from '../helpers/services.ts';

// biome-ignore lint/suspicious/noExplicitAny: tests read envelope fields by path
export type Envelope = Record<string, any>;

export interface Received {
  partition: number;
  event: Envelope;
  position: string;
}

export function cdcNames(prefix: string) {
  const base = uniqueName(prefix);
  return { base, slot: `${base}_slot`, publication: `${base}_pub` };
}

export function cdcConfig(
  names: { slot: string; publication: string },
  tables: string[],
  overrides: Partial<CdcConnectorConfig> = {},
): CdcConnectorConfig {
  return {
    connection: postgres.connectionString,
    slot: names.slot,
    publication: names.publication,
    tables,
    snapshot: 'initial',
    topicPrefix: 'shop',
    heartbeatMs: 500,
    batchSize: 100,
    reconnectTimeoutMs: 30_000,
    ...overrides,
  };
}

export async function connectAdmin(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: postgres.connectionString });
  await client.connect();
  return client;
}

export class Collector {
  readonly received: Received[] = [];
  /** When set, deliver waits for this promise (a slow downstream). */
  gate: Promise<void> | null = null;

  deliver = async (partition: number, message: PartitionMessage) => {
    if (this.gate !== null) await this.gate;
    if (message.kind !== 'records') return;
    message.events.forEach((event, index) => {
      this.received.push({ partition, event: event as Envelope, position: String(message.positions[index]) });
    });
  };

  async waitFor(count: number, timeoutMs = 15_000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      if (Date.now() > deadline) {
        throw new Error(
          `waited for ${count} events, got ${this.received.length}: ${JSON.stringify(this.received.map((r) => r.event.op))}`,
        );
      }
      await sleep(20);
    }
    return this.received;
  }
}

export async function startCollecting(
  config: CdcConnectorConfig,
  collector: Collector,
  resume: Array<string | null> = [],
): Promise<{ source: CdcSource; fatal: Error[] }> {
  const fatal: Error[] = [];
  const source = await startCdcSource({
    config,
    log: createLogger({ level: 'warn' }),
    deliver: collector.deliver,
    resumeFrom: async (partition) => resume[partition] ?? null,
    onFatal: (error) => fatal.push(error),
  });
  return { source, fatal };
}

export async function dropCdcObjects(
  admin: pg.Client,
  names: { slot: string; publication: string },
  tables: string[],
): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const { rows } = await admin.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [
      names.slot,
    ]);
    if (rows.length === 0) break;
    if (!rows[0].active) {
      await admin.query('SELECT pg_drop_replication_slot($1)', [names.slot]).catch(() => {});
      break;
    }
    await sleep(100);
  }
  await admin.query(`DROP PUBLICATION IF EXISTS "${names.publication}"`);
  for (const table of tables) await admin.query(`DROP TABLE IF EXISTS ${table}`);
}
