import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDuration, parseSize } from '../../../runtime/topology/units.ts';

describe('parseDuration', () => {
  it('converts every unit to milliseconds', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('5s'), 5_000);
    assert.equal(parseDuration('1m'), 60_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('1d'), 86_400_000);
    assert.equal(parseDuration('0s'), 0);
  });

  it('takes a plain whole number as milliseconds', () => {
    assert.equal(parseDuration(250), 250);
    assert.equal(parseDuration(0), 0);
  });

  it('refuses negative, fractional, unitless text and unknown units', () => {
    for (const bad of [-1, 1.5, '5', '5 s', '5sec', '1.5s', 's', '', '-5s', '5S']) {
      assert.equal(parseDuration(bad), undefined, String(bad));
    }
  });
});

describe('parseSize', () => {
  it('converts binary units to bytes', () => {
    assert.equal(parseSize('1KiB'), 1024);
    assert.equal(parseSize('8MiB'), 8 * 1024 * 1024);
    assert.equal(parseSize('512MiB'), 512 * 1024 * 1024);
    assert.equal(parseSize('2GiB'), 2 * 1024 ** 3);
    assert.equal(parseSize('10B'), 10);
    assert.equal(parseSize(4096), 4096);
  });

  it('refuses decimal units, fractions and negatives', () => {
    for (const bad of ['1KB', '1MB', '1.5MiB', '-1KiB', 'MiB', -3, 2.5]) {
      assert.equal(parseSize(bad), undefined, String(bad));
    }
  });
});
