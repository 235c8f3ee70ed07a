import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { murmur2, murmur2Key, partitionForKey, toPositive } from '../../../actors/codecs/murmur2.ts';

const require = createRequire(import.meta.url);
const kafkajsMurmur2: (
  key: string | Buffer,
) => number = require('kafkajs/src/producer/partitioners/default/murmur2.js');

describe('murmur2', () => {
  it("matches the vectors of Kafka's own UtilsTest", () => {
    const vectors: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, expected] of vectors) {
      assert.equal(murmur2(Buffer.from(key)), expected, key);
      assert.equal(murmur2Key(key), expected, key);
    }
  });

  it("agrees with kafkajs's default partitioner hash on random string keys", () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (key) => {
        assert.equal(murmur2Key(key), kafkajsMurmur2(key));
      }),
      { numRuns: 3000 },
    );
  });

  it("agrees with kafkajs's hash on random byte keys", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        assert.equal(murmur2(bytes), kafkajsMurmur2(Buffer.from(bytes)));
        assert.equal(murmur2Key(bytes), kafkajsMurmur2(Buffer.from(bytes)));
      }),
      { numRuns: 3000 },
    );
  });

  it('hashes an ASCII key the same whether given as a string or as bytes', () => {
    for (let i = 0; i < 1000; i++) {
      const key = `u${i}`;
      assert.equal(murmur2Key(key), murmur2(Buffer.from(key)));
    }
  });

  it('hashes non-ASCII and long keys by their UTF-8 bytes', () => {
    for (const key of ['ünïcødé', '日本語のキー', '🚀 rocket', 'x'.repeat(1000), `${'a'.repeat(255)}é`]) {
      assert.equal(murmur2Key(key), kafkajsMurmur2(key), key);
    }
  });

  it('hashes only the given length of a byte array', () => {
    const bytes = Buffer.from('foobarXYZ');
    assert.equal(murmur2(bytes, 6), murmur2(Buffer.from('foobar')));
  });
});

describe('toPositive', () => {
  it('clears the sign bit like Kafka does, mapping MIN_VALUE to 0', () => {
    assert.equal(toPositive(-2147483648), 0);
    assert.equal(toPositive(-1), 0x7fffffff);
    assert.equal(toPositive(42), 42);
  });
});

describe('partitionForKey', () => {
  it('picks the partition Kafka would pick: toPositive(murmur2) modulo the partition count', () => {
    assert.equal(partitionForKey('foobar', 8), toPositive(-790332482) % 8);
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 1000 }), (key, partitions) => {
        const partition = partitionForKey(key, partitions);
        assert.equal(partition, toPositive(kafkajsMurmur2(key)) % partitions);
        assert.ok(partition >= 0 && partition < partitions);
      }),
    );
  });
});
