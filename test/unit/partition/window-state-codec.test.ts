import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  captureWindowChanges,
  encodeWindowChanges,
  restoreWindow,
  windowNamespace,
} from '../../../actors/partition/window-state-codec.ts';
import {
  formatRow,
  type SluiceEvent,
  WindowOperator,
  type WindowOperatorConfig,
} from '../../../actors/windows/index.ts';
import { PartitionStore } from '../../../state/index.ts';
import { withTempDir } from '../state/fixtures/temp-dir.ts';
import { steps, windowConfig } from '../windows/window-arbitraries.ts';

/** Rows and late records an operator emits from here to the end of input. */
function drained(operator: WindowOperator): string[] {
  const output: string[] = [];
  operator.advanceWatermark(Number.POSITIVE_INFINITY, {
    row: (row) => output.push(formatRow(row)),
    late: (record) => output.push(JSON.stringify(record)),
  });
  return output;
}

/** Stores `operator`'s whole state through the codec, reads it back into a new operator. */
async function roundTrip(dir: string, config: WindowOperatorConfig, operator: WindowOperator) {
  const store = await PartitionStore.open({ dir });
  try {
    const encoded = captureWindowChanges(operator, true);
    const namespace = windowNamespace('w');
    await store.commit({
      checkpoint: { sourcePosition: 0, watermark: null, sinkPositions: {}, emitted: null, meta: {} },
      puts: encoded.puts.map(([key, value]): [string, string, Buffer] => [namespace, key, value]),
      deletes: [],
      clear: [namespace],
    });
    const restored = await restoreWindow(store, 'w', config, null);
    assert.ok(restored);
    return restored.operator;
  } finally {
    await store.close();
  }
}

describe('window state codec', () => {
  it('writes the same entries whether a checkpoint encodes chunks as captured or after the capture', () => {
    // captureWindowChanges encodes each chunk as the operator builds it and trusts the
    // key dictionary about plain-text keys; encodeWindowChanges checks every key itself.
    fc.assert(
      fc.property(
        windowConfig,
        steps,
        fc.array(fc.nat({ max: 200 }), { maxLength: 4 }),
        (config, input, cuts) => {
          const streamed = new WindowOperator(config);
          const checked = new WindowOperator(config);
          const ignore = { row: () => {}, late: () => {} };
          const marks = new Set(cuts.map((cut) => cut % (input.length + 1)));
          for (let index = 0; index <= input.length; index++) {
            if (marks.has(index)) {
              assert.deepEqual(
                captureWindowChanges(streamed, false),
                encodeWindowChanges(checked.captureChanges(false)),
              );
            }
            const step = input[index];
            if (step === undefined) break;
            for (const operator of [streamed, checked]) {
              if (step.kind === 'event') operator.process(step.event, step.time, ignore);
              else operator.advanceWatermark(step.watermark, ignore);
            }
          }
          assert.deepEqual(
            captureWindowChanges(streamed, true),
            encodeWindowChanges(checked.captureChanges(true)),
          );
        },
      ),
    );
  });

  it('stores keys with a NUL, a leading U+0001 or of other types apart, before and after such keys leave the state', async () => {
    const config: WindowOperatorConfig = {
      window: { type: 'tumbling', sizeMs: 10 },
      allowedLatenessMs: 0,
      maxOutOfOrderMs: 0,
      groupBy: ['k'],
      aggregates: [{ name: 'n', fn: 'count' }],
    };
    const streamed = new WindowOperator(config);
    const checked = new WindowOperator(config);
    const ignore = { row: () => {}, late: () => {} };
    const both = (work: (operator: WindowOperator) => void) => {
      work(streamed);
      work(checked);
    };
    for (const k of ['a\u0000b', 7, '\u0001x', 'a', 'b'])
      both((operator) => operator.process({ k }, 1, ignore));
    assert.deepEqual(
      captureWindowChanges(streamed, false),
      encodeWindowChanges(checked.captureChanges(false)),
    );
    // The first window fires and is purged: only plain-text keys remain.
    both((operator) => operator.process({ k: 'c' }, 25, ignore));
    assert.deepEqual(
      captureWindowChanges(streamed, false),
      encodeWindowChanges(checked.captureChanges(false)),
    );
    both((operator) => operator.process({ k: 'a\u0000b' }, 26, ignore));
    assert.deepEqual(captureWindowChanges(streamed, true), encodeWindowChanges(checked.captureChanges(true)));
    // Every window purged at once (every key released together), then new keys of both kinds.
    both((operator) => operator.advanceWatermark(100, ignore));
    both((operator) => operator.process({ k: 'd' }, 101, ignore));
    assert.deepEqual(
      captureWindowChanges(streamed, false),
      encodeWindowChanges(checked.captureChanges(false)),
    );
    both((operator) => operator.process({ k: 8 }, 102, ignore));
    assert.deepEqual(
      captureWindowChanges(streamed, false),
      encodeWindowChanges(checked.captureChanges(false)),
    );
    both((operator) => operator.process({ k: '\u0001y' }, 103, ignore));
    assert.deepEqual(captureWindowChanges(streamed, true), encodeWindowChanges(checked.captureChanges(true)));
    // Alone among plain keys, a key with a leading U+0001 (encoded with a mark) is stored
    // as itself: the restored operator fires what the stored one fires.
    const marked = new WindowOperator(config);
    for (const k of ['a', '\u0001z', 'b']) marked.process({ k }, 1, ignore);
    const restored = await withTempDir((dir) => roundTrip(dir, config, marked));
    assert.deepEqual(drained(restored), drained(marked));
  });

  it('gives back an operator that fires what the stored one fires, for any keys and aggregates', async () => {
    await fc.assert(
      fc.asyncProperty(windowConfig, steps, async (config, input) => {
        const original = new WindowOperator(config);
        const ignore = { row: () => {}, late: () => {} };
        for (const step of input) {
          if (step.kind === 'event') original.process(step.event, step.time, ignore);
          else original.advanceWatermark(step.watermark, ignore);
        }
        const restored = await withTempDir((dir) => roundTrip(dir, config, original));
        assert.equal(restored.watermark, original.watermark);
        assert.deepEqual(drained(restored), drained(original));
      }),
      { numRuns: 60 },
    );
  });

  it('keeps string keys with NUL, empty keys and keys of several fields apart', async () => {
    const configs: Array<[string[], SluiceEvent[]]> = [
      [['k'], [{ k: 'a\u0000b' }, { k: 'a' }, { k: 'b' }, { k: '' }, { k: '\u0000' }]],
      [['k'], [{ k: 'x' }, { k: '' }, { k: 'y' }]],
      [
        ['k', 'g'],
        [
          { k: 'a', g: 'b' },
          { k: 'a\u0000b', g: '' },
          { k: 'a', g: '\u0000b' },
        ],
      ],
      [[], [{ v: 1 }, { v: 2 }]],
    ];
    for (const [groupBy, events] of configs) {
      const config: WindowOperatorConfig = {
        window: { type: 'tumbling', sizeMs: 10 },
        allowedLatenessMs: 0,
        maxOutOfOrderMs: 0,
        groupBy,
        aggregates: [{ name: 'n', fn: 'count' }],
      };
      const original = new WindowOperator(config);
      for (const event of events) original.process(event, 1, { row: () => {}, late: () => {} });
      const restored = await withTempDir((dir) => roundTrip(dir, config, original));
      const expected = drained(original);
      assert.equal(expected.length, groupBy.length === 0 ? 1 : events.length);
      assert.deepEqual(drained(restored), expected);
    }
  });
});
