/**
 * Differential test of native pre-aggregation over Kafka record batches of one JSON or
 * msgpack event per message (the partition's path for those formats), and over such
 * messages back to back in one buffer (a file source's JSON lines): for random
 * tumbling windows and messy, disordered, late and malformed events, every batch the
 * addon reads gives exactly the pre-aggregated batch the TS twin gives for the events the
 * TS decoder makes of the same messages — batch after batch, with key ids kept between
 * them. (The twin's batches are held to the event-by-event path by
 * aggregate-frame.differential.test.ts.)
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeJsonEvent } from '../../../actors/codecs/json-event.ts';
import { decodeMsgpackEvent, msgpack } from '../../../actors/codecs/msgpack-event.ts';
import { DEAD_LETTER_HEADERS } from '../../../actors/kafka/raw-record-batches.ts';
import type { SluiceEvent } from '../../../actors/windows/index.ts';
import {
  aggregateEvents,
  createFrameAggregator,
  frameSpecFor,
  type NativeBatch,
  nativeAddon,
  TwinKeys,
} from '../../../native/index.ts';
import { batches, windowConfig } from './native-arbitraries.ts';

const require = createRequire(import.meta.url);
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js');
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js');

type Format = 'json' | 'msgpack';

async function recordBatch(firstOffset: number, values: Buffer[]): Promise<Uint8Array> {
  const encoded = await RecordBatch({
    compression: 0,
    firstOffset: String(firstOffset),
    lastOffsetDelta: values.length - 1,
    records: values.map((value, offsetDelta) => Record({ offsetDelta, key: null, value })),
  });
  return new Uint8Array(encoded.buffer as Buffer);
}

const encode: Record<Format, (event: SluiceEvent) => Buffer> = {
  json: (event) => Buffer.from(JSON.stringify(event)),
  msgpack: (event) => msgpack.pack(event),
};

/** The TS decoder's event, or null for a message it would dead-letter. */
const decode: Record<Format, (value: Buffer) => SluiceEvent | null> = {
  json: (value) => {
    const decoded = decodeJsonEvent(value.toString('utf8'));
    return 'event' in decoded ? (decoded.event as SluiceEvent) : null;
  },
  msgpack: (value) => {
    const decoded = decodeMsgpackEvent(value);
    return 'event' in decoded ? (decoded.event as SluiceEvent) : null;
  },
};

/** Messages back to back in one buffer with a line feed after each (as a file's lines reach a worker), and their bounds. */
function inBounds(values: Buffer[]): [Uint8Array, Uint32Array] {
  const bounds = new Uint32Array(2 * values.length);
  let at = 0;
  values.forEach((value, i) => {
    bounds[2 * i] = at;
    bounds[2 * i + 1] = at + value.length;
    at += value.length + 1;
  });
  return [new Uint8Array(Buffer.concat(values.flatMap((value) => [value, Buffer.from('\n')]))), bounds];
}

describe('native pre-aggregation of JSON and msgpack messages', {
  skip: nativeAddon === null ? 'native addon not built' : false,
}, () => {
  for (const format of ['json', 'msgpack'] as const) {
    it(`${format}: every batch the addon reads, in record batches or one buffer, equals the twin's over the decoded events`, async () => {
      let read = 0;
      await fc.assert(
        fc.asyncProperty(
          windowConfig,
          batches,
          fc.integer({ min: -50, max: 1_000 }),
          fc.boolean(),
          async (config, input, mark, inOneBuffer) => {
            const spec = frameSpecFor(config, 'ts');
            assert.ok(spec !== null);
            const aggregator = createFrameAggregator(spec);
            assert.ok(aggregator !== null);
            const keys = new TwinKeys();
            let offset = 0;
            for (const events of input) {
              const values = events.map(encode[format]);
              const native: NativeBatch = inOneBuffer
                ? aggregator.aggregateMessages(...inBounds(values), format, mark)
                : aggregator.aggregateRecordBatches(
                    await recordBatch(offset, values),
                    '0',
                    DEAD_LETTER_HEADERS.code,
                    format,
                    mark,
                  );
              offset += values.length;
              if (native.fallback !== null) continue;
              read++;
              const decoded = values.map(decode[format]);
              assert.ok(
                decoded.every((event) => event !== null),
                'a batch the addon reads decodes whole in TS',
              );
              const twin = aggregateEvents(decoded as SluiceEvent[], spec, mark, keys);
              assert.equal(twin.fallback, null);
              assert.deepEqual(native, twin);
            }
          },
        ),
        { numRuns: 150 },
      );
      assert.ok(read > 50, `the addon read ${read} batches`);
    });
  }

  it('falls back on a message it does not read, and on escaped text in a wanted field', async () => {
    const spec = frameSpecFor(
      {
        window: { type: 'tumbling', sizeMs: 10 },
        allowedLatenessMs: 0,
        maxOutOfOrderMs: 0,
        groupBy: ['k'],
        aggregates: [{ name: 'n', fn: 'count' }],
      },
      'ts',
    );
    assert.ok(spec !== null);
    const aggregator = createFrameAggregator(spec);
    assert.ok(aggregator !== null);
    const aggregate = async (...texts: string[]) =>
      aggregator.aggregateRecordBatches(
        await recordBatch(
          0,
          texts.map((text) => Buffer.from(text)),
        ),
        '0',
        DEAD_LETTER_HEADERS.code,
        'json',
        0,
      ).fallback;
    assert.equal(await aggregate('{"ts":1,"k":"a"}', '{"ts":2,"k":"b"}'), null);
    assert.equal(await aggregate('{"ts":1,"k":"a"}', '[1]'), 'UNSUPPORTED_RECORDS');
    assert.equal(await aggregate('{"ts":1,"k":"\\u0061"}'), 'UNSUPPORTED_ESCAPED_TEXT');
    assert.equal(await aggregate('{"ts":"2026-01-01T00:00:00Z","k":"a"}'), 'UNSUPPORTED_TIME_STRING');
    // An escape in a field no window reads is no obstacle.
    assert.equal(await aggregate('{"ts":3,"k":"c","note":"\\n"}'), null);
    // In one buffer, a message out of it falls back.
    const [bytes, bounds] = inBounds([Buffer.from('{"ts":1,"k":"a"}')]);
    assert.equal(aggregator.aggregateMessages(bytes, bounds, 'json', 0).fallback, null);
    bounds[1] = bytes.length + 1;
    assert.equal(aggregator.aggregateMessages(bytes, bounds, 'json', 0).fallback, 'UNSUPPORTED_RECORDS');
  });
});
