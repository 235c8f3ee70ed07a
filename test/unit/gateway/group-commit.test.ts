import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type FsyncPolicy, GroupCommit } from '../../../actors/gateway/group-commit.ts';

function counting(policy: FsyncPolicy, intervalMs = 5) {
  const counts = { writes: 0, syncs: 0 };
  const commit = new GroupCommit({
    policy,
    intervalMs,
    write: () => {
      counts.writes++;
    },
    sync: async () => {
      counts.syncs++;
    },
  });
  return { commit, counts };
}

describe('GroupCommit', () => {
  it('group policy serves every request made before a sync with that one sync', async () => {
    const { commit, counts } = counting('group');
    await Promise.all(Array.from({ length: 50 }, () => commit.request()));
    assert.equal(counts.syncs, 1);
    await commit.request();
    assert.equal(counts.syncs, 2);
  });

  it('always policy syncs once per request', async () => {
    const { commit, counts } = counting('always');
    await Promise.all([1, 2, 3].map(() => commit.request()));
    assert.deepEqual(counts, { writes: 0, syncs: 3 });
  });

  it('none policy never syncs and answers the requests of one turn of the event loop with one write', async () => {
    const { commit, counts } = counting('none');
    const first = Array.from({ length: 20 }, () => commit.request());
    let answered = false;
    void first[0].then(() => {
      answered = true;
    });
    await Promise.resolve();
    assert.equal(answered, false, 'answered before the records were written');
    await Promise.all(first);
    assert.deepEqual(counts, { writes: 1, syncs: 0 });
    await commit.request();
    assert.deepEqual(counts, { writes: 2, syncs: 0 });
  });

  it('a failed sync rejects the requests waiting for it, and the next request gets a sync of its own', async () => {
    let fail = true;
    const commit = new GroupCommit({
      policy: 'group',
      intervalMs: 1,
      write: () => {},
      sync: async () => {
        if (fail) throw new Error('disk gone');
      },
    });
    await assert.rejects(Promise.all([commit.request(), commit.request()]), /disk gone/);
    fail = false;
    await commit.request();
  });

  it('close flushes the requests still waiting', async () => {
    const { commit, counts } = counting('group', 60_000);
    await commit.request();
    const waiting = commit.request();
    await commit.close();
    await waiting;
    assert.equal(counts.syncs, 2);
  });
});
