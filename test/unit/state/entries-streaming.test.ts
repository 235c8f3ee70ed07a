import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PartitionStore } from '../../../state/index.ts';
import { withTempDir } from './fixtures/temp-dir.ts';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

function usedBytes(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

describe('entries()', () => {
  it('streams a namespace far larger than the memory it uses', async () => {
    await withTempDir(async (dir) => {
      const store = await PartitionStore.open({ dir });
      const count = 100_000;
      const value = Buffer.alloc(1024, 0x61);
      for (let start = 0; start < count; start += 10_000) {
        const puts: Array<[string, string, Buffer]> = [];
        for (let index = start; index < start + 10_000; index += 1) {
          puts.push(['big', `key-${String(index).padStart(8, '0')}`, value]);
        }
        await store.commit({
          checkpoint: { sourcePosition: start, watermark: null, sinkPositions: {}, emitted: null, meta: {} },
          puts,
          deletes: [],
        });
      }
      collectGarbage();
      const baseline = usedBytes();
      let peak = 0;
      let seen = 0;
      let previous = '';
      for await (const [key, entry] of store.entries('big')) {
        const text = key.toString();
        assert.ok(text > previous);
        assert.equal(entry.length, 1024);
        previous = text;
        seen += 1;
        if (seen % 5000 === 0) {
          collectGarbage(); // measure what the iteration retains, not garbage not yet collected
          peak = Math.max(peak, usedBytes() - baseline);
        }
      }
      assert.equal(seen, count);
      const stored = count * 1024;
      assert.ok(
        peak < stored / 10,
        `peak growth ${(peak / 1e6).toFixed(1)} MB while streaming ${stored / 1e6} MB`,
      );
      await store.close();
    });
  });

  it('stops reading when the consumer stops early', async () => {
    await withTempDir(async (dir) => {
      const store = await PartitionStore.open({ dir });
      const puts: Array<[string, string, Buffer]> = [];
      for (let index = 0; index < 5000; index += 1)
        puts.push(['n', String(index).padStart(5, '0'), Buffer.of(1)]);
      await store.commit({
        checkpoint: { sourcePosition: 0, watermark: null, sinkPositions: {}, emitted: null, meta: {} },
        puts,
        deletes: [],
      });
      const taken: string[] = [];
      for await (const [key] of store.entries('n')) {
        taken.push(key.toString());
        if (taken.length === 3) break;
      }
      assert.deepEqual(taken, ['00000', '00001', '00002']);
      await store.close();
    });
  });
});
