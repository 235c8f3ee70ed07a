/**
 * Golden tests of the window operator. Each folder under `windows/` holds a config,
 * an input (event time in field `ts`, ms), and the rows and late records expected,
 * written by hand from the rules in issue 4, section 3. Every case runs with several
 * batch sizes, then `advanceWatermark(Infinity)`; all must give the same bytes.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  type Emitter,
  eventMisfit,
  formatRow,
  type SluiceEvent,
  WindowOperator,
  type WindowOperatorConfig,
} from '../../actors/windows/index.ts';

const root = fileURLToPath(new URL('./windows/', import.meta.url));

function lines(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');
}

function run(config: WindowOperatorConfig, events: SluiceEvent[], batchSize: number) {
  const rows: string[] = [];
  const late: string[] = [];
  const emit: Emitter = {
    row: (row) => rows.push(formatRow(row)),
    late: (record) => late.push(JSON.stringify(record)),
  };
  const operator = new WindowOperator(config);
  for (let start = 0; start < events.length; start += batchSize) {
    const batch = events.slice(start, start + batchSize);
    operator.processBatch(
      batch,
      batch.map((event) => event.ts as number),
      emit,
    );
  }
  operator.advanceWatermark(Number.POSITIVE_INFINITY, emit);
  assert.equal(operator.openWindows, 0, 'no window is left in state after the end of input');
  return { rows, late };
}

describe('window golden cases', () => {
  for (const name of readdirSync(root).sort()) {
    const dir = join(root, name);
    it(`${name}: emits the expected rows and late records for every batch size`, () => {
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as WindowOperatorConfig;
      const events = lines(join(dir, 'input.jsonl')).map((line) => JSON.parse(line) as SluiceEvent);
      for (const event of events) assert.equal(eventMisfit(config, event), null, JSON.stringify(event));
      const expectedRows = lines(join(dir, 'expected.jsonl'));
      const expectedLate = lines(join(dir, 'late.jsonl'));
      for (const batchSize of [1, 2, 3, 7, events.length]) {
        const { rows, late } = run(config, events, batchSize);
        assert.deepEqual(rows, expectedRows, `rows with batches of ${batchSize}`);
        assert.deepEqual(late, expectedLate, `late records with batches of ${batchSize}`);
      }
    });
  }
});
