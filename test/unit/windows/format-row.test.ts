import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
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

  it('writes every row as the field-by-field rule says, whatever its order, names and values', () => {
    // The rule spelled out once, field by field: what a row must look like on the wire.
    const json = (value: unknown) => JSON.stringify(value === undefined ? null : value) ?? 'null';
    const reference = (row: OutputRow) => {
      let line = `{"window_start":${json(row.window_start)},"window_end":${json(row.window_end)}`;
      for (const field in row) {
        if (field === 'window_start' || field === 'window_end' || field === 'version') continue;
        line += `,${JSON.stringify(field)}:${json(row[field])}`;
      }
      return `${line},"version":${json(row.version)}}`;
    };
    // Own enumerable data fields, `__proto__` included, as an object literal or JSON.parse makes them.
    const define = (row: OutputRow, field: string, fieldValue: unknown) =>
      Object.defineProperty(row, field, {
        value: fieldValue,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    const value = fc.oneof(
      fc.string(),
      fc.double(),
      fc.integer(),
      fc.constantFrom(null, undefined, true, false, -0, Number.NaN, Number.POSITIVE_INFINITY),
      fc.array(fc.integer(), { maxLength: 2 }),
      fc.constant(() => 1),
    );
    const name = fc.oneof(
      fc.constantFrom('window_start', 'window_end', 'version', 'user', 'a"b', '__proto__', 'name', '1', 'é'),
      fc.string({ maxLength: 4 }),
    );
    const operatorRow = fc
      .tuple(fc.array(fc.tuple(name, value), { maxLength: 5 }), value, value, value)
      .map(([fields, start, end, version]) => {
        const row = { window_start: start, window_end: end } as unknown as OutputRow;
        for (const [field, fieldValue] of fields) define(row, field, fieldValue);
        define(row, 'version', version);
        return row;
      });
    const shuffledRow = fc.array(fc.tuple(name, value), { maxLength: 6 }).map((fields) => {
      const row = {} as OutputRow;
      for (const [field, fieldValue] of fields) define(row, field, fieldValue);
      return row;
    });
    // An enumerable inherited field: written by the rule (`for … in` sees it), never dropped.
    // The fields are copied as own data fields: an assignment to `__proto__` would change the
    // prototype instead (to a function, whose read-only `name` a later field could not be set on).
    const inheritedRow = operatorRow.map(
      (row) =>
        Object.defineProperties(
          Object.create({ inherited: 'x' }),
          Object.getOwnPropertyDescriptors(row),
        ) as OutputRow,
    );
    fc.assert(
      fc.property(fc.oneof(operatorRow, shuffledRow, inheritedRow), (row) => {
        assert.equal(formatRow(row), reference(row));
      }),
      { numRuns: 2000 },
    );
  });
});
