/**
 * The window golden cases (`test/golden/windows/`, every window type) read through the
 * native field reader, in each message format it serves — a JSON or msgpack message per
 * event, or frames — and fed to the window operator batch by batch, as a partition does:
 * the rows must be exactly the expected ones, and the late records too, with their events
 * cut to the fields the window reads (a partition reads natively only when no late
 * output writes whole events).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { encodeFrame } from '../../../actors/codecs/frame.ts';
import { msgpack } from '../../../actors/codecs/msgpack-event.ts';
import {
  type Emitter,
  formatRow,
  type SluiceEvent,
  WindowOperator,
  type WindowOperatorConfig,
} from '../../../actors/windows/index.ts';
import { createFieldProjector, type ProjectedFormat } from '../../../native/field-projection.ts';
import { nativeAddon } from '../../../native/index.ts';

const root = fileURLToPath(new URL('../../golden/windows/', import.meta.url));

function lines(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');
}

/** The messages of one batch of events, in `format`. */
function messages(format: ProjectedFormat, events: readonly SluiceEvent[]): Uint8Array[] {
  if (format === 'frame') return [encodeFrame(events)];
  return events.map((event) =>
    format === 'json' ? Buffer.from(JSON.stringify(event)) : Uint8Array.from(msgpack.pack(event)),
  );
}

describe('window golden cases through the native field reader', {
  skip: nativeAddon === null ? 'native addon not built' : false,
}, () => {
  for (const name of readdirSync(root).sort()) {
    const config = JSON.parse(readFileSync(join(root, name, 'config.json'), 'utf8')) as WindowOperatorConfig;
    const fields = [
      ...new Set([
        'ts',
        ...config.groupBy,
        ...config.aggregates.flatMap((aggregate) => (aggregate.field === undefined ? [] : [aggregate.field])),
      ]),
    ];
    const cut = (event: Record<string, unknown>) =>
      Object.fromEntries(fields.filter((field) => field in event).map((field) => [field, event[field]]));
    for (const format of ['json', 'msgpack', 'frame'] as const) {
      it(`${name} (${format}): the expected rows and late records for every batch size`, () => {
        const projector = createFieldProjector(fields, format);
        assert.ok(projector !== null);
        const events = lines(join(root, name, 'input.jsonl')).map((line) => JSON.parse(line) as SluiceEvent);
        const expectedRows = lines(join(root, name, 'expected.jsonl'));
        const expectedLate = lines(join(root, name, 'late.jsonl')).map((line) => {
          const record = JSON.parse(line) as { event: Record<string, unknown> };
          return JSON.stringify({ ...record, event: cut(record.event) });
        });
        for (const batchSize of [1, 3, events.length]) {
          const rows: string[] = [];
          const late: string[] = [];
          const emit: Emitter = {
            row: (row) => rows.push(formatRow(row)),
            late: (record) => late.push(JSON.stringify({ ...record, event: cut(record.event) })),
          };
          const operator = new WindowOperator(config);
          for (let start = 0; start < events.length; start += batchSize) {
            const read = projector.project(messages(format, events.slice(start, start + batchSize)));
            assert.ok(read !== null, 'the reader answers for every golden event');
            operator.processBatch(
              read,
              read.map((event) => event.ts as number),
              emit,
            );
          }
          operator.advanceWatermark(Number.POSITIVE_INFINITY, emit);
          assert.deepEqual(rows, expectedRows, `rows with batches of ${batchSize}`);
          assert.deepEqual(late, expectedLate, `late records with batches of ${batchSize}`);
        }
      });
    }
  }
});
