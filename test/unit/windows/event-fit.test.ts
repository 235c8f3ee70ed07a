import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type AggregateFn,
  compileBatchFit,
  eventMisfit,
  type SluiceEvent,
  type WindowOperatorConfig,
} from '../../../actors/windows/index.ts';

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

  it('says a batch fits exactly when no event is null and every event fits', () => {
    const fields = ['a', 'b', '__proto__', 'x"y'];
    const fns: AggregateFn[] = ['count', 'sum', 'min', 'max', 'avg', 'count_distinct', 'first', 'last'];
    const configOf = fc
      .record({
        groupBy: fc.subarray(fields),
        aggregates: fc.array(
          fc.record({
            fn: fc.constantFrom(...fns),
            field: fc.option(fc.constantFrom(...fields), { nil: undefined }),
          }),
          { maxLength: 4 },
        ),
      })
      .map(
        ({ groupBy, aggregates }): WindowOperatorConfig => ({
          ...config,
          groupBy,
          aggregates: aggregates.map(({ fn, field }, i) => ({
            name: `n${i}`,
            fn,
            ...(field === undefined ? {} : { field }),
          })),
        }),
      );
    const value = fc.oneof(
      fc.string({ maxLength: 2 }),
      fc.double(),
      fc.boolean(),
      fc.constantFrom(null, undefined, Number.NaN, Number.NEGATIVE_INFINITY, -0),
      fc.array(fc.integer(), { maxLength: 1 }),
      fc.object({ maxDepth: 0 }),
    );
    const event = fc.dictionary(fc.constantFrom(...fields), value, {
      maxKeys: 4,
    }) as fc.Arbitrary<SluiceEvent>;
    const batch = fc.array(
      fc.oneof({ weight: 9, arbitrary: event }, { weight: 1, arbitrary: fc.constant(null) }),
      {
        maxLength: 4,
      },
    );
    fc.assert(
      fc.property(configOf, batch, (windowConfig, events) => {
        const expected = events.every((e) => e !== null && eventMisfit(windowConfig, e) === null);
        assert.equal(compileBatchFit(windowConfig)(events), expected);
      }),
      { numRuns: 3000 },
    );
  });
});
