import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { request } from 'undici';
import WebSocket from 'ws';
import { encodeFrame } from '../../../actors/codecs/frame.ts';
import { partitionForKey } from '../../../actors/codecs/murmur2.ts';
import { deliveredEvents, startFixture, until } from './gateway-fixture.ts';

const event = (user: string, ts = 1_700_000_000_000) => ({ user_id: user, ts, amount: 1 });

function connect(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${url}/ws`, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
  });
}

function nextReply(ws: WebSocket): Promise<Record<string, unknown>> {
  return new Promise((resolve) => ws.once('message', (data) => resolve(JSON.parse(String(data)))));
}

function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once('close', (code) => resolve(code)));
}

describe('gateway source over WebSocket', () => {
  it('acks a batch with its id and count once durable and routes each event by the murmur2 hash of its key', async () => {
    const fixture = await startFixture();
    try {
      const ws = await connect(fixture.url);
      const users = ['ann', 'bob', 'cy', 'dee', 'eve'];
      const reply = nextReply(ws);
      ws.send(JSON.stringify({ id: 'b1', events: users.map((user) => event(user)) }));
      assert.deepEqual(await reply, { ack: 'b1', count: 5 });
      await until(() => deliveredEvents(fixture).length === 5);
      for (const { partition, event: delivered } of deliveredEvents(fixture)) {
        assert.equal(partition, partitionForKey((delivered as { user_id: string }).user_id, 2));
      }
      ws.close();
    } finally {
      await fixture.stop();
    }
  });

  it('accepts a single JSON event, a JSON array and a binary frame whose header carries the batch id', async () => {
    const fixture = await startFixture({ partitions: 1 });
    try {
      const ws = await connect(fixture.url);
      let reply = nextReply(ws);
      ws.send(JSON.stringify(event('ann')));
      assert.deepEqual(await reply, { ack: null, count: 1 });
      reply = nextReply(ws);
      ws.send(JSON.stringify([event('bob'), event('cy')]));
      assert.deepEqual(await reply, { ack: null, count: 2 });
      reply = nextReply(ws);
      ws.send(encodeFrame([event('dee')], { batchId: 'frame-7' }));
      assert.deepEqual(await reply, { ack: 'frame-7', count: 1 });
      await until(() => deliveredEvents(fixture).length === 4);
      assert.deepEqual(
        deliveredEvents(fixture).map(({ position }) => position),
        [0, 1, 1, 2],
      );
      ws.close();
    } finally {
      await fixture.stop();
    }
  });

  it('refuses malformed payloads and events without key or time with an error reply and a dead letter', async () => {
    const fixture = await startFixture({ partitions: 1 });
    try {
      const ws = await connect(fixture.url);
      let reply = nextReply(ws);
      ws.send('{"user_id": ');
      assert.equal((await reply).error, 'PAYLOAD_INVALID');
      reply = nextReply(ws);
      ws.send(JSON.stringify({ id: 'x', events: [event('ann'), { ts: 1 }] }));
      assert.deepEqual(Object.keys(await reply).sort(), ['error', 'id', 'message']);
      reply = nextReply(ws);
      ws.send(JSON.stringify({ user_id: 'ann', ts: 'yesterday' }));
      assert.equal((await reply).error, 'EVENT_INVALID');
      reply = nextReply(ws);
      ws.send(Buffer.from('SLFR-not-a-frame'));
      assert.equal((await reply).error, 'PAYLOAD_INVALID');
      await until(() => deliveredEvents(fixture).length === 4);
      const failures = [...fixture.received.values()].flat().flatMap((message) => message.failures);
      const codes = failures.map(([, failure]) => failure.code);
      assert.deepEqual(codes.slice(0, 3), ['JSON_INVALID', 'KEY_MISSING', 'TIME_INVALID']);
      assert.match(codes[3], /^FRAME_/);
      assert.ok(deliveredEvents(fixture).every(({ event: delivered }) => delivered === null));
      assert.equal(ws.readyState, WebSocket.OPEN);
      ws.close();
    } finally {
      await fixture.stop();
    }
  });

  it('refuses upgrades without a valid token or from a foreign origin before opening the socket', async () => {
    const fixture = await startFixture(
      { auth: { tokens: 'env:GW_TOKENS' }, allowedOrigins: ['https://app.example.com'] },
      { env: { GW_TOKENS: 'secret-1, secret-2' } },
    );
    try {
      await assert.rejects(connect(fixture.url), /HTTP 401/);
      await assert.rejects(connect(fixture.url, { authorization: 'Bearer wrong' }), /HTTP 401/);
      await assert.rejects(
        connect(fixture.url, { authorization: 'Bearer secret-2', origin: 'https://evil.example.com' }),
        /HTTP 403/,
      );
      const ws = await connect(fixture.url, {
        authorization: 'Bearer secret-2',
        origin: 'https://app.example.com',
      });
      const reply = nextReply(ws);
      ws.send(JSON.stringify(event('ann')));
      assert.equal((await reply).count, 1);
      ws.close();
    } finally {
      await fixture.stop();
    }
  });

  it('closes a connection that sends a message over maxPayload with 1009', async () => {
    const fixture = await startFixture({ limits: { maxPayload: '1KiB' } });
    try {
      const ws = await connect(fixture.url);
      const code = closed(ws);
      ws.send(JSON.stringify({ events: Array.from({ length: 30 }, () => event('ann')) }));
      assert.equal(await code, 1009);
    } finally {
      await fixture.stop();
    }
  });

  it('refuses batches over the per-connection rate with RATE_LIMITED', async () => {
    const fixture = await startFixture({ limits: { eventsPerSecond: 10 } });
    try {
      const ws = await connect(fixture.url);
      let reply = nextReply(ws);
      ws.send(JSON.stringify(Array.from({ length: 10 }, () => event('ann'))));
      assert.equal((await reply).count, 10);
      reply = nextReply(ws);
      ws.send(JSON.stringify(Array.from({ length: 10 }, () => event('ann'))));
      assert.equal((await reply).error, 'RATE_LIMITED');
      ws.close();
    } finally {
      await fixture.stop();
    }
  });

  it('refuses a batch over inflightBatches with INFLIGHT_LIMIT naming its batch id, JSON or frame', async () => {
    // A long group commit keeps the first batch unacknowledged while the others arrive.
    const fixture = await startFixture({ limits: { inflightBatches: 1 }, log: { groupCommit: '300ms' } });
    try {
      const ws = await connect(fixture.url);
      const replies: Record<string, unknown>[] = [];
      ws.on('message', (data) => replies.push(JSON.parse(String(data))));
      ws.send(JSON.stringify({ id: 'first', events: [event('ann')] }));
      ws.send(JSON.stringify({ id: 'json-2', events: [event('bob')] }));
      ws.send(encodeFrame([event('cy')], { batchId: 'frame-3' }));
      ws.send(JSON.stringify([event('dee')]));
      await until(() => replies.length === 4);
      assert.deepEqual(
        replies.map((reply) => ('error' in reply ? [reply.error, reply.id] : ['ack', reply.ack])),
        [
          ['INFLIGHT_LIMIT', 'json-2'],
          ['INFLIGHT_LIMIT', 'frame-3'],
          ['INFLIGHT_LIMIT', null],
          ['ack', 'first'],
        ],
      );
      ws.close();
    } finally {
      await fixture.stop();
    }
  });
});

describe('gateway source over HTTP', () => {
  it('answers POST /ingest with the ack, and 400, 401, 413 and 404 for refusals', async () => {
    const fixture = await startFixture(
      { auth: { tokens: 'env:GW_TOKENS' }, limits: { maxPayload: '1KiB' } },
      { env: { GW_TOKENS: 'tok' } },
    );
    const post = (body: string | Buffer, token = 'tok', path = '/ingest') =>
      request(`http://${fixture.url}${path}`, {
        method: 'POST',
        body,
        headers: { authorization: `Bearer ${token}` },
      });
    try {
      let response = await post(JSON.stringify({ id: 42, events: [event('ann'), event('bob')] }));
      assert.equal(response.statusCode, 200);
      assert.deepEqual(await response.body.json(), { ack: '42', count: 2 });
      response = await post(encodeFrame([event('cy')], { batchId: 'f' }));
      assert.deepEqual([response.statusCode, await response.body.json()], [200, { ack: 'f', count: 1 }]);
      response = await post('not json');
      assert.equal(response.statusCode, 400);
      assert.equal(((await response.body.json()) as { error: string }).error, 'PAYLOAD_INVALID');
      response = await post(JSON.stringify(event('ann')), 'bad');
      assert.equal(response.statusCode, 401);
      await response.body.dump();
      response = await post('x'.repeat(2048));
      assert.equal(response.statusCode, 413);
      await response.body.dump();
      response = await post('{}', 'tok', '/nowhere');
      assert.equal(response.statusCode, 404);
      await response.body.dump();
      const health = await request(`http://${fixture.url}/healthz`);
      assert.equal(((await health.body.json()) as { status: string }).status, 'ok');
    } finally {
      await fixture.stop();
    }
  });

  it('answers 503 GATEWAY_FULL once the log reaches maxBytes, and accepts again after a checkpoint frees segments', async () => {
    const fixture = await startFixture({ partitions: 1, log: { maxBytes: 600, segmentBytes: 200 } });
    const post = (body: string) => request(`http://${fixture.url}/ingest`, { method: 'POST', body });
    try {
      let full = false;
      for (let batch = 0; batch < 50 && !full; batch++) {
        const response = await post(JSON.stringify(Array.from({ length: 3 }, () => event('ann'))));
        full = response.statusCode === 503;
        const body = (await response.body.json()) as { error?: string };
        if (full) assert.equal(body.error, 'GATEWAY_FULL');
      }
      assert.ok(full, 'the gateway never refused');
      await until(() => deliveredEvents(fixture).length > 0);
      const last = Math.max(...deliveredEvents(fixture).map(({ position }) => position));
      fixture.source.onCheckpointed(0, last);
      const response = await post(JSON.stringify(event('ann')));
      assert.equal(response.statusCode, 200);
      await response.body.dump();
    } finally {
      await fixture.stop();
    }
  });
});

describe('gateway source restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-gateway-restart-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('replays each partition from the record after its checkpointed position', async () => {
    const first = await startFixture({ partitions: 1 }, { dir });
    for (let batch = 0; batch < 5; batch++) {
      const response = await request(`http://${first.url}/ingest`, {
        method: 'POST',
        body: JSON.stringify({ id: batch, events: [event(`u${batch}`)] }),
      });
      await response.body.dump();
    }
    await first.stop();
    const second = await startFixture({ partitions: 1 }, { dir, resumeFrom: () => 2 });
    try {
      await until(() => deliveredEvents(second).length === 2);
      assert.deepEqual(
        deliveredEvents(second).map(({ position, event: delivered }) => [
          position,
          (delivered as { user_id: string }).user_id,
        ]),
        [
          [3, 'u3'],
          [4, 'u4'],
        ],
      );
    } finally {
      await second.stop();
    }
  });
});
