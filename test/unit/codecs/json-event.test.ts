import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeJsonEvent } from '../../../actors/codecs/json-event.ts';

describe('decodeJsonEvent', () => {
  it('returns a JSON object as the event', () => {
    assert.deepEqual(decodeJsonEvent('{"user_id":"u1","ts":5}'), { event: { user_id: 'u1', ts: 5 } });
  });

  it('refuses text that is not JSON with JSON_INVALID and the parser message', () => {
    const result = decodeJsonEvent('{"user_id":');
    assert.ok('code' in result);
    assert.equal(result.code, 'JSON_INVALID');
    assert.match(result.reason, /^invalid JSON: /);
  });

  it('refuses arrays, scalars and null with JSON_NOT_OBJECT naming what was found', () => {
    for (const [text, found] of [
      ['[1,2]', 'array'],
      ['"x"', 'string'],
      ['42', 'number'],
      ['true', 'boolean'],
      ['null', 'null'],
    ]) {
      const result = decodeJsonEvent(text);
      assert.ok('code' in result, text);
      assert.equal(result.code, 'JSON_NOT_OBJECT');
      assert.equal(result.reason, `expected a JSON object, got ${found}`);
    }
  });

  it('does not let a __proto__ key change the prototype of the event', () => {
    const result = decodeJsonEvent('{"__proto__":{"polluted":1},"a":1}');
    assert.ok('event' in result);
    assert.equal(Object.getPrototypeOf(result.event), Object.prototype);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});
