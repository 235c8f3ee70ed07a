/** fast-check generators for window configs and event streams (small, dense, disordered). */
import fc from 'fast-check';
import type { SluiceEvent, WindowOperatorConfig, WindowSpec } from '../../../actors/windows/index.ts';

export type Step =
  | { kind: 'event'; event: SluiceEvent; time: number }
  | { kind: 'advance'; watermark: number };

const windowSpec: fc.Arbitrary<WindowSpec> = fc.oneof(
  fc.record({ type: fc.constant('tumbling' as const), sizeMs: fc.integer({ min: 1, max: 20 }) }),
  fc.record({
    type: fc.constant('hopping' as const),
    sizeMs: fc.integer({ min: 1, max: 25 }),
    slideMs: fc.integer({ min: 1, max: 12 }),
  }),
  fc.record({ type: fc.constant('session' as const), gapMs: fc.integer({ min: 1, max: 15 }) }),
);

export const windowConfig: fc.Arbitrary<WindowOperatorConfig> = fc.record({
  window: windowSpec,
  allowedLatenessMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 30 })),
  maxOutOfOrderMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 15 })),
  groupBy: fc.constantFrom([], ['k'], ['k', 'g']),
  aggregates: fc.constant([
    { name: 'n', fn: 'count' as const },
    { name: 'nv', fn: 'count' as const, field: 'v' },
    { name: 's', fn: 'sum' as const, field: 'v' },
    { name: 'lo', fn: 'min' as const, field: 'v' },
    { name: 'hi', fn: 'max' as const, field: 'v' },
    { name: 'mean', fn: 'avg' as const, field: 'v' },
    { name: 'kinds', fn: 'count_distinct' as const, field: 'd' },
    { name: 'head', fn: 'first' as const, field: 'd' },
    { name: 'tail', fn: 'last' as const, field: 'd' },
  ]),
});

const MISSING = Symbol('missing');
const keyValue = fc.constantFrom<unknown>('a', 'b', 1, '1', null, MISSING);
const groupValue = fc.constantFrom<unknown>(true, 'x', MISSING);
/** Integers and halves: sums stay exact, so merge order cannot change a bit. */
const numberValue = fc.oneof(
  fc.integer({ min: -5, max: 20 }),
  fc.integer({ min: -10, max: 40 }).map((n) => n / 2),
  fc.constantFrom<unknown>(null, MISSING),
);
const distinctValue = fc.constantFrom<unknown>('a', 'b', 1, '1', true, false, 2.5, null, MISSING);

const eventStep = fc
  .record({
    k: keyValue,
    g: groupValue,
    v: numberValue,
    d: distinctValue,
    advance: fc.integer({ min: 0, max: 6 }),
    jitter: fc.oneof(
      { weight: 3, arbitrary: fc.constant(0) },
      { weight: 2, arbitrary: fc.integer({ min: -45, max: 0 }) },
    ),
  })
  .map(({ k, g, v, d, advance, jitter }) => {
    const event: SluiceEvent = {};
    for (const [field, value] of [
      ['k', k],
      ['g', g],
      ['v', v],
      ['d', d],
    ] as const) {
      if (value !== MISSING) event[field] = value;
    }
    return { event, advance, jitter };
  });

/** A stream: events whose time drifts up with random disorder, and a few explicit advances. */
export const steps: fc.Arbitrary<Step[]> = fc
  .array(
    fc.oneof(
      { weight: 12, arbitrary: eventStep },
      { weight: 1, arbitrary: fc.integer({ min: -5, max: 30 }).map((ahead) => ({ ahead })) },
    ),
    { minLength: 8, maxLength: 60, size: 'max' },
  )
  .map((raw) => {
    let cursor = -20;
    return raw.map((item): Step => {
      if ('ahead' in item) return { kind: 'advance', watermark: cursor + item.ahead };
      cursor += item.advance;
      return { kind: 'event', event: item.event, time: cursor + item.jitter };
    });
  });
