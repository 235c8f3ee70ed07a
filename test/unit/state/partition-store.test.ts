import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ClassicLevel } from 'classic-level';
import {
  type CheckpointContent,
  PartitionStore,
  StateFormatError,
  StateLockedError,
  StateUnreadableError,
  StateUsageError,
} from '../../../state/index.ts';
import { withTempDir } from './fixtures/temp-dir.ts';

const content = (offset: number): CheckpointContent => ({
  sourcePosition: { offset: String(offset) },
  watermark: 1_700_000_000_000 + offset,
  sinkPositions: { '/out/rows.jsonl': offset * 10 },
  emitted: { per_user: [[1, 2]] },
  meta: { note: 'x' },
});

async function collect(store: PartitionStore, namespace: string): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  for await (const [key, value] of store.entries(namespace)) out.push([key.toString(), value.toString()]);
  return out;
}

describe('PartitionStore', () => {
  it('opens a fresh partition with no checkpoint and creates db and snapshots folders', async () => {
    await withTempDir(async (root) => {
      const store = await PartitionStore.open({ dir: join(root, 'events', '3') });
      assert.equal(store.checkpoint, null);
      assert.deepEqual(await store.listSnapshots(), []);
      assert.deepEqual(await collect(store, 'w'), []);
      await store.close();
    });
  });

  it('commits entries and the checkpoint together and reads them back after reopening', async () => {
    await withTempDir(async (dir) => {
      const store = await PartitionStore.open({ dir });
      const first = await store.commit({
        checkpoint: content(5),
        puts: [
          ['per_user', 'b', Buffer.from('2')],
          ['per_user', 'a', Buffer.from('1')],
          ['lookup:users', Buffer.from([0, 255]), Buffer.from('u')],
        ],
        deletes: [],
      });
      assert.equal(first.id, 1);
      assert.ok(first.createdAt > 0);
      const second = await store.commit({ checkpoint: content(9), puts: [], deletes: [['per_user', 'b']] });
      assert.equal(second.id, 2);
      await store.close();

      const reopened = await PartitionStore.open({ dir });
      assert.deepEqual(reopened.checkpoint, { ...content(9), id: 2, createdAt: second.createdAt });
      assert.deepEqual(await collect(reopened, 'per_user'), [['a', '1']]);
      const lookup = [];
      for await (const [key, value] of reopened.entries('lookup:users')) lookup.push([key, value.toString()]);
      assert.deepEqual(lookup, [[Buffer.from([0, 255]), 'u']]);
      assert.equal((await reopened.get('per_user', 'a'))?.toString(), '1');
      assert.equal(await reopened.get('per_user', 'b'), undefined);
      await reopened.close();
    });
  });

  it('keeps namespaces apart even when one name is a prefix of another', async () => {
    await withTempDir(async (dir) => {
      const store = await PartitionStore.open({ dir });
      await store.commit({
        checkpoint: content(1),
        puts: [
          ['win', 'k', Buffer.from('short')],
          ['win2', 'k', Buffer.from('long')],
          ['wi', 'n', Buffer.from('other')],
        ],
        deletes: [],
      });
      assert.deepEqual(await collect(store, 'win'), [['k', 'short']]);
      assert.deepEqual(await collect(store, 'win2'), [['k', 'long']]);
      assert.deepEqual(await collect(store, 'wi'), [['n', 'other']]);
      await store.close();
    });
  });

  it('clears a namespace first, then deletes, then puts, in one batch', async () => {
    await withTempDir(async (dir) => {
      const store = await PartitionStore.open({ dir });
      await store.commit({
        checkpoint: content(1),
        puts: [
          ['a', '1', Buffer.from('old')],
          ['a', '2', Buffer.from('old')],
          ['b', '1', Buffer.from('keep')],
        ],
        deletes: [],
      });
      await store.commit({
        checkpoint: content(2),
        clear: ['a'],
        puts: [
          ['a', '3', Buffer.from('new')],
          ['b', '2', Buffer.from('put-wins')],
        ],
        deletes: [['b', '2']],
      });
      assert.deepEqual(await collect(store, 'a'), [['3', 'new']]);
      assert.deepEqual(await collect(store, 'b'), [
        ['1', 'keep'],
        ['2', 'put-wins'],
      ]);
      await store.close();
    });
  });

  it('streams entries in key order', async () => {
    await withTempDir(async (dir) => {
      const store = await PartitionStore.open({ dir });
      const keys = Array.from({ length: 2500 }, (_, index) => `k${String(index).padStart(5, '0')}`);
      const shuffled = [...keys].sort(() => Math.random() - 0.5);
      await store.commit({
        checkpoint: content(1),
        puts: shuffled.map((key) => ['n', key, Buffer.from(key)]),
        deletes: [],
      });
      assert.deepEqual(
        (await collect(store, 'n')).map(([key]) => key),
        keys,
      );
      await store.close();
    });
  });

  it('refuses a commit with a bad namespace or value and leaves the state as it was', async () => {
    await withTempDir(async (dir) => {
      const store = await PartitionStore.open({ dir });
      await assert.rejects(
        store.commit({ checkpoint: content(1), puts: [['bad\0name', 'k', Buffer.from('v')]], deletes: [] }),
        StateUsageError,
      );
      await assert.rejects(
        store.commit({
          checkpoint: content(1),
          puts: [['ok', 'k', 'not a buffer' as unknown as Buffer]],
          deletes: [],
        }),
        StateUsageError,
      );
      assert.equal(store.checkpoint, null);
      const record = await store.commit({ checkpoint: content(1), puts: [], deletes: [] });
      assert.equal(record.id, 1);
      await store.close();
    });
  });

  it('refuses a database written with an unknown format version', async () => {
    await withTempDir(async (dir) => {
      const store = await PartitionStore.open({ dir });
      await store.commit({ checkpoint: content(1), puts: [], deletes: [] });
      await store.close();
      const raw = new ClassicLevel<string, string>(join(dir, 'db'));
      await raw.put('meta/format', '99');
      await raw.close();
      await assert.rejects(PartitionStore.open({ dir }), (error: unknown) => {
        assert.ok(error instanceof StateFormatError);
        assert.equal(error.code, 'SLUICE_ERR_STATE_FORMAT_UNKNOWN');
        assert.equal(error.found, '99');
        assert.match(error.message, /format version 99; this build reads version 1/);
        return true;
      });
    });
  });

  it('refuses a LevelDB database that sluice did not write', async () => {
    await withTempDir(async (dir) => {
      const raw = new ClassicLevel<string, string>(join(dir, 'db'));
      await raw.put('foreign', 'data');
      await raw.close();
      await assert.rejects(PartitionStore.open({ dir }), StateUnreadableError);
    });
  });

  it('refuses a second opener while the first holds the database', async () => {
    await withTempDir(async (dir) => {
      const store = await PartitionStore.open({ dir });
      await assert.rejects(PartitionStore.open({ dir }), StateLockedError);
      await store.close();
      await (await PartitionStore.open({ dir })).close();
    });
  });

  it('refuses to create a missing database when asked not to', async () => {
    await withTempDir(async (dir) => {
      await assert.rejects(PartitionStore.open({ dir, createIfMissing: false }), StateUnreadableError);
    });
  });

  it('rejects calls after close', async () => {
    await withTempDir(async (dir) => {
      const store = await PartitionStore.open({ dir });
      await store.close();
      await assert.rejects(store.commit({ checkpoint: content(1), puts: [], deletes: [] }), StateUsageError);
      await assert.rejects(store.get('n', 'k'), StateUsageError);
    });
  });
});
