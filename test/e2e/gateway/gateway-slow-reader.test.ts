import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { residentBytes, startSluice } from '../sluice-process.ts';
import { connectWhenUp, freePort } from './gateway-client.ts';

async function connections(port: number): Promise<number> {
  const response = await request(`http://127.0.0.1:${port}/healthz`);
  return ((await response.body.json()) as { connections: number }).connections;
}

/**
 * A WebSocket client that never reads: the handshake by hand, then the socket is paused
 * for good (a client library might resume it to read control frames).
 */
function rawWebSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
    });
    socket.on('error', () => {});
    socket.once('data', (data) => {
      if (!String(data).startsWith('HTTP/1.1 101')) reject(new Error(`no upgrade: ${data}`));
      socket.pause();
      resolve(socket);
    });
  });
}

/** One masked text frame (clients must mask), payload under 64 KiB. */
function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const length = payload.length;
  const header =
    length < 126
      ? Buffer.from([0x81, 0x80 | length])
      : Buffer.from([0x81, 0x80 | 126, length >> 8, length & 0xff]);
  const masked = Buffer.alloc(length);
  for (let index = 0; index < length; index++) masked[index] = payload[index] ^ mask[index % 4];
  return Buffer.concat([header, mask, masked]);
}

describe('a gateway client that never reads its acks', () => {
  it('is disconnected or no longer read once its replies back up, and the server does not grow its memory', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-gw-slow-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const port = await freePort();
    await writeFile(
      join(dir, 'job.yaml'),
      `name: slow
workers: 1
sources:
  live:
    type: gateway
    host: 127.0.0.1
    port: ${port}
    key: user_id
    time: { field: ts }
    limits: { maxBackpressure: 64KiB }
    log: { dir: ./gateway-log, fsync: none }
streams:
  raw: { from: live, to: [nowhere] }
sinks:
  nowhere: { type: "null" }
`,
    );
    const running = startSluice(['start', 'job.yaml'], { cwd: dir });
    t.after(() => running.child.kill('SIGKILL'));
    const probe = await connectWhenUp(port);
    probe.close();
    const socket = await rawWebSocket(port);
    const before = await residentBytes(running.child.pid!);
    const batch = maskedTextFrame(
      JSON.stringify({ id: 'x'.repeat(250), events: [{ user_id: 'ann', ts: 1_700_000_000_000 }] }),
    );
    let sent = 0;
    let open = 1;
    const deadline = Date.now() + 40_000;
    // Either uWS closes the socket at its backpressure bound, or the server stops reading
    // it (the kernel buffers are full and the client's own writes back up): both bound
    // what the server holds for this client.
    while (Date.now() < deadline && open > 0 && socket.writableLength < 4 * 1024 * 1024) {
      for (let burst = 0; burst < 500; burst++) socket.write(batch);
      sent += 500;
      await sleep(10);
      if (sent % 5000 === 0) open = await connections(port);
    }
    assert.ok(
      open === 0 || socket.writableLength >= 4 * 1024 * 1024,
      `still connected and read after ${sent} batches`,
    );
    const grown = (await residentBytes(running.child.pid!)) - before;
    assert.ok(grown < 150 * 1024 * 1024, `server RSS grew by ${grown} bytes`);
    socket.destroy();
    running.child.kill('SIGTERM');
    assert.equal((await running.finished).code, 0);
  });
});
