import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePgArray } from '../../../actors/cdc/pg-array.ts';
import { convertPgValue } from '../../../actors/cdc/pg-values.ts';

describe('Postgres values become Debezium JSON values', () => {
  it('integers are numbers and a bigint beyond 2^53 stays an exact string', () => {
    assert.equal(convertPgValue('42', 23), 42);
    assert.equal(convertPgValue('-7', 21), -7);
    assert.equal(convertPgValue('9007199254740993', 20), '9007199254740993');
    assert.equal(convertPgValue('123', 20), 123);
  });

  it('numerics are exact strings and floats are numbers', () => {
    assert.equal(convertPgValue('12345678901234567890.000001', 1700), '12345678901234567890.000001');
    assert.equal(convertPgValue('1.5', 701), 1.5);
    assert.equal(convertPgValue('NaN', 701), 'NaN');
  });

  it('booleans, text, uuid and json keep their meaning', () => {
    assert.equal(convertPgValue('t', 16), true);
    assert.equal(convertPgValue('f', 16), false);
    assert.equal(convertPgValue('héllo', 25), 'héllo');
    assert.equal(
      convertPgValue('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 2950),
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    );
    assert.equal(convertPgValue('{"a": 1}', 3802), '{"a": 1}');
  });

  it('NULL is null whatever the type', () => {
    assert.equal(convertPgValue(null, 23), null);
    assert.equal(convertPgValue(null, 1184), null);
  });

  it('dates are days since the epoch and times microseconds since midnight', () => {
    assert.equal(convertPgValue('1970-01-02', 1082), 1);
    assert.equal(convertPgValue('2024-03-01', 1082), 19783);
    assert.equal(convertPgValue('1969-12-31', 1082), -1);
    assert.equal(convertPgValue('01:00:00.5', 1083), 3_600_500_000);
  });

  it('timestamps without time zone are microseconds (or ms for precision <= 3) since the epoch', () => {
    assert.equal(convertPgValue('2024-03-01 12:34:56.123456', 1114), 1709296496123456);
    assert.equal(convertPgValue('2024-03-01 12:34:56.123', 1114, 3), 1709296496123);
    assert.equal(convertPgValue('1970-01-01 00:00:00', 1114), 0);
  });

  it('timestamps with time zone become ISO-8601 in UTC with trailing zeros trimmed', () => {
    assert.equal(convertPgValue('2024-03-01 12:34:56.1+02', 1184), '2024-03-01T10:34:56.1Z');
    assert.equal(convertPgValue('2024-03-01 00:00:00+05:30', 1184), '2024-02-29T18:30:00Z');
    assert.equal(convertPgValue('2024-03-01 12:00:00.000123+00', 1184), '2024-03-01T12:00:00.000123Z');
  });

  it('bytea becomes base64', () => {
    assert.equal(convertPgValue('\\x010203', 17), 'AQID');
  });

  it('arrays become JSON arrays with their elements converted, NULLs kept', () => {
    assert.deepEqual(convertPgValue('{1,2,NULL}', 1007), [1, 2, null]);
    assert.deepEqual(convertPgValue('{"a b","c\\"d",NULL,"NULL"}', 1009), ['a b', 'c"d', null, 'NULL']);
    assert.deepEqual(convertPgValue('{{1,2},{3,4}}', 1007), [
      [1, 2],
      [3, 4],
    ]);
    assert.deepEqual(convertPgValue('{}', 1009), []);
    assert.deepEqual(convertPgValue('{t,f}', 1000), [true, false]);
  });

  it('an array with an explicit lower bound parses from its braces', () => {
    assert.deepEqual(parsePgArray('[0:1]={7,8}'), ['7', '8']);
  });
});
