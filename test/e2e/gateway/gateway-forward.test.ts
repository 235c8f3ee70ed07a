/**
 * `forward: kafka` through the CLI on the real broker: batches sent over WebSocket and
 * HTTP are acked only once their records are in the topic (read back with kafkajs, each
 * on the partition Kafka's partitioner and the gateway agree on), the job reads the topic
 * back into exact windows, and `kill -9` after acks loses nothing acknowledged.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import { request } from 'undici';
import type WebSocket from 'ws';
import { decodeFrame } from '../../../actors/codecs/frame.ts';
import { partitionForKey } from '../../../actors/codecs/murmur2.ts';
import { FORWARD_DEAD_LETTER_HEADERS } from '../../../actors/gateway/forwarded-source.ts';
import { kafkaBrokers, uniqueName } from '../../integration/helpers/services.ts';
import { runSluice, startSluice } from '../sluice-process.ts';
import {
  connectWhenUp,
  freePort,
  jsonLines,
  keysPerPartition,
  sendBatch,
  sendUntil,
} from './gateway-client.ts';

const BASE = Date.UTC(2026, 0, 1);
const PARTITIONS = 4;
const env = { GW_TOKENS: 'fwd-token' };
const auth = { authorization: 'Bearer fwd-token' };

function topology(port: number, topic: string, interval = '200ms'): string {
  return `name: gwfwd
workers: 2
checkpoint: { interval: ${interval} }
sources:
  live:
    type: gateway
    host: 127.0.0.1
    port: ${port}
    partitions: ${PARTITIONS}
    key: user_id
    time: { field: ts }
    auth: { tokens: env:GW_TOKENS }
    forward:
      type: kafka
      brokers: [${kafkaBrokers.join(', ')}]
      topic: ${topic}
      create: true
      sessionTimeout: 6s
windows:
  per_user:
    from: live
    window: { type: tumbling, size: 10s }
    groupBy: [user_id]
    aggregate: { events: count(), ids: count_distinct(seq) }
    to: [out]
sinks:
  out: { type: file, path: ./out/rows.jsonl }
  dlq: { type: file, path: ./out/dlq.jsonl }
deadLetter: dlq
`;
}

function kafkaClient(): kafkajs.Kafka {
  return new kafkajs.Kafka({ brokers: kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING });
}

async function deleteTopic(topic: string): Promise<void> {
  const admin = kafkaClient().admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
}

interface TopicRecord {
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
}

/** Every record of `topic` up to its current end offsets, read with a kafkajs consumer. */
async function readTopic(topic: string): Promise<TopicRecord[]> {
  const kafka = kafkaClient();
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = ends.reduce((sum, entry) => sum + Number(entry.high) - Number(entry.low), 0);
  const records: TopicRecord[] = [];
  const consumer = kafka.consumer({ groupId: uniqueName('read-back') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      records.push({
        partition,
        offset: message.offset,
        key: message.key === null ? null : message.key.toString(),
        value: message.value ?? Buffer.alloc(0),
        headers: Object.fromEntries(
          Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]),
        ),
      });
    },
  });
  const deadline = Date.now() + 30_000;
  while (records.length < total && Date.now() < deadline) await sleep(100);
  await consumer.disconnect();
  return records;
}

async function highOffsets(admin: kafkajs.Admin, topic: string): Promise<number[]> {
  const offsets = await admin.fetchTopicOffsets(topic);
  const high = new Array<number>(PARTITIONS).fill(0);
  for (const entry of offsets) high[entry.partition] = Number(entry.high);
  return high;
}

async function flush(ws: WebSocket): Promise<void> {
  const events = keysPerPartition(PARTITIONS).map((key) => ({ user_id: key, ts: BASE + 3_600_000, seq: -1 }));
  const reply = await sendBatch(ws, { id: 'flush', events });
  assert.equal(reply.ack, 'flush', JSON.stringify(reply));
}

async function rows(dir: string, prefix: string): Promise<Record<string, unknown>[]> {
  const files = (await readdir(join(dir, 'out')).catch(() => [] as string[])).filter((file) =>
    file.startsWith(prefix),
  );
  return jsonLines(await Promise.all(files.map((file) => readFile(join(dir, 'out', file), 'utf8'))));
}

