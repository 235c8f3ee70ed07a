/**
 * murmur2 partitioning of short ASCII keys: sluice's `partitionForKey` against kafkajs's
 * default partitioner hash (which allocates a Buffer and uses 64-bit Long arithmetic).
 * Before timing, it checks that both pick the same partition for every key.
 *
 *   node --import tsx bench/codecs/murmur2.ts [durationMs]
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { partitionForKey, toPositive } from '../../actors/codecs/murmur2.ts';
import { formatTiming, timeBatches } from './batch-timer.ts';

const DURATION_MS = Number(process.argv[2] ?? 2000);
const PARTITIONS = 8;
const require = createRequire(import.meta.url);
const kafkajsMurmur2: (
  key: string,
) => number = require('kafkajs/src/producer/partitioners/default/murmur2.js');

const keys = Array.from({ length: 1000 }, (_, i) => `u${i * 7919}`);
for (const key of keys) {
  assert.equal(partitionForKey(key, PARTITIONS), toPositive(kafkajsMurmur2(key)) % PARTITIONS, key);
}

let sink = 0;
console.log(
  formatTiming(
    timeBatches(
      'sluice partitionForKey',
      keys.length,
      () => {
        for (const key of keys) sink += partitionForKey(key, PARTITIONS);
      },
      DURATION_MS,
    ),
  ),
);
console.log(
  formatTiming(
    timeBatches(
      'kafkajs murmur2',
      keys.length,
      () => {
        for (const key of keys) sink += toPositive(kafkajsMurmur2(key)) % PARTITIONS;
      },
      DURATION_MS,
    ),
  ),
);
if (sink < 0) console.log(sink);
