/**
 * The window golden cases (`test/golden/windows/`) through the native hot path and its
 * TS twin: each tumbling case without count_distinct is encoded as frames of several
 * batch sizes, pre-aggregated, played with `runBatch`, and must emit exactly the
 * expected rows and late records.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { encodeFrame } from '../../../actors/codecs/frame.ts';
import type { SluiceEvent, WindowOperatorConfig } from '../../../actors/windows/index.ts';
import {
  aggregateFrameNative,
  aggregateFrameTwin,
  frameSpecFor,
  nativeAddon,
} from '../../../native/index.ts';
import { runFast } from './frame-pipeline-model.ts';

const root = fileURLToPath(new URL('../../golden/windows/', import.meta.url));

function lines(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');
}

const paths = [
  { name: 'twin', aggregate: aggregateFrameTwin },
  ...(nativeAddon === null ? [] : [{ name: 'native', aggregate: aggregateFrameNative }]),
];

describe('window golden cases on the native hot path', () => {
  const cases = readdirSync(root)
    .sort()
    .map((name) => ({
      name,
      config: JSON.parse(readFileSync(join(root, name, 'config.json'), 'utf8')) as WindowOperatorConfig,
    }))
    .filter(({ config }) => frameSpecFor(config, 'ts') !== null);

  it('covers the tumbling golden cases', () => {
    assert.ok(cases.length >= 4, cases.map((entry) => entry.name).join(', '));
  });

  for (const { name, config } of cases) {
    for (const path of paths) {
      it(`${name} (${path.name}): emits the expected rows and late records for every batch size`, () => {
        const spec = frameSpecFor(config, 'ts');
        assert.ok(spec !== null);
        const events = lines(join(root, name, 'input.jsonl')).map((line) => JSON.parse(line) as SluiceEvent);
        const expectedRows = lines(join(root, name, 'expected.jsonl')).map((line) => `row ${line}`);
        const expectedLate = lines(join(root, name, 'late.jsonl'));
        for (const batchSize of [1, 2, 3, 7, events.length]) {
          const frames: Buffer[] = [];
          for (let at = 0; at < events.length; at += batchSize) {
            frames.push(encodeFrame(events.slice(at, at + batchSize)));
          }
          const { lines: out, fallbacks } = runFast(config, spec, frames, 'ts', path.aggregate);
          assert.deepEqual(fallbacks, []);
          assert.deepEqual(
            out.filter((line) => line.startsWith('row ')),
            expectedRows,
            `rows, batches of ${batchSize}`,
          );
          const late = out.filter((line) => line.startsWith('late ')).map((line) => line.slice(5));
          assert.deepEqual(late, expectedLate, `late records, batches of ${batchSize}`);
        }
      });
    }
  }
});
