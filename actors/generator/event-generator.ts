import { partitionForKey } from '../codecs/murmur2.ts';
import {
  type GeneratorOptions,
  GeneratorOptionsError,
  type ResolvedGeneratorOptions,
  resolveGeneratorOptions,
  UNTHROTTLED_EVENTS_PER_SECOND,
} from './generator-options.ts';
import { KeySampler } from './key-sampler.ts';
import { Sfc32 } from './prng.ts';

/** How an event's time relates to the generator's in-order timeline. */
export const EventTiming = { inOrder: 0, outOfOrder: 1, late: 2 } as const;

export interface GeneratedEvents {
  /** `{ user_id: 'u42', ts: 1714564800123, amount: 12.5, page: '/p/7' }`, with the configured field names. */
  events: Record<string, unknown>[];
  /** The event times, `times[i] === events[i][timeField]`. */
  times: Float64Array;
  /** `EventTiming` of each event: in order, out of order (within maxOutOfOrderMs) or late. */
  timings: Uint8Array;
}

export interface EventGenerator {
  /** The next `n` events; a batch of n and n batches of 1 give the same events. */
  nextBatch(n: number): GeneratedEvents;
  /** Events generated so far. */
  readonly produced: number;
  /** The options in force, defaults filled in. */
  readonly options: Readonly<ResolvedGeneratorOptions>;
}

export const PAGE_COUNT = 50;
const PAGES = Array.from({ length: PAGE_COUNT }, (_, i) => `/p/${i}`);

/**
 * The synthetic event source shared by tests, the demo, `sluice produce` and benchmarks.
 *
 * Every event draws exactly five numbers from one seeded PRNG (key, amount, page, timing,
 * shift), so output is a pure function of the options — independent of batch sizes — except
 * event times under `clock: 'wall'`. Event i's base time is
 * `startTime + floor(i * 1000 / eventsPerSecond)`; `outOfOrder` events move back by
 * 1 … maxOutOfOrderMs (so never behind the watermark), `late` events by more than
 * maxOutOfOrderMs + lateByMs (up to maxOutOfOrderMs + 2·lateByMs + 1).
 *
 * Threading model: not shared; one per source partition, used by the actor that owns it.
 */
export function createGenerator(options: GeneratorOptions = {}): EventGenerator {
  const resolved = resolveGeneratorOptions(options);
  const { keyField, timeField, skew, startTime, clock, maxOutOfOrderMs, lateByMs } = resolved;
  const keys = buildKeys(resolved);
  const keyNames = keys.names;
  const sampler = new KeySampler(keyNames.length, skew, keys.ranks);
  const wallClock = clock === 'wall';
  const random = new Sfc32(resolved.seed);
  const msPerEvent = 1000 / (resolved.eventsPerSecond || UNTHROTTLED_EVENTS_PER_SECOND);
  const lateLimit = resolved.late;
  const disorderLimit = resolved.late + resolved.outOfOrder;
  const lateBase = maxOutOfOrderMs + lateByMs + 1;
  const lateSpan = Math.max(lateByMs, 1);
  let produced = 0;

  function nextBatch(n: number): GeneratedEvents {
    if (!Number.isSafeInteger(n) || n < 0)
      throw new GeneratorOptionsError('nextBatch(n)', 'a whole number >= 0');
    const events = new Array<Record<string, unknown>>(n);
    const times = new Float64Array(n);
    const timings = new Uint8Array(n);
    const wallBase = wallClock ? Date.now() : 0;
    for (let i = 0; i < n; i++) {
      const key = keyNames[sampler.pick(random.nextFloat())];
      const amount = Math.round(random.nextFloat() * 50_000) / 100;
      const page = PAGES[(random.nextFloat() * PAGE_COUNT) | 0];
      const roll = random.nextFloat();
      const shiftDraw = random.nextFloat();
      const base = wallClock ? wallBase : startTime + Math.floor((produced + i) * msPerEvent);
      let time = base;
      if (roll < lateLimit) {
        time = base - lateBase - Math.floor(shiftDraw * lateSpan);
        timings[i] = EventTiming.late;
      } else if (roll < disorderLimit) {
        time = base - Math.ceil(shiftDraw * maxOutOfOrderMs);
        timings[i] = EventTiming.outOfOrder;
      }
      times[i] = time;
      const event: Record<string, unknown> = {};
      event[keyField] = key;
      event[timeField] = time;
      event.amount = amount;
      event.page = page;
      events[i] = event;
    }
    produced += n;
    return { events, times, timings };
  }

  return {
    nextBatch,
    get produced() {
      return produced;
    },
    options: resolved,
  };
}

/**
 * The internalized copies of `names` (property keys are always internalized; a
 * prototype-less dictionary makes them without creating a hidden class per name): a
 * window then finds the row of an event's key by pointer, with the string's hash already
 * computed, instead of looking the string up in V8's string table on every event.
 * Names must not look like array indices (those would come back as fresh strings).
 */
function internalized(names: readonly string[]): string[] {
  const dictionary: Record<string, number> = Object.create(null);
  for (const name of names) dictionary[name] = 0;
  const keys = Object.keys(dictionary);
  if (keys.length !== names.length) throw new Error('generator key names are not distinct');
  return keys;
}

/** Key names `u0 …`, built once; with `partition`, only those murmur2 sends there, with their ranks. */
function buildKeys(options: ResolvedGeneratorOptions): { names: string[]; ranks?: Int32Array } {
  const all = internalized(Array.from({ length: options.keys }, (_, i) => `u${i}`));
  const partition = options.partition;
  if (partition === undefined || partition.count === 1) return { names: all };
  const ranks: number[] = [];
  for (let i = 0; i < all.length; i++) {
    if (partitionForKey(all[i], partition.count) === partition.index) ranks.push(i);
  }
  if (ranks.length === 0) {
    throw new GeneratorOptionsError(
      'keys',
      `more keys: none of u0…u${options.keys - 1} falls in partition ${partition.index} of ${partition.count}`,
    );
  }
  return { names: ranks.map((rank) => all[rank]), ranks: Int32Array.from(ranks) };
}
