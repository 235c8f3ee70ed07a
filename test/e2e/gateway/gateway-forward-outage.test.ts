/**
 * `forward: kafka` while Kafka is down, on a private broker (the shared one on 9092 is
 * never touched): clients get 503 / error frames within the ack timeout, the records
 * waiting for Kafka stay within `maxPending`, nothing is acked, and once the broker is
 * back batches are acked again and counted in the windows.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { uniqueName } from '../../integration/helpers/services.ts';
import { PrivateBroker } from '../../integration/kafka/private-broker.ts';
import { startSluice } from '../sluice-process.ts';
import { connectWhenUp, freePort, jsonLines, keysPerPartition, sendBatch } from './gateway-client.ts';

const BASE = Date.UTC(2026, 0, 1);
const PARTITIONS = 4;
const MAX_PENDING = 16;
const env = { GW_TOKENS: 'outage-token' };
const auth = { authorization: 'Bearer outage-token' };

const broker = new PrivateBroker();
before(() => broker.start(), { timeout: 90_000 });
after(() => broker.destroy());

function topology(port: number, topic: string): string {
  return `name: gwout
workers: 2
checkpoint: { interval: 200ms }
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
      brokers: [${broker.address}]
      topic: ${topic}
      create: true
      ackTimeout: 1s
      maxPending: ${MAX_PENDING}
      sessionTimeout: 6s
      brokerTimeout: 5m
windows:
  per_user:
    from: live
    window: { type: tumbling, size: 10s }
    groupBy: [user_id]
    aggregate: { events: count(), ids: count_distinct(seq) }
    to: [out]
sinks:
  out: { type: file, path: ./out/rows.jsonl }
`;
}

async function rows(dir: string): Promise<Record<string, unknown>[]> {
  const files = (await readdir(join(dir, 'out')).catch(() => [] as string[])).filter((file) =>
    file.startsWith('rows'),
  );
  return jsonLines(await Promise.all(files.map((file) => readFile(join(dir, 'out', file), 'utf8'))));
}

describe('gateway forward: kafka while the broker is down', { timeout: 300_000 }, () => {
  it('answers 503 / error frames, keeps the pending records bounded, and acks again once Kafka is back', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-gw-outage-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const topic = uniqueName('gw-outage');
    const port = await freePort();
    await writeFile(join(dir, 'job.yaml'), topology(port, topic));
    const running = startSluice(['start', 'job.yaml'], { cwd: dir, env: { ...env, SLUICE_LOG: 'info' } });
    t.after(() => running.child.kill('SIGKILL'));
    const ws = await connectWhenUp(port, auth, 60_000);
    ws.setMaxListeners(100);
    let seq = 0;
    const sent = new Map<string, Set<number>>();
    const acked = new Map<string, Set<number>>();
    const nextEvents = (count: number) =>
      Array.from({ length: count }, () => {
        const id = seq++;
        const user = `u${id % 7}`;
        sent.set(user, (sent.get(user) ?? new Set()).add(id));
        return { user_id: user, ts: BASE + (id % 9000), seq: id };
      });
    const send = async (id: string, events: Array<{ user_id: string; seq: number }>) => {
      const reply = await sendBatch(ws, { id, events });
      if (reply.ack !== undefined) {
        for (const event of events)
          acked.set(event.user_id, (acked.get(event.user_id) ?? new Set()).add(event.seq));
      }
      return reply;
    };

    assert.deepEqual(await send('before', nextEvents(20)), { ack: 'before', count: 20 });
    // The job's consumer has joined its group: the outage hits a running job, not its start.
    const joined = Date.now() + 60_000;
    while (!running.stderr.includes('kafka partitions assigned')) {
      assert.ok(Date.now() < joined, `the job's consumer never joined: ${running.stderr}`);
      await sleep(100);
    }
    await broker.kill();

    const began = Date.now();
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, index) => send(`down${index}`, nextEvents(10))),
    );
    const elapsed = Date.now() - began;
    const codes = new Set(replies.map((reply) => reply.error));
    assert.ok(
      replies.every((reply) => reply.error === 'FORWARD_BUSY' || reply.error === 'FORWARD_FAILED'),
      JSON.stringify(replies.filter((reply) => reply.error === undefined)),
    );
    assert.ok(codes.has('FORWARD_BUSY'), 'no batch was refused for the pending limit');
    assert.ok(elapsed < 10_000, `the refusals took ${elapsed} ms`);
    const health = (await (await request(`http://127.0.0.1:${port}/healthz`)).body.json()) as {
      forward: { pending: number };
    };
    assert.ok(health.forward.pending <= MAX_PENDING, `pending ${health.forward.pending}`);
    const refused = await request(`http://127.0.0.1:${port}/ingest`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ id: 'http-down', events: nextEvents(5) }),
    });
    const refusedBody = (await refused.body.json()) as Record<string, unknown>;
    assert.equal(refused.statusCode, 503);
    assert.match(String(refusedBody.error), /^FORWARD_(BUSY|FAILED)$/);
    assert.equal(running.child.exitCode, null, 'the job stopped while Kafka was down');
    assert.equal(ws.readyState, ws.OPEN, 'the refusals closed the WebSocket');

    await broker.restart();
    const deadline = Date.now() + 90_000;
    let after: Record<string, unknown> = {};
    for (let attempt = 0; after.ack === undefined; attempt++) {
      assert.ok(Date.now() < deadline, `no ack within 90 s of the broker restart: ${JSON.stringify(after)}`);
      after = await send(`after${attempt}`, nextEvents(10));
      if (after.ack === undefined) await sleep(500);
    }
    const flush = keysPerPartition(PARTITIONS).map((key) => ({
      user_id: key,
      ts: BASE + 3_600_000,
      seq: -1,
    }));
    for (let attempt = 0; ; attempt++) {
      const reply = await sendBatch(ws, { id: `flush${attempt}`, events: flush });
      if (reply.ack !== undefined) break;
      await sleep(500);
    }
    const rowsDeadline = Date.now() + 90_000;
    let found: Record<string, unknown>[] = [];
    while (Date.now() < rowsDeadline) {
      found = (await rows(dir)).filter((row) => String(row.user_id).startsWith('u'));
      if (found.length >= 7) break;
      await sleep(200);
    }
    ws.close();
    running.child.kill('SIGTERM');
    const finished = await running.finished;
    assert.equal(finished.code, 0, finished.stderr);
    assert.equal(found.length, 7, JSON.stringify(found));
    for (const row of found) {
      const user = String(row.user_id);
      assert.equal(row.events, row.ids, `user ${user} has duplicates`);
      assert.ok(Number(row.events) >= (acked.get(user)?.size ?? 0), `user ${user} lost acked events`);
      assert.ok(Number(row.events) <= (sent.get(user)?.size ?? 0), `user ${user} counts events never sent`);
    }
  });
});
