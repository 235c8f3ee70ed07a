import assert from 'node:assert/strict';
import { it } from 'node:test';
import {
  checkpointSizes,
  parseCheckpointOutput,
} from '../../../../bench/checkpoint-scenario/checkpoint-scenario.ts';

it('the checkpoint scenario reads one table row per state size from the checkpoint bench output', () => {
  const output = `
20,000 keys in one tumbling window (count + sum), 1024 key groups
  first checkpoint (all dirty, 1,026 values)     364 ms
  incremental checkpoint (1% of keys, 168 values)     228 ms   target < 1000 for 1M
  checkpoint after the window closed, 1% of keys in the next (170 values, old window deleted)      31 ms
  restore (whole state)     651 ms   target < 2000 for 1M
  snapshot write (0.4 MiB)     108 ms
  restore under a budget of 1/10 (0.6 of 5.6 MiB est., 1,609 rows in memory)     262 ms
  evicted-key batch (read-back + process), 2,000 batches  p50 12 µs, p99 5047 µs, max 23540 µs
  read back all the rest before the window fires     176 ms

1,000,000 keys in one tumbling window (count + sum), 1024 key groups
  first checkpoint (all dirty, 1,026 values)     900 ms
  incremental checkpoint (1% of keys, 1,024 values)     800 ms   target < 1000 for 1M
  checkpoint after the window closed, 1% of keys in the next (1,025 values, old window deleted)     120 ms
  restore (whole state)    1900 ms   target < 2000 for 1M
  snapshot write (40.1 MiB)     300 ms
  restore under a budget of 1/10 (28.0 of 280.0 MiB est., 99,000 rows in memory)     400 ms
  evicted-key batch (read-back + process), 2,000 batches  p50 20 µs, p99 6000 µs, max 30000 µs
  read back all the rest before the window fires    1500 ms
`;
  assert.deepEqual(parseCheckpointOutput(output), [
    ['20,000', '364', '228', '31', '651', '108', '262', '5047 µs', '176'],
    ['1,000,000', '900', '800', '120', '1900', '300', '400', '6000 µs', '1500'],
  ]);
});

it('the default suite measures 100K and 1M keys; 5M keys only with --full, --quick one small size', () => {
  assert.deepEqual(checkpointSizes({ quick: false }), [100_000, 1_000_000]);
  assert.deepEqual(checkpointSizes({ quick: false, full: true }), [100_000, 1_000_000, 5_000_000]);
  assert.deepEqual(checkpointSizes({ quick: true, full: true }), [20_000]);
});
