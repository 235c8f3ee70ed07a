import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type FsyncPolicy, GroupCommit, MAX_GROUP_FLUSHES } from '../../../actors/gateway/group-commit.ts';

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

  it('group policy starts the next flush while a slow one runs, at most every interval, and bounds how many overlap', async () => {
    const intervalMs = 5;
    /** Each sync waits until released: a stuck fsync. */
    const syncs: Array<{ startedAt: number; release: () => void }> = [];
    const commit = new GroupCommit({
      policy: 'group',
      intervalMs,
      write: () => {},
      sync: () =>
        new Promise<void>((release) => {
          syncs.push({ startedAt: performance.now(), release });
        }),
    });
    const answered: number[] = [];
    const request = (index: number) => void commit.request().then(() => answered.push(index));
    for (let index = 0; index < MAX_GROUP_FLUSHES + 2; index++) {
      request(index);
      await sleep(intervalMs * 2);
    }
    assert.equal(syncs.length, MAX_GROUP_FLUSHES, 'as many flushes run as the bound allows, each stuck');
    for (let index = 1; index < syncs.length; index++) {
      assert.ok(
        syncs[index].startedAt - syncs[index - 1].startedAt >= intervalMs - 0.5,
        'one start per interval',
      );
    }
    assert.deepEqual(answered, []);
    // The second flush ends first: its requests are answered, and a waiting request gets a flush.
    syncs[1].release();
    await sleep(intervalMs * 2);
    assert.deepEqual(answered, [1]);
    assert.equal(syncs.length, MAX_GROUP_FLUSHES + 1, 'the two waiting requests share the next flush');
    for (const sync of syncs) sync.release();
    await sleep(intervalMs * 2);
    assert.deepEqual(
      answered.sort((a, b) => a - b),
      Array.from({ length: MAX_GROUP_FLUSHES + 2 }, (_, index) => index),
    );
    await commit.close();
  });

  it('group policy flushes a request that finds the interval over after this turn of the event loop, not a timer later', async () => {
    const { commit, counts } = counting('group', 5);
    await commit.request();
    await sleep(10);
    const second = commit.request();
    // An immediate queued after the request runs after the flush's, before any timer.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(counts.syncs, 2, 'the flush started in the same turn');
    await second;
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
