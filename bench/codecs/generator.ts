/**
 * Synthetic event generator throughput: nextBatch(1000) for uniform and Zipf keys, with and
 * without disorder. Target: ≥ 5M events/s on one core. Before timing, it checks that one
 * batch of 1,000 equals 1,000 batches of 1 (the generator's batch-size independence).
 *
 *   node --import tsx bench/codecs/generator.ts [durationMs]
 */
import assert from 'node:assert/strict';
import { createGenerator, type GeneratorOptions } from '../../actors/generator/index.ts';
import { formatTiming, timeBatches } from './batch-timer.ts';

const DURATION_MS = Number(process.argv[2] ?? 2000);
const BATCH = 1000;

const scenarios: [string, GeneratorOptions][] = [
  ['uniform, 100K keys', { keys: 100_000 }],
  [
    'uniform, 100K keys, 10% ooo, 1% late',
    { keys: 100_000, outOfOrder: 0.1, maxOutOfOrderMs: 5000, late: 0.01, lateByMs: 60_000 },
  ],
  ['zipf 1.1, 100K keys', { keys: 100_000, skew: 1.1 }],
  ['zipf 1.1, 1M keys', { keys: 1_000_000, skew: 1.1 }],
  ['uniform, 100K keys, partition 3 of 8', { keys: 100_000, partition: { index: 3, count: 8 } }],
];

for (const [name, options] of scenarios) {
  const whole = createGenerator(options).nextBatch(BATCH);
  const single = createGenerator(options);
  const pieces = Array.from({ length: BATCH }, () => single.nextBatch(1).events[0]);
  assert.deepEqual(pieces, whole.events, `${name}: batch sizes disagree`);

  const generator = createGenerator(options);
  console.log(formatTiming(timeBatches(name, BATCH, () => generator.nextBatch(BATCH), DURATION_MS)));
}
