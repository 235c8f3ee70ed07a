/**
 * Kafka source throughput on this machine: `produceEvents` fills a fresh topic, then
 * `startKafkaSource` (bounded: latest) reads it back and every delivered batch is unpacked
 * and decoded as a partition actor would (here on the main thread, to time the source and
 * the decoder without the worker hop). Before any figure is printed it checks that every
 * produced event arrived exactly once. Prints events/s and per-batch pack/decode
 * percentiles. The topics are deleted at the end.
 *
 *   node --import tsx bench/kafka/source-throughput.ts [frameEvents] [jsonEvents] [brokers]
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as hdr from 'hdr-histogram-js';
import kafkajs from 'kafkajs';
import { decodeKafkaRecords, type KafkaFormat } from '../../actors/kafka/decode-records.ts';
import { unpackKafkaBatch } from '../../actors/kafka/kafka-batch.ts';
import { startKafkaSource } from '../../actors/kafka/kafka-source.ts';
import { produceEvents } from '../../actors/kafka/produce-events.ts';
import { createLogger } from '../../runtime/logger.ts';

const FRAME_EVENTS = Number(process.argv[2] ?? 2_000_000);
const JSON_EVENTS = Number(process.argv[3] ?? 200_000);
const BROKERS = (process.argv[4] ?? '127.0.0.1:9092').split(',');
const log = createLogger({ level: 'error' });

function histogram() {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

async function run(format: KafkaFormat, count: number, compression: 'none' | 'lz4') {
  const topic = `sluice-bench-${format}-${randomUUID().slice(0, 8)}`;
  const produced = await produceEvents({
    brokers: BROKERS,
    topic,
    format,
    count,
    createTopic: 4,
    compression,
    log,
  });
  const decodeUs = histogram();
  let events = 0;
  let failures = 0;
  let batches = 0;
  const ended = new Set<number>();
  let began = 0;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const source = await startKafkaSource({
    brokers: BROKERS,
    topic,
    group: `${topic}-group`,
    clientId: 'sluice-bench',
    bounded: 'latest',
    brokerTimeoutMs: 30_000,
    fromBeginning: true,
    log,
    onAssign: async (partitions) => {
      began = performance.now();
      return new Map(partitions.map((partition) => [partition, null]));
    },
    onRevoke: async () => {},
    deliver: async (_partition, packed) => {
      const start = performance.now();
      const decoded = decodeKafkaRecords(format, unpackKafkaBatch(packed));
      decodeUs.recordValue(Math.max(1, Math.round((performance.now() - start) * 1000)));
      events += decoded.events.length - decoded.failures.length;
      failures += decoded.failures.length;
      batches += 1;
    },
    onPartitionEnd: async (partition) => {
      ended.add(partition);
      if (ended.size === 4) finish();
    },
    onFatal: (error) => {
      throw error;
    },
  });
  await done;
  const elapsedMs = performance.now() - began;
  await source.stop();
  assert.equal(failures, 0);
  assert.equal(events, count, 'every produced event was read exactly once');
  const admin = new kafkajs.Kafka({ brokers: BROKERS, logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
  const rate = (n: number, ms: number) => `${Math.round((n * 1000) / ms).toLocaleString('en-US')} events/s`;
  console.log(
    `${format.padEnd(7)} ${compression.padEnd(4)} ${count.toLocaleString('en-US')} events: ` +
      `produce ${rate(produced.events, produced.elapsedMs)}, consume+decode ${rate(events, elapsedMs)} ` +
      `(${batches} batches; decode per batch p50 ${decodeUs.getValueAtPercentile(50)} us, ` +
      `p99 ${decodeUs.getValueAtPercentile(99)} us, max ${decodeUs.maxValue} us)`,
  );
}

await run('frame', FRAME_EVENTS, 'none');
await run('json', JSON_EVENTS, 'none');
await run('json', JSON_EVENTS, 'lz4');
await run('msgpack', JSON_EVENTS, 'none');
