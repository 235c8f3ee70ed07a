import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeySampler } from '../../../actors/generator/key-sampler.ts';
import { Sfc32 } from '../../../actors/generator/prng.ts';

describe('KeySampler', () => {
  it('maps the whole unit interval onto every index, first to last', () => {
    for (const skew of [0, 0.5, 1, 2]) {
      const sampler = new KeySampler(10, skew);
      assert.equal(sampler.pick(0), 0);
      assert.equal(sampler.pick(0.9999999999), 9);
    }
  });

  it('gives rank r the share 1/(r+1)^skew of the total', () => {
    const sampler = new KeySampler(3, 1); // weights 1, 1/2, 1/3 of 11/6
    assert.equal(sampler.pick(6 / 11 - 1e-9), 0);
    assert.equal(sampler.pick(6 / 11 + 1e-9), 1);
    assert.equal(sampler.pick(9 / 11 + 1e-9), 2);
  });

  it('keeps the weights of the original ranks when sampling a subset', () => {
    const sampler = new KeySampler(2, 1, [0, 9]); // weights 1 and 1/10
    assert.equal(sampler.pick(0.9), 0);
    assert.equal(sampler.pick(0.95), 1);
  });
});

describe('Sfc32', () => {
  it('repeats its sequence for a seed and yields floats in [0, 1)', () => {
    const first = new Sfc32(42);
    const second = new Sfc32(42);
    const other = new Sfc32(43);
    let differs = false;
    for (let i = 0; i < 10_000; i++) {
      const value = first.nextFloat();
      assert.equal(second.nextFloat(), value);
      assert.ok(value >= 0 && value < 1);
      if (other.nextFloat() !== value) differs = true;
    }
    assert.ok(differs);
  });

  it('has a mean near one half', () => {
    const random = new Sfc32(1);
    let sum = 0;
    for (let i = 0; i < 100_000; i++) sum += random.nextFloat();
    assert.ok(Math.abs(sum / 100_000 - 0.5) < 0.005);
  });
});

describe('KeySampler guide table', () => {
  it('picks exactly what a plain binary search over the CDF picks', () => {
    for (const [size, skew] of [
      [1, 1],
      [2, 0.3],
      [1000, 1.1],
      [5000, 3],
    ]) {
      const sampler = new KeySampler(size, skew);
      const cdf: number[] = [];
      let sum = 0;
      for (let r = 0; r < size; r++) {
        sum += 1 / (r + 1) ** skew;
        cdf.push(sum);
      }
      const random = new Sfc32(size);
      for (let i = 0; i < 20_000; i++) {
        const u = random.nextFloat();
        const target = u * sum;
        let expected = cdf.findIndex((value) => value > target);
        if (expected === -1) expected = size - 1;
        assert.equal(sampler.pick(u), expected, `size ${size} skew ${skew} u ${u}`);
      }
    }
  });
});
