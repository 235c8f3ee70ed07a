/**
 * A file source read by the same job twice: on the native path (the reader sends the
 * lines themselves, their keys read natively; the worker pre-aggregates them or reads
 * only the windows' fields) and with SLUICE_NATIVE=0 (the reader decodes every line with
 * `JSON.parse` and sends the events). Both must give byte-identical rows and dead letters.
 * The file holds clean events and every kind of odd line — a BOM, CRLF, blank lines,
 * invalid JSON or UTF-8, other top-level values, a missing, numeric, boolean, escaped or
 * object key, missing or ISO times, misfits, escapes, a line over the length limit, events
 * behind the watermark — spread over several read chunks and batches.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nativeAddon } from '../../../native/index.ts';
import { counter, runOnPath, type Windows, windowsAndSinks } from '../helpers/native-paths.ts';

const START = Date.UTC(2026, 0, 1);

/** A clean event; every 50th arrives 12 s behind (a fired window, re-fired) or 30 s (late). */
function clean(i: number): string {
  const behind = { 13: 12_000, 29: 30_000 }[i % 50] ?? 0;
  return JSON.stringify({
    user_id: `u${(i * 7) % 23}`,
    ts: START + i * 37 - behind,
    amount: (i % 13) * 1.25 - 3,
    page: `/p/${i % 5}`,
    extra: { nested: [i, { deep: 'é' }] },
  });
}

/** Odd lines, by what the TS path makes of them. */
function odd(n: number, i: number): string | Buffer {
  const ts = START + i * 37;
  const cases: Array<string | Buffer> = [
    '{"user_id": "u1", "ts": ', // invalid JSON
    '[1, 2, 3]', // not an object
    '42',
    `{"ts": ${ts}, "amount": 1}`, // no key
    `{"user_id": null, "ts": ${ts}, "amount": 1}`,
    `{"user_id": 7, "ts": ${ts}, "amount": 2}`, // numeric key
    `{"user_id": 7.50, "ts": ${ts}, "amount": 2}`,
    `{"user_id": true, "ts": ${ts}, "amount": 2}`,
    `{"user_id": {"id": 3}, "ts": ${ts}, "amount": 2}`, // object key: JSON.stringify'd
    `{"user_id": "u\\u0031", "ts": ${ts}, "amount": 3}`, // escaped key text
    `{"user_id": "u2", "ts": "2026-01-01T00:00:0${i % 10}Z", "amount": 3}`, // ISO time
    `{"user_id": "u3", "amount": 3}`, // no time
    `{"user_id": "u4", "ts": ${ts}, "amount": "lots"}`, // misfit
    `{"user_id": "u5", "ts": ${ts}, "amount": 4, "user_id": "u6"}`, // repeated name
    `   {"user_id": "é", "ts": ${ts}, "amount": 5}   `,
    `{"user_id": "u7", "ts": ${ts}, "amount": 1e2, "page": "a\\"b\\n"}`,
    Buffer.concat([
      Buffer.from(`{"user_id": "u8", "ts": ${ts}, "page": "`),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}'),
    ]),
    ' \t ',
    '',
  ];
  return cases[n % cases.length];
}

async function writeInput(path: string): Promise<void> {
  const parts: Buffer[] = [Buffer.from([0xef, 0xbb, 0xbf])];
  let odds = 0;
  for (let i = 0; i < 12_000; i++) {
    // Mostly clean stretches (batches the native path takes whole), then odd lines.
    const line = i % 3000 >= 2960 ? odd(odds++, i) : clean(i);
    parts.push(typeof line === 'string' ? Buffer.from(line) : line, Buffer.from(i % 9 === 4 ? '\r\n' : '\n'));
    if (i === 6_000)
      parts.push(Buffer.from(`{"user_id": "u9", "ts": ${START}, "pad": "${'x'.repeat(1_100_000)}"}\n`));
  }
  await writeFile(path, Buffer.concat(parts));
}

function topology(dir: string, partitions: number, windows: Windows): string {
  return `name: file-native-lines
workers: 2
batch: { size: 700 }
state: { dir: ${join(dir, 'state')} }
sources:
  events:
    type: file
    path: ${join(dir, 'events.jsonl')}
    partitions: ${partitions}
    key: user_id
    time: { field: ts, maxOutOfOrder: 2s }
${windowsAndSinks(dir, windows)}`;
}

/** Runs the job over a copy of `input` to its end; returns its output files and metrics. */
function run(input: string, native: boolean, partitions: number, windows: Windows) {
  return runOnPath(
    native,
    (dir) => topology(dir, partitions, windows),
    async (dir) => writeFile(join(dir, 'events.jsonl'), await readFile(input)),
  );
}

/** Every dead letter's code, counted. */
function deadCodes(files: Map<string, string>): Map<string, number> {
  const codes = new Map<string, number>();
  for (const [name, text] of files) {
    if (!name.startsWith('dead')) continue;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const { code } = JSON.parse(line) as { code: string };
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
  }
  return codes;
}

describe('a file source on the native path and the TS path', { timeout: 240_000 }, () => {
  let dir = '';
  let input = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-file-lines-input-'));
    input = join(dir, 'events.jsonl');
    await writeInput(input);
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const [partitions, windows] of [
    [3, 'tumbling'],
    [3, 'both'],
    [3, 'hopping'],
    [1, 'tumbling'],
  ] as const) {
    it(`${partitions} partition(s), ${{ both: 'a tumbling and a session window', tumbling: 'one tumbling window', hopping: 'one hopping window' }[windows]}: the same rows and dead letters`, {
      skip: nativeAddon === null ? 'native addon not built' : false,
    }, async () => {
      const ts = await run(input, false, partitions, windows);
      const native = await run(input, true, partitions, windows);
      assert.deepEqual([...native.files.keys()], [...ts.files.keys()]);
      for (const [name, text] of ts.files) assert.equal(native.files.get(name), text, name);
      const rows = [...ts.files].filter(([name]) => name.startsWith('rows')).map(([, text]) => text);
      assert.ok(rows.join('').split('\n').length > 100, 'windows wrote rows');
      const codes = deadCodes(ts.files);
      for (const code of [
        'JSON_INVALID',
        'JSON_NOT_OBJECT',
        'LINE_TOO_LONG',
        'TIME_INVALID',
        'SCHEMA_MISFIT',
      ]) {
        assert.ok((codes.get(code) ?? 0) > 0, `dead letters hold ${code}: ${[...codes.keys()]}`);
      }
      assert.equal(
        (codes.get('KEY_MISSING') ?? 0) > 0,
        partitions > 1,
        'a missing key is a dead letter with several partitions',
      );
      for (const name of ['sluice_late_events_total', 'sluice_dead_letters_total']) {
        assert.equal(counter(native.metrics, name), counter(ts.metrics, name), name);
      }
      assert.ok(counter(native.metrics, 'sluice_native_events_total') > 0, 'the native path read events');
      assert.equal(counter(ts.metrics, 'sluice_native_events_total'), 0);
      assert.equal(
        counter(native.metrics, 'sluice_native_preaggregated_batches_total') > 0,
        windows !== 'both',
        'batches for a lone tumbling or hopping window pre-aggregate',
      );
    });
  }
});
