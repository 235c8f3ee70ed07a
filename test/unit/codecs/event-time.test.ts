import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseEventTime } from '../../../actors/codecs/event-time.ts';

describe('parseEventTime', () => {
  it('returns a finite number unchanged as ms since the epoch', () => {
    assert.equal(parseEventTime(1714564800123), 1714564800123);
    assert.equal(parseEventTime(0), 0);
    assert.equal(parseEventTime(-5), -5);
    assert.equal(parseEventTime(12.5), 12.5);
  });

  it('refuses NaN and infinities', () => {
    assert.equal(parseEventTime(Number.NaN), undefined);
    assert.equal(parseEventTime(Number.POSITIVE_INFINITY), undefined);
    assert.equal(parseEventTime(Number.NEGATIVE_INFINITY), undefined);
  });

  it('reads ISO-8601 with Z, offsets and fractional seconds', () => {
    const noon = Date.UTC(2024, 4, 1, 12);
    assert.equal(parseEventTime('2024-05-01T12:00:00Z'), noon);
    assert.equal(parseEventTime('2024-05-01T12:00:00z'), noon);
    assert.equal(parseEventTime('2024-05-01T14:00:00+02:00'), noon);
    assert.equal(parseEventTime('2024-05-01T14:00:00+0200'), noon);
    assert.equal(parseEventTime('2024-05-01T14:00:00+02'), noon);
    assert.equal(parseEventTime('2024-05-01T06:30:00-05:30'), noon);
    assert.equal(parseEventTime('2024-05-01T12:00:00.5Z'), noon + 500);
    assert.equal(parseEventTime('2024-05-01T12:00:00.123Z'), noon + 123);
    assert.equal(parseEventTime('2024-05-01T12:00:00,123Z'), noon + 123);
    assert.equal(parseEventTime('2024-05-01T12:00:00.123999999Z'), noon + 123);
    assert.equal(parseEventTime('2024-05-01T12:00Z'), noon);
  });

  it('reads a string without an offset as UTC, whatever the machine time zone', () => {
    const noon = Date.UTC(2024, 4, 1, 12);
    assert.equal(parseEventTime('2024-05-01T12:00:00'), noon);
    assert.equal(parseEventTime('2024-05-01 12:00:00'), noon);
    assert.equal(parseEventTime('2024-05-01'), Date.UTC(2024, 4, 1));
  });

  it('reads years below 100 as written, not as 19xx', () => {
    assert.equal(parseEventTime('0099-01-01T00:00:00Z'), Date.parse('0099-01-01T00:00:00Z'));
  });

  it('agrees with Date.prototype.toISOString on random instants', () => {
    fc.assert(
      fc.property(fc.integer({ min: -62_000_000_000_000, max: 253_000_000_000_000 }), (ms) => {
        assert.equal(parseEventTime(new Date(ms).toISOString()), ms);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses numeric strings, because seconds and milliseconds cannot be told apart', () => {
    assert.equal(parseEventTime('1714564800000'), undefined);
    assert.equal(parseEventTime('1714564800'), undefined);
  });

  it('refuses impossible dates and times', () => {
    for (const text of [
      '2024-02-30T00:00:00Z',
      '2023-02-29T00:00:00Z',
      '2024-13-01T00:00:00Z',
      '2024-00-10T00:00:00Z',
      '2024-05-01T24:00:00Z',
      '2024-05-01T12:60:00Z',
      '2024-05-01T12:00:60Z',
      '2024-05-01T12:00:00+24:00',
      '2024-05-01T12:00:00+02:60',
    ]) {
      assert.equal(parseEventTime(text), undefined, text);
    }
    assert.equal(parseEventTime('2024-02-29T00:00:00Z'), Date.UTC(2024, 1, 29));
  });

  it('refuses the loose formats Date.parse would guess at', () => {
    for (const text of [
      'May 1 2024',
      'Wed, 01 May 2024 12:00:00 GMT',
      '2024/05/01',
      '2024-5-1',
      '',
      'soon',
    ]) {
      assert.equal(parseEventTime(text), undefined, text);
    }
  });

  it('reads Dates and safe bigints, refuses other types', () => {
    assert.equal(parseEventTime(new Date(1714564800123)), 1714564800123);
    assert.equal(parseEventTime(new Date(Number.NaN)), undefined);
    assert.equal(parseEventTime(1714564800123n), 1714564800123);
    assert.equal(parseEventTime(2n ** 60n), undefined);
    for (const value of [null, undefined, true, {}, [], { ts: 1 }]) {
      assert.equal(parseEventTime(value), undefined);
    }
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        const ms = parseEventTime(value);
        assert.ok(ms === undefined || Number.isFinite(ms));
      }),
    );
    fc.assert(
      fc.property(fc.string(), (text) => {
        const ms = parseEventTime(text);
        assert.ok(ms === undefined || Number.isFinite(ms));
      }),
    );
  });
});
