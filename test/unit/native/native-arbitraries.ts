/** fast-check generators for tumbling-window configs and frames of messy events. */
import fc from 'fast-check';
import type { SluiceEvent, WindowOperatorConfig } from '../../../actors/windows/index.ts';

const MISSING = Symbol('missing');

/** Tumbling and hopping windows (a slide that divides the size or not, or leaves gaps). */
export const windowConfig: fc.Arbitrary<WindowOperatorConfig> = fc.record({
  window: fc.oneof(
    fc.record({ type: fc.constant('tumbling' as const), sizeMs: fc.integer({ min: 1, max: 20 }) }),
    fc.record({
      type: fc.constant('hopping' as const),
      sizeMs: fc.integer({ min: 1, max: 20 }),
      slideMs: fc.integer({ min: 1, max: 25 }),
    }),
  ),
  allowedLatenessMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 30 })),
  maxOutOfOrderMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 15 })),
  groupBy: fc.constantFrom([], ['k'], ['k', 'g'], ['g', 'v']),
  aggregates: fc.constant([
    { name: 'n', fn: 'count' as const },
    { name: 'nv', fn: 'count' as const, field: 'v' },
    { name: 's', fn: 'sum' as const, field: 'v' },
    { name: 'lo', fn: 'min' as const, field: 'v' },
    { name: 'hi', fn: 'max' as const, field: 'v' },
    { name: 'mean', fn: 'avg' as const, field: 'v' },
    { name: 'head', fn: 'first' as const, field: 'd' },
    { name: 'tail', fn: 'last' as const, field: 'd' },
  ]),
});

const keyValue = fc.constantFrom<unknown>('a', 'b', 1, '1', -0, 0, 2.5, null, true, MISSING, '\u0001x');
const groupValue = fc.constantFrom<unknown>(true, 'x', 'é', MISSING);
/** Fractional values on purpose: partial sums must still match arrival-order sums bit for bit. */
const numberValue = fc.oneof(
  fc.integer({ min: -5, max: 20 }),
  fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom<unknown>(0.1, 0.2, 0.3, 1e16, null, MISSING),
);
const misfitValue = fc.constantFrom<unknown>('text', [1], { a: 1 }, true);
const distinctValue = fc.constantFrom<unknown>('a', 'b', 1, '1', true, false, 2.5, null, MISSING);
const badTime = fc.constantFrom<unknown>(null, MISSING, true, [3], { t: 1 });

const event = fc
  .record({
    k: keyValue,
    g: groupValue,
    v: fc.oneof({ weight: 12, arbitrary: numberValue }, { weight: 1, arbitrary: misfitValue }),
    d: fc.oneof({ weight: 12, arbitrary: distinctValue }, { weight: 1, arbitrary: fc.constant([2]) }),
    advance: fc.integer({ min: 0, max: 6 }),
    jitter: fc.oneof(
      { weight: 3, arbitrary: fc.constant(0) },
      { weight: 2, arbitrary: fc.integer({ min: -45, max: 0 }) },
    ),
    badTime: fc.oneof({ weight: 15, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: badTime }),
  })
  .map((fields) => fields);

/** Batches of events whose times drift upwards with disorder, some late, some malformed. */
export const batches: fc.Arbitrary<SluiceEvent[][]> = fc
  .tuple(
    fc.integer({ min: -200, max: 1_000 }),
    fc.array(event, { minLength: 1, maxLength: 80 }),
    fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 8 }),
  )
  .map(([origin, generated, sizes]) => {
    let clock = origin;
    const events = generated.map((fields) => {
      clock += fields.advance;
      const out: SluiceEvent = { ts: clock + fields.jitter };
      if (fields.badTime !== undefined) {
        if (fields.badTime === MISSING) delete out.ts;
        else out.ts = fields.badTime;
      }
      for (const name of ['k', 'g', 'v', 'd'] as const) {
        const value = fields[name];
        if (value !== MISSING) out[name] = value;
      }
      return out;
    });
    const out: SluiceEvent[][] = [];
    let at = 0;
    for (let i = 0; at < events.length; i++) {
      const size = sizes[i % sizes.length];
      out.push(events.slice(at, at + size));
      at += size;
    }
    return out;
  });
