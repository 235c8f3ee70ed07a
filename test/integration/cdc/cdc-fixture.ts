/**
 * Shared set-up for the CDC integration tests: unique tables, slot and publication per
 * test, a source whose `deliver` records what it receives, and clean-up that waits for
 * the slot's walsender to let go before dropping it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import pg from 'pg';
import { type CdcConnectorConfig, type CdcSource, startCdcSource } from '../../../actors/cdc/cdc-source.ts';
import type { PartitionMessage } from '../../../actors/partition/partition-plan.ts';
import { createLogger, type Logger } from '../../../runtime/logger.ts';
import { kafkaBrokers, postgres, uniqueName } from '../helpers/services.ts';

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
  log: Logger = createLogger({ level: 'warn' }),
): Promise<{ source: CdcSource; fatal: Error[] }> {
  const fatal: Error[] = [];
  const source = await startCdcSource({
    config,
    log,
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

/** A record of a CDC topic as an outside consumer sees it. */
export interface TopicRecord {
  partition: number;
  offset: number;
  key: string | null;
  /** Parsed JSON value; null for a tombstone. */
  value: Envelope | null;
  headers: Record<string, string>;
}

/** Every record of `topic` up to its end offsets now, read with a plain kafkajs consumer. */
export async function readTopic(topic: string, timeoutMs = 20_000): Promise<TopicRecord[]> {
  const kafka = new kafkajs.Kafka({ brokers: kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = ends.reduce((sum, end) => sum + Number(end.high) - Number(end.low), 0);
  const records: TopicRecord[] = [];
  if (total === 0) return records;
  const consumer = kafka.consumer({ groupId: uniqueName('cdc_reader') });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`read ${records.length} of ${total} records of ${topic}`)),
        timeoutMs,
      );
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
          records.push({
            partition,
            offset: Number(message.offset),
            key: message.key === null ? null : message.key.toString(),
            value: message.value === null ? null : JSON.parse(message.value.toString()),
            headers,
          });
          if (records.length >= total) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

export async function deleteTopics(topics: string[]): Promise<void> {
  const kafka = new kafkajs.Kafka({ brokers: kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((topic) => existing.has(topic));
    if (present.length > 0) await admin.deleteTopics({ topics: present });
  } finally {
    await admin.disconnect();
  }
}

/** The value of `sluice_cdc_retained_wal_bytes` for `slot` on an admin server's /metrics, or null if absent. */
export async function scrapeRetainedWal(port: number, slot: string): Promise<number | null> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await response.text();
  for (const line of text.split('\n')) {
    if (!line.startsWith('sluice_cdc_retained_wal_bytes{') || !line.includes(`slot="${slot}"`)) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return null;
}
