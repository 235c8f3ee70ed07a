import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { unpack } from 'msgpackr';
import { runSluice } from '../../e2e/sluice-process.ts';
import { kafkaBrokers, uniqueName } from '../helpers/services.ts';
import { deleteTopic } from './clickhouse-helpers.ts';
import { fileTopology, testEvents, writeEvents } from './file-source-topology.ts';

interface ReadRecord {
  key: string;
  value: Record<string, unknown>;
}

/** Every record of `topic` (one partition), read with an external kafkajs consumer. */
async function readTopic(topic: string, format: 'json' | 'msgpack'): Promise<ReadRecord[]> {
  const kafka = new kafkajs.Kafka({ brokers: kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const [end] = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = Number(end?.high ?? 0);
  const records: ReadRecord[] = [];
  const consumer = kafka.consumer({ groupId: `${topic}-reader` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    if (total === 0) resolve();
    void consumer.run({
      eachMessage: async ({ message }) => {
        const value = message.value as Buffer;
        records.push({
          key: message.key?.toString() ?? '',
          value: format === 'json' ? JSON.parse(value.toString()) : unpack(value),
        });
        if (records.length >= total) resolve();
      },
    });
  });
  await consumer.disconnect();
  return records;
}

describe('Kafka sink', { timeout: 90_000 }, () => {
  for (const format of ['json', 'msgpack'] as const) {
    it(`writes every window row as ${format}, keyed by window_start and the window key`, async (t) => {
      const topic = uniqueName(`ksink_${format}`);
      const dir = await mkdtemp(join(tmpdir(), 'sluice-kafka-sink-'));
      t.after(async () => {
        await rm(dir, { recursive: true, force: true });
        await deleteTopic(topic);
      });
      const kafka = new kafkajs.Kafka({ brokers: kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING });
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      await admin.disconnect();
      const events = testEvents(3000, 7);
      await writeEvents(dir, events);
      const sink = `{ type: kafka, brokers: [${kafkaBrokers.map((broker) => `"${broker}"`).join(', ')}], topic: ${topic}, format: ${format} }`;
      await writeFile(
        join(dir, 'job.yaml'),
        fileTopology({ name: 'ksink', aggregate: 'events: count()', sink }),
      );
      const result = await runSluice(['start', 'job.yaml'], { cwd: dir, timeoutMs: 30_000 });
      assert.equal(result.code, 0, result.stderr);

      const records = await readTopic(topic, format);
      const windows = new Set(
        events.map((event) => `${Math.floor(event.ts / 10_000) * 10_000}|${event.user_id}`),
      );
      assert.equal(records.length, windows.size);
      assert.deepEqual(new Set(records.map((record) => record.key)), windows);
      for (const record of records) {
        assert.equal(record.key, `${record.value.window_start}|${record.value.user_id}`);
        assert.equal(record.value.version, 1);
      }
      assert.equal(
        records.reduce((sum, record) => sum + (record.value.events as number), 0),
        events.length,
      );
    });
  }
});
