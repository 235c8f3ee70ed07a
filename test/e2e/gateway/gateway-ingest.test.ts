import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import type WebSocket from 'ws';
import { startSluice } from '../sluice-process.ts';
import {
  connectWhenUp,
  freePort,
  jsonLines,
  keysPerPartition,
  sendBatch,
  sendUntil,
} from './gateway-client.ts';

const BASE = Date.UTC(2026, 0, 1);
const PARTITIONS = 2;

function topology(port: number, interval = '200ms'): string {
  return `name: gw
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
    log: { dir: ./gateway-log, segmentBytes: 64KiB }
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

const env = { GW_TOKENS: 'e2e-token' };
const auth = { authorization: 'Bearer e2e-token' };

async function rows(dir: string): Promise<Record<string, unknown>[]> {
  const files = (await readdir(join(dir, 'out')).catch(() => [] as string[])).filter((file) =>
    file.startsWith('rows'),
  );
  return jsonLines(await Promise.all(files.map((file) => readFile(join(dir, 'out', file), 'utf8'))));
}

/** Sends one event per partition far in the future so that every window before it fires. */
async function flush(ws: WebSocket): Promise<void> {
  const events = keysPerPartition(PARTITIONS).map((key) => ({ user_id: key, ts: BASE + 3_600_000, seq: -1 }));
  await sendBatch(ws, { id: 'flush', events });
}

async function waitForRows(
  dir: string,
  users: number,
  timeoutMs = 20_000,
): Promise<Record<string, unknown>[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await rows(dir)).filter((row) => String(row.user_id).startsWith('u'));
    if (found.length >= users || Date.now() > deadline) return found;
    await sleep(100);
  }
}

describe('gateway through the CLI', () => {
  it('acks events sent over WebSocket and HTTP and writes the windows they make', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-gw-e2e-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const port = await freePort();
    await writeFile(join(dir, 'job.yaml'), topology(port));
    const running = startSluice(['start', 'job.yaml'], { cwd: dir, env });
    t.after(() => running.child.kill('SIGKILL'));
    const ws = await connectWhenUp(port, auth);
    const expected = new Map<string, number>();
    let seq = 0;
    for (let batch = 0; batch < 20; batch++) {
      const events = Array.from({ length: 25 }, () => {
        const user = `u${seq % 7}`;
        expected.set(user, (expected.get(user) ?? 0) + 1);
        return { user_id: user, ts: BASE + (seq % 9000), seq: seq++ };
      });
      const reply = await sendBatch(ws, { id: `b${batch}`, events });
      assert.deepEqual(reply, { ack: `b${batch}`, count: 25 });
    }
    const response = await request(`http://127.0.0.1:${port}/ingest`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ id: 'http', events: [{ user_id: 'u0', ts: BASE, seq: seq++ }] }),
    });
    assert.deepEqual([response.statusCode, await response.body.json()], [200, { ack: 'http', count: 1 }]);
    expected.set('u0', (expected.get('u0') ?? 0) + 1);
    const refused = await sendBatch(ws, { id: 'bad', events: [{ ts: BASE }] });
    assert.equal(refused.error, 'EVENT_INVALID');
    await flush(ws);
    const found = await waitForRows(dir, expected.size);
    ws.close();
    running.child.kill('SIGTERM');
    const finished = await running.finished;
    assert.equal(finished.code, 0, finished.stderr);
    const counts = Object.fromEntries(
      found.map((row) => [row.user_id, [row.window_start, row.events, row.ids]]),
    );
    assert.deepEqual(
      counts,
      Object.fromEntries([...expected].map(([user, count]) => [user, [BASE, count, count]])),
    );
    const dlq = jsonLines([await readFile(join(dir, 'out', 'dlq.p0.jsonl'), 'utf8')]);
    assert.equal(dlq.length, 1);
  });

  it('counts every acked event exactly once however often the server is killed with -9', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-gw-kill-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const port = await freePort();
    await writeFile(join(dir, 'job.yaml'), topology(port, '100ms'));
    const acked = new Set<number>();
    const sent = new Set<number>();
    let seq = 0;
    for (let run = 0; run < 3; run++) {
      const running = startSluice(['start', 'job.yaml'], { cwd: dir, env });
      t.after(() => running.child.kill('SIGKILL'));
      const ws = await connectWhenUp(port, auth);
      const killAt = Date.now() + 300 + Math.floor(Math.random() * 900);
      // Several batches in flight at once, so the kill lands between append, fsync and ack.
      const sending = await sendUntil(ws, killAt, { seq, base: BASE }, sent, acked);
      seq = sending.seq;
      running.child.kill('SIGKILL');
      await running.finished;
      await Promise.allSettled(sending.inflight);
      ws.terminate();
    }
    const running = startSluice(['start', 'job.yaml'], { cwd: dir, env });
    t.after(() => running.child.kill('SIGKILL'));
    const ws = await connectWhenUp(port, auth);
    await flush(ws);
    const found = await waitForRows(dir, 13);
    ws.close();
    running.child.kill('SIGTERM');
    assert.equal((await running.finished).code, 0);
    assert.ok(acked.size > 0, 'nothing was acked');
    const ackedPerUser = new Map<string, number>();
    const sentPerUser = new Map<string, number>();
    for (const id of acked) ackedPerUser.set(`u${id % 13}`, (ackedPerUser.get(`u${id % 13}`) ?? 0) + 1);
    for (const id of sent) sentPerUser.set(`u${id % 13}`, (sentPerUser.get(`u${id % 13}`) ?? 0) + 1);
    assert.equal(found.length, 13, JSON.stringify(found));
    for (const row of found) {
      const user = String(row.user_id);
      // No event is counted twice: the count equals the number of distinct sequence numbers.
      assert.equal(row.events, row.ids, `user ${user} has duplicates`);
      assert.ok(Number(row.events) >= (ackedPerUser.get(user) ?? 0), `user ${user} lost acked events`);
      assert.ok(Number(row.events) <= (sentPerUser.get(user) ?? 0), `user ${user} counts events never sent`);
    }
  });
});
