/**
 * Differential tests of the native hot path: for random tumbling windows and messy,
 * disordered, late and malformed events in random batches, the native addon and the TS
 * twin give the same pre-aggregated batches, and playing either into a window operator
 * gives the same rows, late records, dead letters and final state, byte for byte, as
 * the partition pipeline's event-by-event path.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encodeFrame } from '../../../actors/codecs/frame.ts';
import {
  aggregateFrame,
  aggregateFrameNative,
  aggregateFrameTwin,
  type FrameSpec,
  frameSpecFor,
  nativeAddon,
} from '../../../native/index.ts';
import { runFast, runReference } from './frame-pipeline-model.ts';
import { batches, windowConfig } from './native-arbitraries.ts';

/** Key ids kept from batch to batch: the default, or so few that they are forgotten often. */
const maxKeys = fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined });

function withMaxKeys(spec: FrameSpec | null, keysKept: number | undefined): FrameSpec {
  assert.ok(spec !== null);
  return keysKept === undefined ? spec : { ...spec, maxKeys: keysKept };
}

const paths = [
  { name: 'TS twin', aggregate: aggregateFrameTwin },
  ...(nativeAddon === null ? [] : [{ name: 'native addon', aggregate: aggregateFrameNative }]),
];

describe('native hot path against the event-by-event path', () => {
  it(`runs on the paths available here: ${paths.map((path) => path.name).join(', ')}`, () => {
    assert.ok(paths.length >= 1);
  });

  for (const path of paths) {
    it(`${path.name}: rows, late records, dead letters and state equal the per-event path`, () => {
      fc.assert(
        fc.property(windowConfig, batches, maxKeys, (config, input, keysKept) => {
          const spec = withMaxKeys(frameSpecFor(config, 'ts'), keysKept);
          const frames = input.map((events) => encodeFrame(events));
          const expected = runReference(config, frames, 'ts');
          const actual = runFast(config, spec, frames, 'ts', path.aggregate);
          assert.deepEqual(actual.lines, expected.lines);
          assert.deepEqual(actual.state, expected.state);
          assert.deepEqual(actual.fallbacks, [], 'every batch took the fast path');
        }),
        { numRuns: 300 },
      );
    });
  }

  it('the native addon and the twin return identical pre-aggregated batches', (t) => {
    if (nativeAddon === null) return t.skip('native addon not built');
    fc.assert(
      fc.property(
        windowConfig,
        batches,
        fc.integer({ min: -50, max: 1_000 }),
        maxKeys,
        (config, input, mark, keysKept) => {
          const spec = withMaxKeys(frameSpecFor(config, 'ts'), keysKept);
          for (const watermark of [Number.NEGATIVE_INFINITY, mark]) {
            for (const events of input) {
              const frame = encodeFrame(events);
              assert.deepEqual(
                aggregateFrameNative(frame, spec, watermark),
                aggregateFrameTwin(frame, spec, watermark),
              );
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps key ids from batch to batch, and takes back those of a refused batch', () => {
    const config = {
      window: { type: 'tumbling' as const, sizeMs: 10 },
      allowedLatenessMs: 0,
      maxOutOfOrderMs: 100,
      groupBy: ['k'],
      aggregates: [{ name: 'n', fn: 'count' as const }],
    };
    for (const path of paths) {
      const spec = frameSpecFor(config, 'ts');
      assert.ok(spec !== null);
      const first = path.aggregate(
        encodeFrame([
          { ts: 1, k: 'a' },
          { ts: 2, k: 'b' },
        ]),
        spec,
        0,
      );
      assert.deepEqual([...first.keyIds], [0, 1], path.name);
      // 'c' is read, then the fractional time refuses the batch: 'c' must not keep id 2.
      const refused = path.aggregate(
        encodeFrame([
          { ts: 3, k: 'c' },
          { ts: 3.5, k: 'a' },
        ]),
        spec,
        0,
      );
      assert.equal(refused.fallback, 'UNSUPPORTED_FRACTIONAL_TIME', path.name);
      const next = path.aggregate(
        encodeFrame([
          { ts: 4, k: 'b' },
          { ts: 5, k: 'd' },
          { ts: 6, k: 'a' },
        ]),
        spec,
        0,
      );
      assert.deepEqual([...next.keyIds], [1, 2, 0], path.name);
      assert.deepEqual(next.keyValues, ['a', 'b', 'd'], path.name);
      // Over maxKeys, a batch starts the ids again from 0.
      const small = { ...spec, maxKeys: 2 };
      path.aggregate(
        encodeFrame([
          { ts: 1, k: 'a' },
          { ts: 2, k: 'b' },
        ]),
        small,
        0,
      );
      const after = path.aggregate(
        encodeFrame([
          { ts: 3, k: 'b' },
          { ts: 4, k: 'c' },
        ]),
        small,
        0,
      );
      assert.deepEqual([...after.keyIds], [0, 1], path.name);
      assert.deepEqual(after.keyValues, ['b', 'c'], path.name);
    }
  });

  it('a batch larger than the buffers they are grown for: its keys arrive once', (t) => {
    if (nativeAddon === null) return t.skip('native addon not built');
    const config = {
      window: { type: 'tumbling' as const, sizeMs: 1_000 },
      allowedLatenessMs: 0,
      maxOutOfOrderMs: 0,
      groupBy: ['k'],
      aggregates: [
        { name: 'n', fn: 'count' as const },
        { name: 's', fn: 'sum' as const, field: 'v' },
      ],
    };
    const spec = frameSpecFor(config, 'ts');
    assert.ok(spec !== null);
    const events = Array.from({ length: 40_000 }, (_, i) => ({ ts: 5, k: `key-${i}`, v: i }));
    const native = aggregateFrameNative(encodeFrame(events), spec, 0);
    assert.equal(native.keyValues.length, 40_000);
    assert.deepEqual(native, aggregateFrameTwin(encodeFrame(events), spec, 0));
  });

  it('folds a key that moves between two open windows into one partial per window', () => {
    const config = {
      window: { type: 'tumbling' as const, sizeMs: 10 },
      allowedLatenessMs: 0,
      maxOutOfOrderMs: 10,
      groupBy: ['k'],
      aggregates: [{ name: 's', fn: 'sum' as const, field: 'v' }],
    };
    const spec = frameSpecFor(config, 'ts');
    assert.ok(spec !== null);
    // Disordered, but the watermark (0 to 3) never reaches a window's end: one segment.
    const frame = encodeFrame([
      { ts: 12, k: 'a', v: 1 },
      { ts: 5, k: 'a', v: 2 },
      { ts: 13, k: 'a', v: 3 },
      { ts: 6, k: 'a', v: 4 },
      { ts: 7, k: 'b', v: 5 },
      { ts: 4, k: 'a', v: 6 },
    ]);
    for (const path of paths) {
      const batch = path.aggregate(frame, spec, 0);
      assert.deepEqual([...batch.windowStarts], [10, 0, 0], path.name);
      assert.deepEqual([...batch.keyIds], [0, 0, 1], path.name);
      assert.deepEqual([...batch.columns[0].values], [1, 3, 2, 4, 6, 5], path.name);
    }
  });

  it('hands ISO time strings, fractional times and non-integer watermarks back to the per-event path', () => {
    const config = {
      window: { type: 'tumbling' as const, sizeMs: 10 },
      allowedLatenessMs: 0,
      maxOutOfOrderMs: 0,
      groupBy: ['k'],
      aggregates: [{ name: 'n', fn: 'count' as const }],
    };
    const spec = frameSpecFor(config, 'ts');
    assert.ok(spec !== null);
    for (const path of paths) {
      const iso = encodeFrame([{ ts: '2024-05-01T00:00:00Z', k: 'a' }]);
      assert.equal(path.aggregate(iso, spec, 0).fallback, 'UNSUPPORTED_TIME_STRING');
      const fractional = encodeFrame([{ ts: 1.5, k: 'a' }]);
      assert.equal(path.aggregate(fractional, spec, 0).fallback, 'UNSUPPORTED_FRACTIONAL_TIME');
    }
    assert.equal(
      aggregateFrame(encodeFrame([{ ts: 1, k: 'a' }]), spec, 0.5).fallback,
      'UNSUPPORTED_WATERMARK',
    );
  });

  it('leaves session windows, count_distinct and fractional durations to the per-event path', () => {
    const base = { allowedLatenessMs: 0, maxOutOfOrderMs: 0, groupBy: [] };
    const count = [{ name: 'n', fn: 'count' as const }];
    assert.equal(
      frameSpecFor({ ...base, window: { type: 'hopping', sizeMs: 10, slideMs: 5 }, aggregates: count }, 'ts')
        ?.slideMs,
      5,
    );
    assert.equal(
      frameSpecFor(
        { ...base, window: { type: 'hopping', sizeMs: 10, slideMs: 0.5 }, aggregates: count },
        'ts',
      ),
      null,
    );
    assert.equal(
      frameSpecFor({ ...base, window: { type: 'session', gapMs: 10 }, aggregates: count }, 'ts'),
      null,
    );
    const distinct = [{ name: 'd', fn: 'count_distinct' as const, field: 'x' }];
    assert.equal(
      frameSpecFor({ ...base, window: { type: 'tumbling', sizeMs: 10 }, aggregates: distinct }, 'ts'),
      null,
    );
  });
});
