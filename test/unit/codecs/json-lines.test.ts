import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeJsonLines, type JsonLineRecord, JsonLinesDecoder } from '../../../actors/codecs/json-lines.ts';

const bytes = (text: string) => Buffer.from(text, 'utf8');

function decodeInChunks(input: Buffer, cuts: number[], maxLineBytes?: number): JsonLineRecord[] {
  const decoder = new JsonLinesDecoder({ maxLineBytes });
  const out: JsonLineRecord[] = [];
  let previous = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    out.push(...decoder.push(input.subarray(previous, cut)));
    previous = cut;
  }
  out.push(...decoder.push(input.subarray(previous)));
  out.push(...decoder.end());
  return out;
}

describe('JsonLinesDecoder', () => {
  it('gives each event its line number, byte offset and the offset of the next line', () => {
    const records = decodeJsonLines(bytes('{"a":1}\n{"b":22}\n'));
    assert.deepEqual(records, [
      { kind: 'event', event: { a: 1 }, line: 1, offset: 0, nextOffset: 8 },
      { kind: 'event', event: { b: 22 }, line: 2, offset: 8, nextOffset: 17 },
    ]);
  });

  it('accepts CRLF line endings', () => {
    const records = decodeJsonLines(bytes('{"a":1}\r\n{"a":2}\r\n'));
    assert.deepEqual(
      records.map((r) => [r.kind, r.line, r.offset, r.nextOffset]),
      [
        ['event', 1, 0, 9],
        ['event', 2, 9, 18],
      ],
    );
  });

  it('skips empty and blank lines but still counts them in positions', () => {
    const records = decodeJsonLines(bytes('\n{"a":1}\n\r\n   \n{"a":2}\n'));
    assert.deepEqual(
      records.map((r) => [r.line, r.offset]),
      [
        [2, 1],
        [5, 15],
      ],
    );
  });

  it('decodes a last line that has no terminator when the input ends', () => {
    const decoder = new JsonLinesDecoder();
    assert.deepEqual(decoder.push(bytes('{"a":1}\n{"a":2}')).length, 1);
    assert.equal(decoder.nextOffset, 8);
    const last = decoder.end();
    assert.deepEqual(last, [{ kind: 'event', event: { a: 2 }, line: 2, offset: 8, nextOffset: 15 }]);
    assert.equal(decoder.nextOffset, 15);
  });

  it('skips a UTF-8 BOM at the start of the stream, even when it is split across chunks', () => {
    const input = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes('{"a":1}\n{"a":2}\n')]);
    for (const cut of [1, 2, 3, 5]) {
      const records = decodeInChunks(input, [cut]);
      assert.deepEqual(
        records.map((r) => [r.kind, r.offset]),
        [
          ['event', 0],
          ['event', 11],
        ],
      );
    }
  });

  it('does not skip a BOM when resuming in the middle of a file', () => {
    const input = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes('{"a":1}\n')]);
    const [record] = decodeJsonLines(input, 7, 100);
    assert.equal(record.kind, 'dead');
    assert.equal(record.line, 7);
    assert.equal(record.offset, 100);
  });

  it('turns bad JSON and non-objects into dead letters with reason and raw bytes, and goes on', () => {
    const records = decodeJsonLines(bytes('{"a":1}\nnot json\n[1,2]\n{"a":2}\n'));
    assert.deepEqual(
      records.map((r) => (r.kind === 'dead' ? [r.code, r.raw.toString(), r.line] : ['event', r.line])),
      [
        ['event', 1],
        ['JSON_INVALID', 'not json', 2],
        ['JSON_NOT_OBJECT', '[1,2]', 3],
        ['event', 4],
      ],
    );
  });

  it('turns a line over maxLineBytes into one LINE_TOO_LONG dead letter and keeps at most the limit', () => {
    const long = `{"a":"${'x'.repeat(5000)}"}`;
    const input = bytes(`{"a":1}\n${long}\n{"a":2}\n`);
    const cuts = [];
    for (let at = 7; at < input.length; at += 100) cuts.push(at);
    const records = decodeInChunks(input, cuts, 1000);
    assert.equal(records.length, 3);
    const dead = records[1];
    assert.equal(dead.kind, 'dead');
    if (dead.kind !== 'dead') return;
    assert.equal(dead.code, 'LINE_TOO_LONG');
    assert.equal(dead.reason, `line of ${long.length} bytes exceeds the limit of 1000 bytes`);
    assert.equal(dead.raw.length, 1000);
    assert.equal(dead.offset, 8);
    assert.equal(dead.nextOffset, 8 + long.length + 1);
    assert.deepEqual(records[2], {
      kind: 'event',
      event: { a: 2 },
      line: 3,
      offset: 8 + long.length + 1,
      nextOffset: input.length,
    });
  });

  it('accepts a line of exactly maxLineBytes, with or without CR', () => {
    const line = `{"a":"${'x'.repeat(12)}"}`; // 20 bytes
    assert.equal(decodeJsonLines(bytes(`${line}\n`), 1, 0, { maxLineBytes: 20 })[0].kind, 'event');
    assert.equal(decodeJsonLines(bytes(`${line}\r\n`), 1, 0, { maxLineBytes: 20 })[0].kind, 'event');
    assert.equal(decodeJsonLines(bytes(`${line} \n`), 1, 0, { maxLineBytes: 20 })[0].kind, 'dead');
  });

  it('keeps memory bounded on a 20 MB line without a newline', () => {
    const decoder = new JsonLinesDecoder({ maxLineBytes: 4096 });
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    for (let i = 0; i < 320; i++) assert.deepEqual(decoder.push(chunk), []);
    const [dead] = decoder.end();
    assert.equal(dead.kind, 'dead');
    if (dead.kind === 'dead') assert.equal(dead.raw.length, 4096);
    assert.equal(dead.nextOffset, 320 * 64 * 1024);
  });

  it('gives the same records however the input is cut into chunks', () => {
    const line = fc.oneof(
      fc.record({ k: fc.string(), n: fc.integer() }).map((o) => JSON.stringify(o)),
      fc.constantFrom('', '   ', 'garbage', '[1]', `{"long":"${'y'.repeat(80)}"}`, '{"é":"日本"}'),
    );
    const input = fc
      .tuple(fc.array(line, { maxLength: 20 }), fc.constantFrom('\n', '\r\n'), fc.boolean())
      .map(([lines, eol, trailing]) => bytes(lines.join(eol) + (trailing ? eol : '')));
    fc.assert(
      fc.property(
        input.chain((buf) =>
          fc.tuple(
            fc.constant(buf),
            fc.uniqueArray(fc.integer({ min: 0, max: buf.length }), { maxLength: 12 }),
          ),
        ),
        ([buf, cuts]) => {
          assert.deepEqual(decodeInChunks(buf, cuts, 64), decodeJsonLines(buf, 1, 0, { maxLineBytes: 64 }));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('continues line numbers and offsets from where a previous run stopped', () => {
    const [record] = decodeJsonLines(bytes('{"a":1}\n'), 41, 1234);
    assert.deepEqual(record, { kind: 'event', event: { a: 1 }, line: 41, offset: 1234, nextOffset: 1242 });
  });

  it('refuses pushes after end()', () => {
    const decoder = new JsonLinesDecoder();
    decoder.end();
    assert.throws(() => decoder.push(bytes('{}\n')));
  });
});

describe('JsonLinesDecoder and caller buffers', () => {
  it('lets the caller reuse its read buffer once push() returns', () => {
    const decoder = new JsonLinesDecoder();
    const readBuffer = Buffer.alloc(16);
    const feed = (text: string) => {
      readBuffer.fill(0x20);
      const length = readBuffer.write(text);
      return decoder.push(readBuffer.subarray(0, length));
    };
    assert.deepEqual(feed('{"a":1}\n{"b":'), [
      { kind: 'event', event: { a: 1 }, line: 1, offset: 0, nextOffset: 8 },
    ]);
    assert.deepEqual(feed('"xyz"}\n'), [
      { kind: 'event', event: { b: 'xyz' }, line: 2, offset: 8, nextOffset: 20 },
    ]);
  });
});
