import assert from 'node:assert/strict';
import { readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { describe, it } from 'node:test';
import {
  type CheckpointContent,
  PartitionStore,
  SnapshotInvalidError,
  StateUsageError,
} from '../../../state/index.ts';
import { readSnapshotFile } from '../../../state/snapshot-file.ts';
import { withTempDir } from './fixtures/temp-dir.ts';

const content = (offset: number): CheckpointContent => ({
  sourcePosition: { offset: String(offset) },
  watermark: offset === 0 ? null : offset * 1000,
  sinkPositions: { '/out/a.jsonl': offset },
  emitted: { versions: { '0|u1': offset } },
  meta: {},
});

async function dump(store: PartitionStore, namespaces: string[]): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const namespace of namespaces) {
    out[namespace] = [];
    for await (const [key, value] of store.entries(namespace))
      out[namespace].push(`${key.toString('hex')}=${value}`);
  }
  return out;
}

async function commitRound(store: PartitionStore, round: number): Promise<void> {
  await store.commit({
    checkpoint: content(round),
    puts: Array.from({ length: 50 }, (_, index) => [
      index % 2 === 0 ? 'per_user' : 'lookup:users',
      `key-${index}`,
      Buffer.from(`round-${round}-${index}`),
    ]),
    deletes: [],
  });
}

