import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { partitionForKey } from '../../../actors/codecs/murmur2.ts';

/** A free TCP port on loopback (bound, read, released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** Opens `/ws`, retrying while the gateway is not listening yet. */
export async function connectWhenUp(port: number, headers: Record<string, string> = {}, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers });
        ws.once('open', () => resolve(ws));
        ws.once('error', reject);
      });
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

/** For each partition, a key that routes to it (to push every partition's watermark on). */
export function keysPerPartition(partitions: number): string[] {
  const keys: string[] = new Array(partitions);
  for (let index = 0, found = 0; found < partitions; index++) {
    const key = `flush-${index}`;
    const partition = partitionForKey(key, partitions);
    if (keys[partition] === undefined) {
      keys[partition] = key;
      found++;
    }
  }
  return keys;
}

/** Parsed JSON lines of every file in `files`. */
export function jsonLines(texts: string[]): Record<string, unknown>[] {
  return texts.flatMap((text) =>
    text
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as Record<string, unknown>),
  );
}

/** Sends one batch over the socket and resolves with the reply naming its id (ack or error). */
export function sendBatch(
  ws: WebSocket,
  batch: { id: string; events: object[] },
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const onClose = () => reject(new Error('closed'));
    const onMessage = (data: WebSocket.RawData) => {
      const reply = JSON.parse(String(data)) as Record<string, unknown>;
      if (reply.ack !== batch.id && reply.id !== batch.id) return;
      ws.off('message', onMessage);
      ws.off('close', onClose);
      resolve(reply);
    };
    ws.on('message', onMessage);
    ws.once('close', onClose);
    ws.send(JSON.stringify(batch));
  });
}

/**
 * Until `stopAt` (or the socket closes), sends batches of 40 events `{user_id, ts, seq}`
 * with up to 8 in flight, so a kill lands between receipt and ack; every seq sent goes to
 * `sent`, every acked one to `acked`. Returns the next seq and the batches still in flight.
 */
export async function sendUntil(
  ws: WebSocket,
  stopAt: number,
  first: { seq: number; base: number },
  sent: Set<number>,
  acked: Set<number>,
): Promise<{ seq: number; inflight: Promise<void>[] }> {
  let seq = first.seq;
  const inflight = new Set<Promise<void>>();
  while (Date.now() < stopAt && ws.readyState === ws.OPEN) {
    const events = Array.from({ length: 40 }, () => {
      const id = seq++;
      sent.add(id);
      return { user_id: `u${id % 13}`, ts: first.base + (id % 9000), seq: id };
    });
    const ids = events.map((event) => event.seq);
    const pending = sendBatch(ws, { id: `s${ids[0]}`, events })
      .then((reply) => {
        if (reply.ack !== undefined) for (const id of ids) acked.add(id);
      })
      .catch(() => {});
    inflight.add(pending);
    void pending.finally(() => inflight.delete(pending));
    if (inflight.size >= 8) await Promise.race(inflight);
  }
  return { seq, inflight: [...inflight] };
}
