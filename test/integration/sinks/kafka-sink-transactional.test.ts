import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import { produceEvents } from '../../../actors/kafka/produce-events.ts';
import { transactionIdentity } from '../../../actors/sinks/kafka-transaction-marker.ts';
import { runSluice, runWithKills } from '../../e2e/sluice-process.ts';
import { kafkaBrokers, uniqueName } from '../helpers/services.ts';
import { deleteTopic } from './clickhouse-helpers.ts';

const brokers = kafkaBrokers.map((broker) => `"${broker}"`).join(', ');

function topology(name: string, input: string, group: string, output: string): string {
  return `name: ${name}
workers: 2
checkpoint: { interval: 300ms, keep: 2, snapshotEvery: 3 }
sources:
  events:
    type: kafka
    brokers: [${brokers}]
    topic: ${input}
    group: ${group}
    format: json
    key: user_id
    bounded: latest
    time: { field: ts, maxOutOfOrder: 3s }
windows:
  per_user:
    from: events
    window: { type: tumbling, size: 10s, allowedLateness: 5s }
    groupBy: [user_id]
    aggregate: { events: count(), amount: sum(amount), pages: count_distinct(page) }
    to: [out]
    late: late
sinks:
  out: { type: kafka, brokers: [${brokers}], topic: ${output}, transactional: true, batch: { rows: 2000, interval: 50ms } }
  late: { type: file, path: ./out/late.jsonl }
  dlq: { type: file, path: ./out/dlq.jsonl }
deadLetter: dlq
`;
}

async function createTopic(topic: string, partitions: number): Promise<void> {
  const admin = new kafkajs.Kafka({ brokers: kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  await admin.disconnect();
}

/**
 * Every record of `topic` as `<key> <value>`, read by an external kafkajs consumer: with
 * read_committed (the default) only committed transactions, else everything written.
 * Reads until `atLeast` records arrived and then nothing more for a while.
 */
async function readTopic(
  topic: string,
  options: { atLeast: number; uncommitted?: boolean },
): Promise<string[]> {
  const kafka = new kafkajs.Kafka({ brokers: kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING });
  const consumer = kafka.consumer({
    groupId: uniqueName(`${topic}-reader`),
    readUncommitted: options.uncommitted === true,
  });
  const records: string[] = [];
  let lastArrival = Date.now();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        records.push(`${message.key?.toString()} ${message.value?.toString()}`);
        lastArrival = Date.now();
      },
    });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (records.length < options.atLeast || Date.now() - lastArrival < 3000)) {
      await sleep(200);
    }
  } finally {
    await consumer.disconnect();
  }
  return records.sort();
}

function duplicates(records: readonly string[]): string[] {
  return records.filter((record, index) => index > 0 && records[index - 1] === record);
}

describe('Kafka sink, transactional: true', { timeout: 420_000 }, () => {
  it('gives read_committed consumers exactly the rows of a clean run across several kill -9 restarts', async (t) => {
    const input = uniqueName('ktxn_in');
    const cleanTopic = uniqueName('ktxn_clean');
    const crashTopic = uniqueName('ktxn_crash');
    const dir = await mkdtemp(join(tmpdir(), 'sluice-kafka-txn-'));
    t.after(async () => {
      await rm(dir, { recursive: true, force: true });
      for (const topic of [input, cleanTopic, crashTopic]) await deleteTopic(topic);
    });
    await produceEvents({
      brokers: kafkaBrokers,
      topic: input,
      format: 'json',
      count: 120_000,
      keys: 2000,
      createTopic: 4,
      startTime: Date.UTC(2026, 0, 1),
      rate: 0,
      outOfOrder: 0.1,
      maxOutOfOrderMs: 3000,
      late: 0.01,
      lateByMs: 20_000,
    });
    await createTopic(cleanTopic, 3);
    await createTopic(crashTopic, 3);
    const cleanDir = join(dir, 'clean');
    const crashDir = join(dir, 'crash');
    await mkdir(cleanDir, { recursive: true });
    await mkdir(crashDir, { recursive: true });
    await writeFile(join(cleanDir, 'job.yaml'), topology('ktxn', input, `${input}-clean`, cleanTopic));
    await writeFile(join(crashDir, 'job.yaml'), topology('ktxn', input, `${input}-crash`, crashTopic));

    const clean = await runSluice(['start', 'job.yaml'], { cwd: cleanDir, timeoutMs: 150_000 });
    assert.equal(clean.code, 0, clean.stderr);
    const { kills } = await runWithKills(['start', 'job.yaml'], {
      cwd: crashDir,
      kills: 4,
      minDelayMs: 3000,
      maxDelayMs: 6000,
      timeoutMs: 150_000,
    });
    assert.ok(kills >= 2, `killed ${kills} times`);

    const expected = await readTopic(cleanTopic, { atLeast: 1 });
    assert.ok(expected.length > 1000, `the clean run wrote ${expected.length} rows`);
    assert.deepEqual(duplicates(expected), [], 'the clean run writes every row once');
    const events = expected
      .map((record) => JSON.parse(record.slice(record.indexOf(' ') + 1)))
      .filter((row) => row.version === 1)
      .reduce((sum, row) => sum + row.events, 0);
    assert.ok(events > 100_000 && events <= 120_000, `${events} events in first firings`);

    const seen = await readTopic(crashTopic, { atLeast: expected.length });
    assert.deepEqual(duplicates(seen), [], 'no row twice');
    assert.equal(seen.length, expected.length);
    assert.deepEqual(seen, expected);
    // The kills left transactions open that the restarts aborted: what an uncommitted
    // reader sees beyond the committed rows is exactly what read_committed hides.
    const everything = await readTopic(crashTopic, { atLeast: expected.length, uncommitted: true });
    t.diagnostic(
      `${kills} kills; ${expected.length} rows; ${everything.length - seen.length} aborted records hidden`,
    );
  });

  it('commits each partition with its own transactional id and leaves the checkpoint id as marker', async (t) => {
    const input = uniqueName('ktxn_marker_in');
    const output = uniqueName('ktxn_marker_out');
    const dir = await mkdtemp(join(tmpdir(), 'sluice-kafka-txn-marker-'));
    t.after(async () => {
      await rm(dir, { recursive: true, force: true });
      for (const topic of [input, output]) await deleteTopic(topic);
    });
    await produceEvents({
      brokers: kafkaBrokers,
      topic: input,
      format: 'json',
      count: 5000,
      keys: 50,
      createTopic: 2,
      startTime: Date.UTC(2026, 0, 1),
      rate: 0,
    });
    await createTopic(output, 1);
    await writeFile(join(dir, 'job.yaml'), topology('ktxnmark', input, `${input}-g`, output));
    const result = await runSluice(['start', 'job.yaml'], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(result.code, 0, result.stderr);
    const rows = await readTopic(output, { atLeast: 1 });
    assert.ok(rows.length > 0);
    const admin = new kafkajs.Kafka({ brokers: kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      for (const partition of [0, 1]) {
        const { markerGroup } = transactionIdentity('ktxnmark', 'out', `events/${partition}`);
        const [offsets] = await admin.fetchOffsets({ groupId: markerGroup, topics: [output] });
        const marker = offsets.partitions.find((entry) => entry.partition === 0);
        assert.ok(
          marker !== undefined && Number(marker.offset) > 0,
          `partition ${partition} committed a marker`,
        );
        assert.match(marker.metadata ?? '', /^\d+:/);
      }
    } finally {
      await admin.disconnect();
    }
  });
});
