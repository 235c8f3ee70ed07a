/**
 * One topic per format — JSON, per-message msgpack, frames (one event each) — read by the
 * same job twice: on the native path (the addon reads only the fields the windows use)
 * and with SLUICE_NATIVE=0 (the TS path decodes every message whole). Both must give
 * byte-identical rows and dead letters. The topic mixes partitions of clean events with
 * partitions holding every kind of bad or odd message (invalid JSON or msgpack, other
 * top-level values, tombstones, dead-letter records, ext types, missing or ISO times,
 * misfit values, escapes, repeated names, late events), half of it in LZ4-compressed
 * record batches, so the native path, its refusals and the batches it reads but hands
 * back (they would make dead letters) all run.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { msgpack } from '../../../actors/codecs/msgpack-event.ts';
import { registerLz4Codec } from '../../../actors/kafka/lz4-codec.ts';
import { DEAD_LETTER_HEADERS } from '../../../actors/kafka/raw-record-batches.ts';
import { nativeAddon } from '../../../native/index.ts';
import { craftFrame } from '../../unit/codecs/craft-frame.ts';
import { counter, runOnPath, type Windows, windowsAndSinks } from '../helpers/native-paths.ts';
import { kafkaBrokers, uniqueName } from '../helpers/services.ts';

const START = Date.UTC(2026, 0, 1);

type Format = 'json' | 'msgpack' | 'frame';

/** A message value written out per format, where encoding an object would not say it. */
class Written {
  constructor(
    readonly json: string,
    readonly msgpack: Buffer,
  ) {}
}

/** A message value: an object both formats encode, or bytes written out per format. */
type Value = Record<string, unknown> | Written | null;
type Message = { value: Value; headers?: Record<string, string> };

/** A frame message holds one event: its msgpack bytes in a frame with both CRCs right. */
function encode(format: Format, value: Value): Buffer | null {
  if (value === null) return null;
  if (format === 'json') return Buffer.from(value instanceof Written ? value.json : JSON.stringify(value));
  const packed = value instanceof Written ? value.msgpack : msgpack.pack(value);
  if (format === 'msgpack') return packed;
  const payload = Buffer.concat([Buffer.from([0x91]), packed]);
  return craftFrame({ count: 1, uncompressedLength: payload.length, payload });
}

/** msgpack bytes of a map, written out: `entries` are [key, value bytes]. */
function msgpackMap(entries: Array<[string, number[]]>): Buffer {
  const parts = entries.flatMap(([key, value]) => [...msgpack.pack(key), ...value]);
  return Buffer.from([0x80 | entries.length, ...parts]);
}

/**
 * Clean events: what the native path reads. In partition 0 some arrive 12 s behind (a
 * fired window, re-fired within its lateness) or 30 s behind (late): events a
 * pre-aggregated batch leaves to the per-event path.
 */
function clean(partition: number, i: number): Value {
  const behind = partition === 0 ? ({ 13: 12_000, 29: 30_000 }[i % 50] ?? 0) : 0;
  return {
    user_id: `u${(i * 7 + partition) % 23}`,
    ts: START + i * 37 - behind,
    amount: (i % 13) * 1.25 - 3,
    page: `/p/${i % 5}`,
    extra: { nested: [i, { deep: 'é' }] },
  };
}

/**
 * Odd messages the native reader answers for, by what the TS path makes of them: rows,
 * or dead letters (no time, a misfit) — a batch with one of those must go back to the TS
 * path after the native read, since a dead letter carries the whole event.
 */
