import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createKeyEncoder, keyGroup, keyOrder } from '../../../actors/windows/group-key.ts';
import { KeyDictionary } from '../../../actors/windows/key-dictionary.ts';

const encode = createKeyEncoder(['k']);

function intern(dictionary: KeyDictionary, k: unknown): number {
  const event = { k };
  const id = dictionary.intern(encode(event), event);
  return id;
}

function sortedKeys(dictionary: KeyDictionary): unknown[] {
  return dictionary.sortedIds().map((id) => dictionary.values[id][0]);
}

describe('key dictionary', () => {
  it('gives a key the same id every time it is interned', () => {
    const dictionary = new KeyDictionary(['k']);
    const a = intern(dictionary, 'a');
    assert.equal(intern(dictionary, 'a'), a);
    assert.notEqual(intern(dictionary, 1), intern(dictionary, '1'));
  });

  it('lists live keys in output order, merging keys added after a sort', () => {
    const dictionary = new KeyDictionary(['k']);
    for (const k of ['m', 'c', 1, 'x']) dictionary.retain(intern(dictionary, k));
    assert.deepEqual(sortedKeys(dictionary), ['c', 'm', 'x', 1]);
    for (const k of ['a', 'n', null]) dictionary.retain(intern(dictionary, k));
    assert.deepEqual(sortedKeys(dictionary), ['a', 'c', 'm', 'n', 'x', 1, null]);
    const expected = ['a', 'c', 'm', 'n', 'x', 1, null].map((k) => keyOrder([k]));
    assert.deepEqual(
      dictionary.sortedIds().map((id) => dictionary.order(id)),
      expected,
    );
  });

  it('forgets a key when its last window releases it and reuses the id in the right place', () => {
    const dictionary = new KeyDictionary(['k']);
    const b = intern(dictionary, 'b');
    dictionary.retain(b);
    dictionary.retain(b);
    dictionary.retain(intern(dictionary, 'd'));
    assert.deepEqual(sortedKeys(dictionary), ['b', 'd']);
    dictionary.release(b);
    assert.equal(dictionary.size, 2, 'still held by a second window');
    dictionary.release(b);
    assert.equal(dictionary.size, 1);
    assert.deepEqual(sortedKeys(dictionary), ['d']);
    const e = intern(dictionary, 'e');
    assert.equal(e, b, 'the freed id is reused');
    dictionary.retain(e);
    const a = intern(dictionary, 'a');
    dictionary.retain(a);
    assert.deepEqual(sortedKeys(dictionary), ['a', 'd', 'e']);
  });

  it('does not list a key that was freed and re-interned twice before a sort', () => {
    const dictionary = new KeyDictionary(['k']);
    const x = intern(dictionary, 'x');
    dictionary.retain(x);
    dictionary.release(x);
    const y = intern(dictionary, 'y');
    dictionary.retain(y);
    dictionary.release(y);
    dictionary.retain(intern(dictionary, 'z'));
    assert.deepEqual(sortedKeys(dictionary), ['z']);
  });

  it('finds keys loaded unindexed, lists them in order and forgets them when released', () => {
    const dictionary = new KeyDictionary(['k']);
    const loaded = ['q', 'b', 'z', 'a'].map((k) => {
      const id = dictionary.addUnindexed(k, [k], keyGroup(k));
      dictionary.retain(id);
      return id;
    });
    dictionary.retain(intern(dictionary, 'm'));
    assert.equal(dictionary.size, 5);
    assert.deepEqual(sortedKeys(dictionary), ['a', 'b', 'm', 'q', 'z']);
    assert.equal(dictionary.idOf('z'), loaded[2]);
    assert.equal(intern(dictionary, 'a'), loaded[3], 'an unindexed key is not added twice');
    assert.equal(dictionary.idOf('y'), undefined);
    dictionary.release(loaded[1]);
    assert.equal(dictionary.idOf('b'), undefined, 'released before it was indexed');
    assert.equal(dictionary.size, 4);
    const c = intern(dictionary, 'c');
    assert.equal(c, loaded[1], 'the freed id is reused');
    dictionary.retain(c);
    assert.deepEqual(sortedKeys(dictionary), ['a', 'c', 'm', 'q', 'z']);
    for (const id of [loaded[0], loaded[2], loaded[3]]) dictionary.release(id);
    assert.deepEqual(sortedKeys(dictionary), ['c', 'm']);
    assert.equal(dictionary.size, 2);
  });

  it('releases the keys of a window together as one by one, all at once when they were the last ones', () => {
    // Two windows over keys a…e; the first holds a, b, d (and a freed slot -1), the second all five.
    const scenario = (releaseFirst: (dictionary: KeyDictionary, ids: number[]) => void) => {
      const dictionary = new KeyDictionary(['k']);
      const ids = ['c', 'a', 'e', 'b', 'd'].map((k) => intern(dictionary, k));
      const first = [ids[1], -1, ids[3], ids[4]];
      for (const id of first) if (id >= 0) dictionary.retain(id);
      for (const id of ids) dictionary.retain(id);
      dictionary.sortedIds();
      const seen: unknown[] = [];
      releaseFirst(dictionary, first);
      seen.push(
        dictionary.size,
        sortedKeys(dictionary),
        ids.map((id, i) => dictionary.idOf(encode({ k: 'caebd'[i] })) === id),
      );
      releaseFirst(dictionary, [ids[2], -1, ids[0], ids[1], ids[3], ids[4]]);
      seen.push(dictionary.size, sortedKeys(dictionary), dictionary.idOf(encode({ k: 'a' })));
      // Freed ids come back in the same order, and the new keys sort as before.
      const again = ['z', 'y', 'a'].map((k) => intern(dictionary, k));
      for (const id of again) dictionary.retain(id);
      seen.push(again, sortedKeys(dictionary), dictionary.size);
      return seen;
    };
    const oneByOne = scenario((dictionary, ids) => {
      for (const id of ids) if (id >= 0) dictionary.release(id);
    });
    assert.deepEqual(
      scenario((dictionary, ids) => dictionary.releaseMany(ids)),
      oneByOne,
    );
    assert.deepEqual(oneByOne.slice(0, 4), [5, ['a', 'b', 'c', 'd', 'e'], [true, true, true, true, true], 0]);
  });
});
