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