describe('snapshots', () => {
  it('round-trip the whole state: restoring a snapshot brings back its entries and checkpoint', async () => {
    await withTempDir(async (dir) => {
      const store = await PartitionStore.open({ dir });
      await commitRound(store, 1);
      await store.commit({
        checkpoint: content(2),
        puts: [['per_user', Buffer.alloc(70_000, 7), Buffer.alloc(2_000_000, 1)]],
        deletes: [['lookup:users', 'key-1']],
      });
      const before = await dump(store, ['per_user', 'lookup:users']);
      const info = await store.snapshot(3);
      assert.equal(info.id, 2);
      assert.equal(info.entries, 50);
      assert.equal(info.valid, true);
      assert.equal(basename(info.file), 'snapshot-0000000000000002.snap');
      const checkpointBefore = store.checkpoint;

      await commitRound(store, 3);
      await store.commit({ checkpoint: content(4), puts: [['other', 'x', Buffer.from('y')]], deletes: [] });
      const restored = await store.restoreSnapshot(basename(info.file));
      assert.deepEqual(restored, checkpointBefore);
      assert.deepEqual(store.checkpoint, checkpointBefore);
      assert.deepEqual(await dump(store, ['per_user', 'lookup:users', 'other']), { ...before, other: [] });

      const next = await store.commit({ checkpoint: content(5), puts: [], deletes: [] });
      assert.equal(next.id, 5, 'ids keep growing past the roll-back, so snapshot names never repeat');
      await store.close();
      const reopened = await PartitionStore.open({ dir });
      assert.equal(reopened.checkpoint?.id, 5);
      assert.deepEqual(await dump(reopened, ['per_user', 'lookup:users']), before);
      await reopened.close();
    });
  });

  it('are the same bytes whenever the same checkpoint is snapshotted', async () => {
    await withTempDir(async (dir) => {
      const store = await PartitionStore.open({ dir });
      await commitRound(store, 1);
      const first = await readFile((await store.snapshot(2)).file);
      const second = await readFile((await store.snapshot(2)).file);
      assert.deepEqual(first, second);
      await store.close();
    });
  });

  it('keep only the newest K files and leave no temp files behind', async () => {
    await withTempDir(async (dir) => {
      const store = await PartitionStore.open({ dir });
      for (let round = 1; round <= 5; round += 1) {
        await commitRound(store, round);
        await store.snapshot(2);
      }
      const listed = await store.listSnapshots();
      assert.deepEqual(
        listed.map((info) => [info.id, info.valid, info.entries]),
        [
          [5, true, 50],
          [4, true, 50],
        ],
      );
      assert.deepEqual((await readdir(store.snapshotsDir)).sort(), [
        'snapshot-0000000000000004.snap',
        'snapshot-0000000000000005.snap',
      ]);
      await store.close();
    });
  });

  it('cannot be taken before the first checkpoint', async () => {
    await withTempDir(async (dir) => {
      const store = await PartitionStore.open({ dir });
      await assert.rejects(store.snapshot(1), StateUsageError);
      await assert.rejects(() => store.snapshot(0), StateUsageError);
      await store.close();
    });
  });

  it('reflect the state at one instant even while commits go on', async () => {
    await withTempDir(async (dir) => {
      const store = await PartitionStore.open({ dir });
      const tagged = (round: number) =>
        Array.from({ length: 3000 }, (_, index): [string, string, Buffer] => [
          'n',
          String(index),
          Buffer.from(String(round)),
        ]);
      await store.commit({ checkpoint: content(1), puts: tagged(1), deletes: [] });
      const snapshot = store.snapshot(5);
      const commits = [2, 3, 4].map((round) =>
        store.commit({ checkpoint: content(round), puts: tagged(round), deletes: [] }),
      );
      const [info] = await Promise.all([snapshot, ...commits]);
      const values = new Set<string>();
      let recordId = -1;
      await readSnapshotFile(info.file, {
        onRecord: () => {},
        onEntry: (_namespace, _key, value) => {
          values.add(value.toString());
        },
      });
      recordId = info.id;
      assert.equal(values.size, 1, 'every entry comes from the same commit');
      assert.equal([...values][0], String(recordId), 'and that commit is the recorded checkpoint');
      await store.close();
    });
  });

  it('asked for during a restore, wait for it and hold the restored state', async () => {
    await withTempDir(async (dir) => {
      const store = await PartitionStore.open({ dir });
      await commitRound(store, 1);
      const first = await store.snapshot(5);
      await commitRound(store, 2);
      const restoring = store.restoreSnapshot(first.file);
      const during = store.snapshot(5);
      await restoring;
      const info = await during;
      assert.equal(info.id, 1);
      assert.equal(info.entries, 50);
      await store.close();
    });
  });

  describe('with damaged files', () => {
    async function twoSnapshots(
      dir: string,
    ): Promise<{ store: PartitionStore; newest: string; older: string }> {
      const store = await PartitionStore.open({ dir });
      await commitRound(store, 1);
      const older = (await store.snapshot(3)).file;
      await commitRound(store, 2);
      const newest = (await store.snapshot(3)).file;
      return { store, newest, older };
    }

    const damages: Array<[string, (file: string) => Promise<void>, RegExp]> = [
      [
        'a flipped body byte',
        async (file) => {
          const bytes = await readFile(file);
          bytes[bytes.length - 10] ^= 0x40;
          await writeFile(file, bytes);
        },
        /body CRC mismatch/,
      ],
      [
        'a flipped header byte',
        async (file) => {
          const bytes = await readFile(file);
          bytes[30] ^= 0x01;
          await writeFile(file, bytes);
        },
        /header CRC mismatch/,
      ],
      ['truncation mid-body', (file) => truncate(file, 200), /truncated: 200 of \d+ bytes/],
      ['truncation mid-header', (file) => truncate(file, 20), /truncated header/],
      ['an empty file', (file) => truncate(file, 0), /truncated header: 0 of 52/],
      [
        'trailing garbage',
        async (file) => writeFile(file, Buffer.concat([await readFile(file), Buffer.from('xx')])),
        /2 trailing bytes/,
      ],
      ['a foreign file', (file) => writeFile(file, Buffer.alloc(100, 0x20)), /bad magic/],
      [
        'a future version',
        async (file) => {
          const bytes = await readFile(file);
          bytes.writeUInt16BE(2, 8);
          await writeFile(file, bytes);
        },
        /unknown snapshot version 2/,
      ],
    ];

    for (const [damage, apply, reason] of damages) {
      it(`are listed as invalid with the reason for ${damage}, never thrown`, async () => {
        await withTempDir(async (dir) => {
          const { store, newest, older } = await twoSnapshots(dir);
          await apply(newest);
          const listed = await store.listSnapshots();
          assert.equal(listed.length, 2);
          assert.equal(listed[0].file, newest);
          assert.equal(listed[0].valid, false);
          assert.equal(listed[0].id, 2);
          assert.match(listed[0].reason ?? '', reason);
          assert.equal(listed[1].file, older);
          assert.equal(listed[1].valid, true);
          await assert.rejects(store.restoreSnapshot(newest), SnapshotInvalidError);
          assert.equal(store.checkpoint?.id, 2, 'a refused restore touches nothing');
          await store.close();
        });
      });
    }
  });
});
