import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compareCodeUnits,
  createKeyEncoder,
  keyOrder,
  keyValues,
} from '../../../actors/windows/group-key.ts';

describe('group keys', () => {
  it('keeps the string "1", the number 1, true, null and a missing field apart for one field', () => {
    const encode = createKeyEncoder(['k']);
    const keys = [{ k: '1' }, { k: 1 }, { k: true }, { k: 'true' }, { k: null }, { k: 'null' }, { k: '' }];
    assert.equal(new Set(keys.map(encode)).size, keys.length);
    assert.equal(encode({}), encode({ k: null }));
  });

  it('uses a plain string as its own key, and escapes one that starts with the marker', () => {
    const encode = createKeyEncoder(['k']);
    assert.equal(encode({ k: 'user-7' }), 'user-7');
    assert.notEqual(encode({ k: '\u00011' }), encode({ k: 1 }));
    assert.notEqual(encode({ k: '\u0001\u00011' }), encode({ k: '\u00011' }));
  });

  it('keeps tuples apart even when a value contains the separator', () => {
    const encode = createKeyEncoder(['a', 'b']);
    assert.notEqual(encode({ a: 'x,"y"', b: 'z' }), encode({ a: 'x', b: 'y","z' }));
    assert.notEqual(encode({ a: 1, b: '1' }), encode({ a: '1', b: 1 }));
    assert.equal(encode({ a: 1 }), encode({ a: 1, b: null }));
  });

  it('encodes an empty groupBy as one key', () => {
    const encode = createKeyEncoder([]);
    assert.equal(encode({ a: 1 }), encode({ b: 2 }));
  });

  it('reads missing fields as null in the key values', () => {
    assert.deepEqual(keyValues(['a', 'b'], { b: 2 }), [null, 2]);
  });

  it('orders keys by the JSON of their tuple compared by UTF-16 code units', () => {
    const keys = [['b'], [1], ['1'], [null], ['a '], ['a'], ['\u{1F600}'], ['\uFF5E']].map(keyOrder);
    const sorted = [...keys].sort(compareCodeUnits);
    assert.deepEqual(sorted, [
      '["1"]',
      '["a "]',
      '["a"]',
      '["b"]',
      '["\u{1F600}"]',
      '["\uFF5E"]',
      '[1]',
      '[null]',
    ]);
  });
});
