import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parseCheckpointOutput } from '../../../../bench/checkpoint-scenario/checkpoint-scenario.ts';

it('the checkpoint scenario reads one table row per state size from the checkpoint bench output', () => {
  const output = `
100,000 entries (16 B keys, 24 B values), one namespace
  commit (one atomic batch, fsync)      120 ms   target < 1000 for 1M
  reopen (load checkpoint)               30 ms
  restore (entries() over all)           80 ms   target < 2000 for 1M
  snapshot write (3.8 MiB)               40 ms
  snapshot read + verify                 10 ms
  database rebuilt from snapshot        150 ms
  get() read-back, 10000 random keys    200 ms   p50 12 µs, p99 80 µs, max 900 µs
`;
  assert.deepEqual(parseCheckpointOutput(output), [
    ['100,000', '120', '30', '80', '40', '10', '150', '80 µs'],
  ]);
});
