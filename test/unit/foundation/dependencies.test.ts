import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

// npm 11 may skip install scripts: these packages must work from the binaries they ship.
const modules = [
  'kafkajs',
  'pg-logical-replication',
  '@clickhouse/client',
  '@google-cloud/bigquery',
  'piscina',
  'msgpackr',
  'lz4-napi',
  'classic-level',
  'uWebSockets.js',
  'prom-client',
  'yaml',
  'zod',
];

describe('dependencies after a clean npm ci', () => {
  for (const name of modules) {
    it(`${name} loads`, async () => {
      const loaded = await import(name);
      assert.ok(Object.keys(loaded).length > 0);
    });
  }

  it('classic-level opens, writes and reads a database with its shipped binary', async (t) => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { ClassicLevel } = await import('classic-level');
    const dir = await mkdtemp(join(tmpdir(), 'sluice-level-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const db = new ClassicLevel<string, string>(dir);
    await db.put('key', 'value');
    assert.equal(await db.get('key'), 'value');
    await db.close();
  });

  it('lz4-napi round-trips a block', async () => {
    const lz4 = await import('lz4-napi');
    const input = Buffer.from('sluice '.repeat(100));
    assert.deepEqual(lz4.uncompressSync(lz4.compressSync(input)), input);
  });

  it('uWebSockets.js exposes its App factory', async () => {
    const uws = (await import('uWebSockets.js')).default as { App: unknown };
    assert.equal(typeof uws.App, 'function');
  });
});
