/**
 * Frame encode/decode throughput for batches of 1,000 generator events, LZ4 and
 * uncompressed, beside JSON lines (one event per line) as the baseline a frame replaces.
 * Before timing, it checks that every format decodes back to the same events.
 *
 *   node --import tsx bench/codecs/frame.ts [durationMs] [eventsPerFrame]
 */
import assert from 'node:assert/strict';
import { decodeFrame, encodeFrame } from '../../actors/codecs/frame.ts';
import { decodeJsonLines } from '../../actors/codecs/json-lines.ts';
import { createGenerator } from '../../actors/generator/index.ts';
import { formatTiming, timeBatches } from './batch-timer.ts';

const DURATION_MS = Number(process.argv[2] ?? 2000);
const PER_FRAME = Number(process.argv[3] ?? 1000);

const { events } = createGenerator({ keys: 100_000, skew: 0.8, seed: 9 }).nextBatch(PER_FRAME);
const lz4 = encodeFrame(events, { codec: 'lz4', batchId: 'bench' });
const none = encodeFrame(events, { codec: 'none', batchId: 'bench' });
const jsonLines = Buffer.from(`${events.map((event) => JSON.stringify(event)).join('\n')}\n`);

for (const frame of [lz4, none]) {
  const decoded = decodeFrame(frame);
  assert.ok(decoded.ok);
  assert.deepEqual(decoded.events, events);
}
assert.deepEqual(
  decodeJsonLines(jsonLines).map((record) => (record.kind === 'event' ? record.event : record.reason)),
  events,
);

const size = (bytes: Buffer) => `${(bytes.length / PER_FRAME).toFixed(1)} bytes/event`;
console.log(`${PER_FRAME} events per frame`);
console.log(
  formatTiming(
    timeBatches('encode frame lz4', PER_FRAME, () => encodeFrame(events), DURATION_MS),
    size(lz4),
  ),
);
console.log(
  formatTiming(
    timeBatches('encode frame none', PER_FRAME, () => encodeFrame(events, { codec: 'none' }), DURATION_MS),
    size(none),
  ),
);
console.log(formatTiming(timeBatches('decode frame lz4', PER_FRAME, () => decodeFrame(lz4), DURATION_MS)));
console.log(formatTiming(timeBatches('decode frame none', PER_FRAME, () => decodeFrame(none), DURATION_MS)));
console.log(
  formatTiming(
    timeBatches(
      'encode json lines',
      PER_FRAME,
      () => Buffer.from(events.map((e) => JSON.stringify(e)).join('\n')),
      DURATION_MS,
    ),
    size(jsonLines),
  ),
);
console.log(
  formatTiming(timeBatches('decode json lines', PER_FRAME, () => decodeJsonLines(jsonLines), DURATION_MS)),
);
