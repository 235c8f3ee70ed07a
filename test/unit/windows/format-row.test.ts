import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatRow, type OutputRow } from '../../../actors/windows/index.ts';

describe('formatRow', () => {
  it('writes window_start and window_end first and version last, whatever the object order', () => {
    const row = { version: 2, user: 'a', window_end: 60_000, events: 3, window_start: 0 } as OutputRow;
    assert.equal(formatRow(row), '{"window_start":0,"window_end":60000,"user":"a","events":3,"version":2}');
  });

  it('keeps key and aggregate fields in insertion order', () => {
    const row: OutputRow = {
      window_start: 0,
      window_end: 10,
      region: 'eu',
      user: 1,
      total: null,
      version: 1,
    };
    assert.equal(
      formatRow(row),
      '{"window_start":0,"window_end":10,"region":"eu","user":1,"total":null,"version":1}',
    );
  });

  it('escapes field names and writes undefined as null, with no trailing newline', () => {
    const row: OutputRow = { window_start: 0, window_end: 10, 'a"b': 'x\ny', missing: undefined, version: 1 };
    const line = formatRow(row);
    assert.equal(line, '{"window_start":0,"window_end":10,"a\\"b":"x\\ny","missing":null,"version":1}');
    assert.deepEqual(JSON.parse(line), {
      window_start: 0,
      window_end: 10,
      'a"b': 'x\ny',
      missing: null,
      version: 1,
    });
  });
});