function answerable(kind: 'fine' | 'misfit' | 'time', n: number, i: number): Message {
  const ts = START + i * 37;
  const cases: Record<typeof kind, Value[]> = {
    fine: [
      { user_id: 'u3', ts: new Date(ts).toISOString(), amount: 2 },
      { user_id: 4, ts, amount: 3 },
      new Written(
        `{"user_id":"\\u00fc\\ud83d\\ude00","ts":${ts},"amount":-0}`,
        msgpack.pack({ user_id: 'ü😀', ts, amount: -0 }),
      ),
      new Written(
        `{"user_id":"u7","ts":1,"ts":${ts},"amount":1e2}`,
        msgpackMap([
          ['user_id', [...msgpack.pack('u7')]],
          ['ts', [0x01]],
          ['ts', [...msgpack.pack(ts)]],
          ['amount', [0xca, 0x42, 0xc8, 0, 0]], // float32 100
        ]),
      ),
      { user_id: 'late', ts: START, amount: 9 },
      { user_id: null, ts, amount: null },
    ],
    misfit: [
      { user_id: 'u5', ts, amount: 'abc', note: 'misfit' },
      new Written(
        `{"user_id":true,"ts":${ts},"amount":1e400,"note":"misfit"}`,
        msgpack.pack({ user_id: true, ts, amount: Number.POSITIVE_INFINITY, note: 'misfit' }),
      ),
    ],
    time: [
      { user_id: 'u2', amount: 1, note: 'no time' },
      { user_id: 'u8', ts: 'yesterday', note: 'bad time' },
    ],
  };
  return { value: cases[kind][n % cases[kind].length] };
}

/** Odd messages only the TS path decides: the native reader refuses their batches. */
function refused(n: number, i: number): Message {
  const ts = START + i * 37;
  const cases: Message[] = [
    { value: new Written('{"user_id":"u1","ts":', Buffer.from([0x82, 0xa2, 0x74, 0x73])) },
    { value: new Written('[1,2,3]', msgpack.pack([1, 2, 3])) },
    { value: null },
    { value: { user_id: 'u6', ts, amount: { nested: 1 } } },
    {
      value: new Written(
        `{"user_id":"\\ud800","ts":${ts}}`,
        msgpackMap([
          ['user_id', [0xa2, 0xc3, 0x28]], // invalid UTF-8
          ['ts', [...msgpack.pack(ts)]],
        ]),
      ),
    },
    {
      value: new Written('not json', Buffer.from([0xc1])),
      headers: { [DEAD_LETTER_HEADERS.code]: 'JSON_INVALID', [DEAD_LETTER_HEADERS.reason]: 'forwarded' },
    },
    {
      value: new Written(
        `\u{feff}${JSON.stringify({ user_id: 'bom', ts })}`,
        msgpackMap([
          ['user_id', [...msgpack.pack('ext')]],
          ['ts', [0xd6, 0xff, 0x65, 0x92, 0x00, 0x00]], // a timestamp ext
        ]),
      ),
    },
  ];
  return cases[n % cases.length];
}

function topology(format: Format, topic: string, group: string, dir: string, windows: Windows): string {
  return `name: native-fields
workers: 2
state: { dir: ${join(dir, 'state')} }
sources:
  events:
    type: kafka
    brokers: [${kafkaBrokers.join(', ')}]
    topic: ${topic}
    group: ${group}
    format: ${format}
    key: user_id
    bounded: latest
    time: { field: ts, maxOutOfOrder: 2s }
${windowsAndSinks(dir, windows)}`;
}

/** Runs the job to its end; returns its output files and the native path's counters. */
function run(format: Format, topic: string, native: boolean, windows: Windows = 'both') {
  const group = uniqueName('native-fields-group');
  return runOnPath(native, (dir) => topology(format, topic, group, dir, windows));
}