async function waitForRows(
  dir: string,
  users: number,
  timeoutMs = 60_000,
): Promise<Record<string, unknown>[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await rows(dir, 'rows')).filter((row) => String(row.user_id).startsWith('u'));
    if (found.length >= users || Date.now() > deadline) return found;
    await sleep(200);
  }
}

describe('gateway forward: kafka through the CLI', { timeout: 240_000 }, () => {
  it('acks after the records are in the topic, on the partition of their key, and the windows are exact', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-gw-fwd-'));
    const topic = uniqueName('gw-forward');
    t.after(async () => {
      await rm(dir, { recursive: true, force: true });
      await deleteTopic(topic);
    });
    const port = await freePort();
    await writeFile(join(dir, 'job.yaml'), topology(port, topic));
    const running = startSluice(['start', 'job.yaml'], { cwd: dir, env });
    t.after(() => running.child.kill('SIGKILL'));
    const ws = await connectWhenUp(port, auth, 60_000);
    const admin = kafkaClient().admin();
    await admin.connect();
    t.after(() => admin.disconnect());

    const expected = new Map<string, number>();
    const acked: number[] = [];
    let seq = 0;
    const nextEvents = (count: number) =>
      Array.from({ length: count }, () => {
        const user = `u${seq % 11}`;
        return { user_id: user, ts: BASE + (seq % 9000), seq: seq++ };
      });
    const count = (events: Array<{ user_id: string; seq: number }>) => {
      for (const event of events) {
        expected.set(event.user_id, (expected.get(event.user_id) ?? 0) + 1);
        acked.push(event.seq);
      }
    };
    /** Every partition the batch touched has a new record by the time its ack arrives. */
    const assertLandedBeforeAck = (before: number[], after: number[], events: Array<{ user_id: string }>) => {
      for (const partition of new Set(events.map((event) => partitionForKey(event.user_id, PARTITIONS)))) {
        assert.ok(
          after[partition] > before[partition],
          `partition ${partition} had no new record at the ack`,
        );
      }
    };
    for (let batch = 0; batch < 12; batch++) {
      const events = nextEvents(30);
      const before = await highOffsets(admin, topic);
      const reply = await sendBatch(ws, { id: `b${batch}`, events });
      const after = await highOffsets(admin, topic);
      assert.deepEqual(reply, { ack: `b${batch}`, count: 30 });
      assertLandedBeforeAck(before, after, events);
      count(events);
    }
    for (let batch = 0; batch < 3; batch++) {
      const events = nextEvents(20);
      const before = await highOffsets(admin, topic);
      const response = await request(`http://127.0.0.1:${port}/ingest`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ id: `h${batch}`, events }),
      });
      const body = await response.body.json();
      const after = await highOffsets(admin, topic);
      assert.deepEqual([response.statusCode, body], [200, { ack: `h${batch}`, count: 20 }]);
      assertLandedBeforeAck(before, after, events);
      count(events);
    }
    const refused = await sendBatch(ws, { id: 'bad', events: [{ ts: BASE, seq: -2 }] });
    assert.equal(refused.error, 'EVENT_INVALID');
    await flush(ws);

    const found = await waitForRows(dir, expected.size);
    ws.close();
    running.child.kill('SIGTERM');
    const finished = await running.finished;
    assert.equal(finished.code, 0, finished.stderr);
    assert.deepEqual(
      Object.fromEntries(found.map((row) => [row.user_id, [row.window_start, row.events, row.ids]])),
      Object.fromEntries([...expected].map(([user, n]) => [user, [BASE, n, n]])),
    );

    // Read back: frames keyed by their events' key, each on the partition Kafka's
    // partitioner picked for that key, which is the gateway's partition for every event.
    const records = await readTopic(topic);
    const inTopic: number[] = [];
    let notFrames = 0;
    for (const record of records) {
      const frame = decodeFrame(record.value);
      if (!frame.ok) {
        notFrames++;
        assert.equal(record.partition, 0, 'refused input goes to partition 0');
        // The gateway's own reason travels with it, for the reader's dead letter.
        assert.deepEqual(
          [record.value.toString(), record.headers],
          [
            JSON.stringify({ ts: BASE, seq: -2 }),
            {
              [FORWARD_DEAD_LETTER_HEADERS.code]: 'KEY_MISSING',
              [FORWARD_DEAD_LETTER_HEADERS.reason]: 'field user_id: missing key',
            },
          ],
        );
        continue;
      }
      assert.ok(record.key !== null);
      assert.equal(partitionForKey(record.key, PARTITIONS), record.partition);
      for (const event of frame.events) {
        assert.equal(partitionForKey(String(event.user_id), PARTITIONS), record.partition);
        if (Number(event.seq) >= 0) inTopic.push(Number(event.seq));
      }
    }
    assert.equal(notFrames, 1);
    assert.deepEqual(
      inTopic.sort((a, b) => a - b),
      acked.sort((a, b) => a - b),
    );
    const dead = await rows(dir, 'dlq');
    assert.equal(dead.length, 1);
    // The job's dead letter carries the gateway's code and reason and the refused event.
    assert.deepEqual(
      [dead[0].topic, dead[0].partition, dead[0].code, dead[0].reason, dead[0].raw],
      [topic, 0, 'KEY_MISSING', 'field user_id: missing key', JSON.stringify({ ts: BASE, seq: -2 })],
    );
  });

  it("refuses to start on a topic whose partition count differs from the gateway's", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-gw-fwd-mismatch-'));
    const topic = uniqueName('gw-forward-mismatch');
    t.after(async () => {
      await rm(dir, { recursive: true, force: true });
      await deleteTopic(topic);
    });
    const admin = kafkaClient().admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    await writeFile(join(dir, 'job.yaml'), topology(await freePort(), topic));
    const result = await runSluice(['start', 'job.yaml'], { cwd: dir, env, timeoutMs: 60_000 });
    assert.notEqual(result.code, 0);
    assert.match(
      result.stderr,
      new RegExp(`forward topic ${topic} has 2 partitions but the gateway routes to 4`),
    );
  });

  it('counts every acked event exactly once however often the server is killed with -9', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-gw-fwd-kill-'));
    const topic = uniqueName('gw-forward-kill');
    t.after(async () => {
      await rm(dir, { recursive: true, force: true });
      await deleteTopic(topic);
    });
    const port = await freePort();
    await writeFile(join(dir, 'job.yaml'), topology(port, topic, '100ms'));
    const acked = new Set<number>();
    const sent = new Set<number>();
    let seq = 0;
    for (let run = 0; run < 3; run++) {
      const running = startSluice(['start', 'job.yaml'], { cwd: dir, env });
      t.after(() => running.child.kill('SIGKILL'));
      const ws = await connectWhenUp(port, auth, 60_000);
      const killAt = Date.now() + 500 + Math.floor(Math.random() * 1500);
      // Several batches in flight at once, so the kill lands between produce and ack.
      const sending = await sendUntil(ws, killAt, { seq, base: BASE }, sent, acked);
      seq = sending.seq;
      running.child.kill('SIGKILL');
      await running.finished;
      await Promise.allSettled(sending.inflight);
      ws.terminate();
    }
    const running = startSluice(['start', 'job.yaml'], { cwd: dir, env });
    t.after(() => running.child.kill('SIGKILL'));
    const ws = await connectWhenUp(port, auth, 60_000);
    await flush(ws);
    const found = await waitForRows(dir, 13, 90_000);
    ws.close();
    running.child.kill('SIGTERM');
    assert.equal((await running.finished).code, 0);
    assert.ok(acked.size > 0, 'nothing was acked');
    const perUser = (ids: Set<number>) => {
      const counts = new Map<string, number>();
      for (const id of ids) counts.set(`u${id % 13}`, (counts.get(`u${id % 13}`) ?? 0) + 1);
      return counts;
    };
    const ackedPerUser = perUser(acked);
    const sentPerUser = perUser(sent);
    assert.equal(found.length, 13, JSON.stringify(found));
    for (const row of found) {
      const user = String(row.user_id);
      assert.equal(row.events, row.ids, `user ${user} has duplicates`);
      assert.ok(Number(row.events) >= (ackedPerUser.get(user) ?? 0), `user ${user} lost acked events`);
      assert.ok(Number(row.events) <= (sentPerUser.get(user) ?? 0), `user ${user} counts events never sent`);
    }
  });
});
