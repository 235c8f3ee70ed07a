import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GroupCommit } from '../../../actors/gateway/group-commit.ts';

describe('GroupCommit', () => {
  it('group policy serves every request made before a sync with that one sync', async () => {
    let syncs = 0;
    const commit = new GroupCommit('group', 5, async () => {
      syncs++;
    });
    await Promise.all(Array.from({ length: 50 }, () => commit.request()));
    assert.equal(syncs, 1);
    await commit.request();
    assert.equal(syncs, 2);
  });

  it('always policy syncs once per request and none policy never syncs', async () => {
    let syncs = 0;
    const sync = async () => {
      syncs++;
    };
    await Promise.all([1, 2, 3].map(() => new GroupCommit('always', 5, sync).request()));
    assert.equal(syncs, 3);
    await new GroupCommit('none', 5, sync).request();
    assert.equal(syncs, 3);
  });

  it('a failed sync rejects the requests waiting for it', async () => {
    const commit = new GroupCommit('group', 1, async () => {
      throw new Error('disk gone');
    });
    await assert.rejects(commit.request(), /disk gone/);
  });
});
