import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventMisfit, type WindowOperatorConfig } from '../../../actors/windows/index.ts';

const config: WindowOperatorConfig = {
  window: { type: 'tumbling', sizeMs: 1000 },
  allowedLatenessMs: 0,
  maxOutOfOrderMs: 0,
  groupBy: ['user'],
  aggregates: [
    { name: 'events', fn: 'count' },
    { name: 'amount', fn: 'sum', field: 'amount' },
    { name: 'pages', fn: 'count_distinct', field: 'page' },
    { name: 'tags', fn: 'count', field: 'tags' },
  ],
};

describe('event fit', () => {
  it('accepts an event whose fields are all usable', () => {
    assert.equal(eventMisfit(config, { user: 'a', amount: 2.5, page: 'home' }), null);
  });

  it('accepts missing and null fields, which aggregates ignore and keys group as null', () => {
    assert.equal(eventMisfit(config, {}), null);
    assert.equal(eventMisfit(config, { user: null, amount: null, page: null }), null);
  });

  it('refuses a sum field that holds a string, naming the field and the type', () => {
    assert.equal(
      eventMisfit(config, { user: 'a', amount: '12' }),
      'field amount: expected a number, got string',
    );
  });

  it('refuses non-finite numbers in numeric fields', () => {
    assert.equal(eventMisfit(config, { amount: Number.NaN }), 'field amount: expected a number, got NaN');
    assert.equal(
      eventMisfit(config, { amount: Number.POSITIVE_INFINITY }),
      'field amount: expected a number, got Infinity',
    );
  });

  it('refuses an object or array as a key or distinct value', () => {
    assert.equal(
      eventMisfit(config, { user: { id: 1 } }),
      'field user: expected a string, number, boolean or null, got object',
    );
    assert.equal(
      eventMisfit(config, { user: 'a', page: ['x'] }),
      'field page: expected a string, number, boolean or null, got array',
    );
  });

  it('lets count(field) count any non-null value, objects included', () => {
    assert.equal(eventMisfit(config, { tags: ['x', 'y'] }), null);
  });
});
