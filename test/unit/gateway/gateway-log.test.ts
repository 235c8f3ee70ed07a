import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GatewayLog } from '../../../actors/gateway/gateway-log.ts';
import type { FsyncPolicy } from '../../../actors/gateway/group-commit.ts';

const root = mkdtempSync(join(tmpdir(), 'sluice-gateway-log-'));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;

function open(fsync: FsyncPolicy, groupCommitMs = 20): GatewayLog {
  return GatewayLog.open({
    dir: join(root, `log${counter++}`),
    partitions: 4,
    fsync,
    groupCommitMs,
    maxBytes: 1 << 30,
    segmentBytes: 1 << 20,
  });
}

describe('GatewayLog', () => {
  for (const fsync of ['group', 'always', 'none'] as const) {
    it(`with fsync ${fsync}, a record is readable by the time its append is durable, on every partition, and announced`, async () => {
      const log = open(fsync);
      const announced = new Set<number>();
      log.onDurable((partition) => announced.add(partition));
      const appended = [0, 1, 2, 3, 1].map((partition) => ({
        partition,
        ...log.append(partition, Buffer.from(`p${partition}`)),
      }));
      await Promise.all(appended.map(({ durable }) => durable));
      for (const { partition, offset } of appended) {
        assert.ok(log.partition(partition).durableEnd > offset, `partition ${partition} record ${offset}`);
        assert.equal(
          log
            .partition(partition)
            .read(offset, 1 << 20)[0]
            .toString(),
          `p${partition}`,
        );
      }
      assert.deepEqual([...announced].sort(), [0, 1, 2, 3]);
      await log.close();
    });
  }

  it('with fsync group, appends to several partitions between two commits become durable in the same round', async () => {
    const log = open('group', 30);
    await log.append(0, Buffer.from('warm')).durable;
    const settled: number[] = [];
    const rounds = [0, 1, 2, 3].map((partition) =>
      log.append(partition, Buffer.from('x')).durable.then(() => settled.push(partition)),
    );
    await Promise.race(rounds);
    await Promise.resolve();
    assert.equal(settled.length, 4, 'some partitions waited for a later commit');
    await log.close();
  });
});
