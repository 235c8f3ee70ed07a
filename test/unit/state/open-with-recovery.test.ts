import assert from 'node:assert/strict';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ClassicLevel } from 'classic-level';
import {
  type CheckpointContent,
  NoValidSnapshotError,
  openWithRecovery,
  PartitionStore,
  StateFormatError,
  StateLockedError,
  StateUnreadableError,
} from '../../../state/index.ts';
import { withTempDir } from './fixtures/temp-dir.ts';

const content = (round: number): CheckpointContent => ({
  sourcePosition: { offset: String(round * 100) },
  watermark: round,
  sinkPositions: {},
  emitted: null,
  meta: {},
});

/** Three checkpoints, each snapshotted; entries tagged with their round. */
async function threeSnapshots(dir: string): Promise<string[]> {
  const store = await PartitionStore.open({ dir });
  const files: string[] = [];
  for (let round = 1; round <= 3; round += 1) {
    await store.commit({
      checkpoint: content(round),
      puts: [['w', 'k', Buffer.from(`r${round}`)]],
      deletes: [],
    });
    files.push((await store.snapshot(5)).file);
  }
  await store.close();
  return files;
}

async function value(store: PartitionStore): Promise<string | undefined> {
  return (await store.get('w', 'k'))?.toString();
}

async function flipByte(file: string, fromEnd: number): Promise<void> {
  const bytes = await readFile(file);
  bytes[bytes.length - fromEnd] ^= 0xff;
  await writeFile(file, bytes);
}

describe('openWithRecovery', () => {
  it('uses a readable database as it is', async () => {
    await withTempDir(async (dir) => {
      await threeSnapshots(dir);
      const { store, restoredFrom, fallbacks } = await openWithRecovery({ dir });
      assert.equal(restoredFrom, null);
      assert.equal(fallbacks, 0);
      assert.equal(store.checkpoint?.id, 3);
      await store.close();
    });
  });

  it('opens a fresh partition empty when there is nothing to restore', async () => {
    await withTempDir(async (dir) => {
      const { store, restoredFrom } = await openWithRecovery({ dir });
      assert.equal(restoredFrom, null);
      assert.equal(store.checkpoint, null);
      await store.close();
    });
  });

  it('restores the newest snapshot when the database is missing', async () => {
    await withTempDir(async (dir) => {
      const files = await threeSnapshots(dir);
      await rm(join(dir, 'db'), { recursive: true });
      const { store, restoredFrom, fallbacks } = await openWithRecovery({ dir });
      assert.equal(restoredFrom, files[2]);
      assert.equal(fallbacks, 0);
      assert.equal(store.checkpoint?.id, 3);
      assert.deepEqual(store.checkpoint?.sourcePosition, { offset: '300' });
      assert.equal(await value(store), 'r3');
      await store.close();
    });
  });

  it('falls back past corrupt newest snapshots to the newest valid one, reporting each', async () => {
    await withTempDir(async (dir) => {
      const files = await threeSnapshots(dir);
      await rm(join(dir, 'db'), { recursive: true });
      await flipByte(files[2], 3);
      await writeFile(files[1], (await readFile(files[1])).subarray(0, 60));
      const reported: Array<{ file: string; reason: string }> = [];
      const { store, restoredFrom, fallbacks } = await openWithRecovery({
        dir,
        onFallback: (info) => reported.push(info),
      });
      assert.equal(restoredFrom, files[0]);
      assert.equal(fallbacks, 2);
      assert.deepEqual(
        reported.map((info) => info.file),
        [files[2], files[1]],
      );
      assert.match(reported[0].reason, /CRC mismatch/);
      assert.match(reported[1].reason, /truncated/);
      assert.equal(store.checkpoint?.id, 1);
      assert.equal(await value(store), 'r1');
      const next = await store.commit({ checkpoint: content(4), puts: [], deletes: [] });
      assert.ok(next.id > 3, 'new ids pass the ids of the skipped files');
      await store.close();
    });
  });

  it('rebuilds an unreadable database from snapshots and keeps the damaged one aside', async () => {
    await withTempDir(async (dir) => {
      await threeSnapshots(dir);
      await writeFile(join(dir, 'db', 'CURRENT'), 'garbage without newline');
      await assert.rejects(PartitionStore.open({ dir }), StateUnreadableError);
      const { store, restoredFrom } = await openWithRecovery({ dir });
      assert.match(restoredFrom ?? '', /snapshot-0+3\.snap$/);
      assert.equal(await value(store), 'r3');
      assert.ok((await stat(join(dir, 'db.unreadable'))).isDirectory());
      await store.close();
    });
  });

  it('finishes a restore that was cut short, from the snapshot it was restoring', async () => {
    await withTempDir(async (dir) => {
      const files = await threeSnapshots(dir);
      const raw = new ClassicLevel<string, string>(join(dir, 'db'));
      await raw.put('meta/restoring', files[0]);
      await raw.close();
      await assert.rejects(PartitionStore.open({ dir }), (error: unknown) => {
        assert.ok(error instanceof StateUnreadableError);
        assert.equal(error.restoringFrom, files[0]);
        return true;
      });
      const { store, restoredFrom } = await openWithRecovery({ dir });
      assert.equal(restoredFrom, files[0]);
      assert.equal(await value(store), 'r1');
      await store.close();
    });
  });

  it('fails and leaves the database alone when no snapshot is valid', async () => {
    await withTempDir(async (dir) => {
      const files = await threeSnapshots(dir);
      for (const file of files) await flipByte(file, 1);
      await writeFile(join(dir, 'db', 'CURRENT'), 'garbage');
      const reported: string[] = [];
      await assert.rejects(
        openWithRecovery({ dir, onFallback: (info) => reported.push(info.file) }),
        NoValidSnapshotError,
      );
      assert.equal(reported.length, 3);
      assert.equal(await readFile(join(dir, 'db', 'CURRENT'), 'utf8'), 'garbage');
    });
  });

  it('passes lock and format errors through instead of rebuilding', async () => {
    await withTempDir(async (dir) => {
      await threeSnapshots(dir);
      const holder = await PartitionStore.open({ dir });
      await assert.rejects(openWithRecovery({ dir }), StateLockedError);
      await holder.close();
      const raw = new ClassicLevel<string, string>(join(dir, 'db'));
      await raw.put('meta/format', '2');
      await raw.close();
      await assert.rejects(openWithRecovery({ dir }), StateFormatError);
    });
  });
});