for (const format of ['json', 'msgpack', 'frame'] as const) {
  describe(`kafka ${format} on the native path and the TS path`, { timeout: 180_000 }, () => {
    const topic = uniqueName(`native-${format}`);
    const kafka = new kafkajs.Kafka({ brokers: kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING });

    before(async () => {
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: true });
      await admin.disconnect();
      const producer = kafka.producer();
      await producer.connect();
      // Several sends per partition: several record batches, and often several fetches.
      // Partition 0 is clean; the others add odd messages the native reader answers for
      // (1: rows and misfits, 2: rows and bad times) and 3 also ones it refuses.
      const seen = { fine: 0, misfit: 0, time: 0, refused: 0, mixed: 0 };
      for (let round = 0; round < 6; round++) {
        const messages: Array<{ partition: number; value: Buffer | null; headers?: Record<string, string> }> =
          [];
        for (let partition = 0; partition < 4; partition++) {
          for (let k = 0; k < 500; k++) {
            const i = round * 500 + k;
            let message: Message = { value: clean(partition, i) };
            if (partition > 0 && k % 40 === 7) message = answerable('fine', seen.fine++, i);
            if (partition === 1 && k % 100 === 17) message = answerable('misfit', seen.misfit++, i);
            if (partition === 2 && k % 100 === 17) message = answerable('time', seen.time++, i);
            if (partition === 3 && k % 40 === 27) {
              const kind = (['misfit', 'time', 'refused'] as const)[seen.mixed++ % 3];
              message = kind === 'refused' ? refused(seen.refused++, i) : answerable(kind, seen[kind]++, i);
            }
            messages.push({ partition, value: encode(format, message.value), headers: message.headers });
          }
        }
        // Every other round LZ4-compressed: the native reader decompresses those batches too.
        registerLz4Codec();
        const compression = round % 2 === 1 ? kafkajs.CompressionTypes.LZ4 : kafkajs.CompressionTypes.None;
        await producer.send({ topic, messages, compression });
      }
      await producer.disconnect();
    });

    after(async () => {
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    });

    it('writes the same rows and dead letters on both paths', {
      skip: nativeAddon === null ? 'native addon not built' : false,
    }, async () => {
      const ts = await run(format, topic, false);
      const native = await run(format, topic, true);
      assert.deepEqual([...native.files.keys()], [...ts.files.keys()]);
      for (const [name, text] of ts.files) assert.equal(native.files.get(name), text, name);
      const rows = [...ts.files]
        .filter(([name]) => name.startsWith('rows'))
        .map(([, text]) => text)
        .join('');
      const dead = [...ts.files]
        .filter(([name]) => name.startsWith('dead'))
        .map(([, text]) => text)
        .join('');
      assert.ok(rows.split('\n').length > 100, 'windows wrote rows');
      const codes = {
        json: ['JSON_INVALID', 'JSON_NOT_OBJECT'],
        msgpack: ['MSGPACK_INVALID', 'MSGPACK_NOT_OBJECT'],
        frame: ['FRAME_PAYLOAD_INVALID'],
      }[format];
      for (const code of [...codes, 'KAFKA_NULL_VALUE', 'TIME_INVALID', 'SCHEMA_MISFIT']) {
        assert.ok(dead.includes(code), `a ${code} dead letter`);
      }
      assert.equal(counter(ts.metrics, 'sluice_native_events_total'), 0);
      assert.equal(counter(ts.metrics, 'sluice_native_path'), 0);
      const events = counter(native.metrics, 'sluice_events_in_total');
      const onNative = counter(native.metrics, 'sluice_native_events_total');
      assert.equal(counter(native.metrics, 'sluice_native_path'), 4, 'every partition reads natively');
      assert.ok(
        onNative >= 3000,
        `the clean partition's events were read natively (${onNative} of ${events})`,
      );
      assert.ok(onNative < events, 'batches with odd messages took the TS path');
      assert.ok(counter(native.metrics, 'sluice_native_fallback_batches_total') > 0);
      assert.equal(counter(native.metrics, 'sluice_native_preaggregated_batches_total'), 0, 'two windows');
    });
    for (const windows of ['tumbling', 'hopping'] as const)
      it(`pre-aggregates batches for a lone ${windows} window, with the same output`, {
        skip: nativeAddon === null ? 'native addon not built' : false,
      }, async () => {
        const ts = await run(format, topic, false, windows);
        const native = await run(format, topic, true, windows);
        assert.deepEqual([...native.files.keys()], [...ts.files.keys()]);
        for (const [name, text] of ts.files) assert.equal(native.files.get(name), text, name);
        const late = counter(ts.metrics, 'sluice_late_events_total');
        assert.ok(late > 0, 'late events ran one by one beside the partials');
        assert.equal(counter(native.metrics, 'sluice_late_events_total'), late);
        const preaggregated = counter(native.metrics, 'sluice_native_preaggregated_batches_total');
        assert.ok(preaggregated > 0, 'batches were pre-aggregated');
        assert.ok(counter(native.metrics, 'sluice_native_events_total') >= 3000);
        assert.ok(
          counter(native.metrics, 'sluice_native_fallback_batches_total') > 0,
          'odd batches fell back',
        );
      });
  });
}
