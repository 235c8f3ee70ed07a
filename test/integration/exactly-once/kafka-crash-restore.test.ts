import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { encodeFrame } from '../../../actors/codecs/frame.ts';
import { produceEvents } from '../../../actors/kafka/produce-events.ts';
import {
  KAFKA_ASSIGNED,
  outputFiles,
  runMeasured,
  runSluice,
  runWithKills,
} from '../../e2e/sluice-process.ts';
import { kafkaBrokers, uniqueName } from '../helpers/services.ts';

function topology(name: string, topic: string, group: string, format: string): string {
  return `name: ${name}
workers: 2
checkpoint: { interval: 200ms, keep: 2, snapshotEvery: 3 }
sources:
  events:
    type: kafka
    brokers: [${kafkaBrokers.join(', ')}]
    topic: ${topic}
    group: ${group}
    format: ${format}
    key: user_id
    bounded: latest
    sessionTimeout: 6s      # a killed member leaves the group after this
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
  out: { type: file, path: ./out/rows.jsonl }
  late: { type: file, path: ./out/late.jsonl }
  dlq: { type: file, path: ./out/dlq.jsonl }
deadLetter: dlq
`;
}

async function deleteTopic(topic: string): Promise<void> {
  const admin = new kafkajs.Kafka({ brokers: kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
}

describe('Kafka → windows → files, exactly once across kill -9', { timeout: 240_000 }, () => {
  it('writes byte-identical files to a clean run after several kill -9 restarts', async (t) => {
    const topic = uniqueName('crash');
    const dir = await mkdtemp(join(tmpdir(), 'sluice-kafka-crash-'));
    t.after(async () => {
      await rm(dir, { recursive: true, force: true });
      await deleteTopic(topic);
    });
    await produceEvents({
      brokers: kafkaBrokers,
      topic,
      format: 'json',
      count: 160_000,
      keys: 3000,
      createTopic: 8,
      startTime: Date.UTC(2026, 0, 1),
      rate: 0,
      outOfOrder: 0.1,
      maxOutOfOrderMs: 3000,
      late: 0.01,
      lateByMs: 20_000,
    });
    const cleanDir = join(dir, 'clean');
    const crashDir = join(dir, 'crash');
    for (const [target, group] of [
      [cleanDir, `${topic}-clean`],
      [crashDir, `${topic}-crash`],
    ]) {
      await mkdir(target, { recursive: true });
      await writeFile(join(target, 'job.yaml'), topology('crash', topic, group, 'json'));
    }
    const clean = await runMeasured(['start', 'job.yaml'], {
      cwd: cleanDir,
      marker: KAFKA_ASSIGNED,
      timeoutMs: 120_000,
    });
    assert.equal(clean.code, 0, clean.stderr);

    // Kills land 5–40 % of a clean run's work after each assignment: two always fall mid-stream.
    const { kills } = await runWithKills(['start', 'job.yaml'], {
      cwd: crashDir,
      kills: 4,
      marker: KAFKA_ASSIGNED,
      minDelayMs: clean.activeMs * 0.05,
      maxDelayMs: clean.activeMs * 0.4,
      timeoutMs: 120_000,
    });
    assert.ok(kills >= 2, `killed ${kills} times`);
    const expected = await outputFiles(cleanDir);
    assert.equal(expected.filter(([file]) => file.startsWith('rows.')).length, 8);
    const total = expected
      .filter(([file]) => file.startsWith('rows.'))
      .flatMap(([, text]) => text.trim().split('\n'))
      .map((line) => JSON.parse(line))
      .filter((row) => row.version === 1)
      .reduce((sum, row) => sum + row.events, 0);
    assert.ok(total > 0 && total <= 160_000);
    assert.deepEqual(await outputFiles(crashDir), expected);
  });

  it('sends each kind of bad message to the dead-letter file with topic, partition, offset and reason', async (t) => {
    const topic = uniqueName('bad');
    const dir = await mkdtemp(join(tmpdir(), 'sluice-kafka-bad-'));
    t.after(async () => {
      await rm(dir, { recursive: true, force: true });
      await deleteTopic(topic);
    });
    const kafka = new kafkajs.Kafka({ brokers: kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const good = encodeFrame([
      { user_id: 'u1', ts: 1000, amount: 1, page: '/' },
      { user_id: 'u2', ts: 2000, amount: 2, page: '/' },
    ]);
    const badCrc = Buffer.from(good);
    badCrc[badCrc.length - 1] ^= 0xff;
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [
        { key: 'u1', value: good },
        { key: 'u1', value: badCrc },
        { key: 'u1', value: good.subarray(0, good.length - 5) },
        { key: 'u1', value: Buffer.from('{"not":"a frame"}') },
        { key: 'u1', value: null },
      ],
    });
    await producer.disconnect();
    await writeFile(join(dir, 'job.yaml'), topology('bad', topic, `${topic}-g`, 'frame'));
    const result = await runSluice(['start', 'job.yaml'], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(result.code, 0, result.stderr);
    const dead = (await readFile(join(dir, 'out', 'dlq.p0.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.deepEqual(
      dead.map((record) => [record.topic, record.partition, record.position]),
      [
        [topic, 0, '1'],
        [topic, 0, '2'],
        [topic, 0, '3'],
        [topic, 0, '4'],
      ],
    );
    assert.match(dead[0].reason, /CRC/i);
    assert.equal(dead[3].code, 'KAFKA_NULL_VALUE');
    const rows = (await readFile(join(dir, 'out', 'rows.p0.jsonl'), 'utf8')).trim().split('\n');
    assert.equal(rows.length, 2, 'the good frame still counts');
  });
});
