import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import {
  type CheckpointContent,
  listPartitions,
  openWithRecovery,
  PartitionStore,
  rollBack,
  SnapshotInvalidError,
  StateLockedError,
} from '../../../state/index.ts';
import { withTempDir } from './fixtures/temp-dir.ts';

const content = (round: number): CheckpointContent => ({
  sourcePosition: { offset: String(round) },
  watermark: round * 1000,
  sinkPositions: {},
  emitted: null,
  meta: {},
});

async function partitionWithSnapshots(dir: string, rounds: number): Promise<string[]> {
  const store = await PartitionStore.open({ dir });
  const files: string[] = [];
  for (let round = 1; round <= rounds; round += 1) {
    await store.commit({
      checkpoint: content(round),
      puts: [
        ['w', `k${round}`, Buffer.from(String(round))],
        ['lookup:users', 'u', Buffer.from(String(round))],
      ],
      deletes: [],
    });
    files.push((await store.snapshot(10)).file);
  }
  await store.close();
  return files;
}

describe('checkpoint inspector', () => {
  it('lists every partition with its checkpoint, entry counts, bytes and snapshots', async () => {
    await withTempDir(async (stateDir) => {
      await partitionWithSnapshots(join(stateDir, 'events', '10'), 2);
      await partitionWithSnapshots(join(stateDir, 'events', '2'), 3);
      await writeFile(join(stateDir, 'stray-file'), 'x');
      const listed = await listPartitions(stateDir);
      assert.deepEqual(
        listed.map((summary) => [summary.source, summary.partition, summary.status, summary.checkpoint?.id]),
        [
          ['events', '2', 'ok', 3],
          ['events', '10', 'ok', 2],
        ],
      );
      const [first] = listed;
      assert.deepEqual(first.namespaces, { 'lookup:users': 1, w: 3 });
      assert.deepEqual(
        first.details,
        {
          'lookup:users': { entries: 1, bytes: 2, rows: null },
          w: { entries: 3, bytes: 9, rows: null },
        },
        'stored bytes are each key within its namespace plus its value; rows need a reader',
      );
      const [read] = await listPartitions(stateDir, async (namespace, store) =>
        namespace === 'w' ? (await store.getMany('w', ['k1', 'k2', 'k3'])).length * 10 : null,
      );
      assert.deepEqual(read.details.w, { entries: 3, bytes: 9, rows: 30 });
      assert.deepEqual(first.checkpoint?.sourcePosition, { offset: '3' });
      assert.equal(first.checkpoint?.watermark, 3000);
      assert.ok(first.databaseBytes > 0);
      assert.deepEqual(
        first.snapshots.map((snapshot) => snapshot.id),
        [3, 2, 1],
      );
    });
  });

  it('reports a running partition as locked and still lists its snapshots', async () => {
    await withTempDir(async (stateDir) => {
      const dir = join(stateDir, 'events', '0');
      await partitionWithSnapshots(dir, 1);
      const running = await PartitionStore.open({ dir });
      const [summary] = await listPartitions(stateDir);
      assert.equal(summary.status, 'locked');
      assert.equal(summary.snapshots.length, 1);
      await assert.rejects(rollBack(stateDir, 'events', '0', summary.snapshots[0].file), StateLockedError);
      await running.close();
    });
  });

  it('rolls a partition back to an older snapshot and sets newer ones aside', async () => {
    await withTempDir(async (stateDir) => {
      const dir = join(stateDir, 'events', '1');
      const files = await partitionWithSnapshots(dir, 3);
      const result = await rollBack(stateDir, 'events', '1', basename(files[0]));
      assert.equal(result.checkpoint.id, 1);
      assert.equal(result.previous?.id, 3);
      assert.equal(result.setAside.length, 2);
      assert.deepEqual(await readdir(join(dir, 'snapshots', 'rolled-back')).then((names) => names.length), 2);

      const { store, restoredFrom } = await openWithRecovery({ dir });
      assert.equal(restoredFrom, null);
      assert.equal(store.checkpoint?.id, 1);
      const keys: string[] = [];
      for await (const [key] of store.entries('w')) keys.push(key.toString());
      assert.deepEqual(keys, ['k1']);
      assert.deepEqual(
        (await store.listSnapshots()).map((snapshot) => snapshot.id),
        [1],
      );
      const next = await store.commit({ checkpoint: content(9), puts: [], deletes: [] });
      assert.equal(next.id, 4, 'ids continue past the rolled-back ones');
      await store.close();
    });
  });

  it('refuses to roll back to a corrupt snapshot and changes nothing', async () => {
    await withTempDir(async (stateDir) => {
      const dir = join(stateDir, 'events', '1');
      const files = await partitionWithSnapshots(dir, 2);
      await writeFile(files[0], 'not a snapshot');
      await assert.rejects(rollBack(stateDir, 'events', '1', files[0]), SnapshotInvalidError);
      const store = await PartitionStore.open({ dir });
      assert.equal(store.checkpoint?.id, 2);
      await store.close();
    });
  });
});
