import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAggregate } from '../../../runtime/topology/aggregate-expression.ts';

describe('parseAggregate', () => {
  it('parses count() without a field', () => {
    assert.deepEqual(parseAggregate('events', 'count()'), { name: 'events', fn: 'count' });
  });

  it('parses every field function with its field', () => {
    for (const fn of ['sum', 'min', 'max', 'avg', 'count_distinct', 'first', 'last']) {
      assert.deepEqual(parseAggregate('out', `${fn}(amount)`), { name: 'out', fn, field: 'amount' });
    }
  });

  it('tolerates whitespace and accepts dotted field paths', () => {
    assert.deepEqual(parseAggregate('a', '  sum ( order.total )  '), {
      name: 'a',
      fn: 'sum',
      field: 'order.total',
    });
    assert.deepEqual(parseAggregate('c', 'count( )'), { name: 'c', fn: 'count' });
  });

  it('refuses unknown functions, missing or extra fields and malformed text', () => {
    for (const bad of ['median(x)', 'sum()', 'count(x)', 'sum(a, b)', 'sum(a', 'amount', 'sum(1x)', '']) {
      assert.ok('error' in parseAggregate('a', bad), bad);
    }
  });

  it('names the unknown function in its reason', () => {
    const result = parseAggregate('a', 'median(x)');
    assert.ok('error' in result && result.error.includes("'median'"));
  });
});
