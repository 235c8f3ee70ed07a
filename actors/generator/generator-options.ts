import { SluiceError } from '../../runtime/errors.ts';

/** Where event times come from. */
export type GeneratorClock = 'synthetic' | 'wall';

export interface GeneratorOptions {
  /** Field that holds the key (`u0` … `u{keys-1}`); a flat field name. Default `user_id`. */
  keyField?: string;
  /** Field that holds the event time in ms since the epoch. Default `ts`. */
  timeField?: string;
  /** Number of distinct keys. Default 1000. */
  keys?: number;
  /** Zipf exponent of the key distribution: 0 uniform (default), 1 classic Zipf. */
  skew?: number;
  /** Seed of the PRNG; the same seed and options give the same events. Default 1. */
  seed?: number;
  /** Event time of event 0, ms since the epoch (synthetic clock). Default 2024-05-01T12:00:00Z. */
  startTime?: number;
  /**
   * Event-time spacing: event i has base time `startTime + floor(i * 1000 / eventsPerSecond)`.
   * 0 (default) means "as fast as it can be produced", for which event time advances by
   * 1 ms per 1,000 events (1M events per event-second).
   */
  eventsPerSecond?: number;
  /** Fraction of events moved back by 1 … maxOutOfOrderMs: disordered, never late. */
  outOfOrder?: number;
  maxOutOfOrderMs?: number;
  /** Fraction of events moved back by more than maxOutOfOrderMs + lateByMs: truly late. */
  late?: number;
  lateByMs?: number;
  /**
   * `synthetic` (default): times follow startTime and eventsPerSecond; fully deterministic.
   * `wall`: each batch's base time is `Date.now()` when it is made, for the live demo;
   * keys and values stay deterministic, times do not.
   */
  clock?: GeneratorClock;
  /** Generate only keys that murmur2 (Kafka's default partitioner) puts in this partition. */
  partition?: { index: number; count: number };
}

export type ResolvedGeneratorOptions = Required<Omit<GeneratorOptions, 'partition'>> &
  Pick<GeneratorOptions, 'partition'>;

/** The generator was given options it cannot honour; `option` names the offending one. */
export class GeneratorOptionsError extends SluiceError {
  readonly option: string;

  constructor(option: string, expected: string) {
    super('SLUICE_ERR_GENERATOR_OPTION', `generator option ${option}: expected ${expected}`);
    this.option = option;
  }
}

/** 1 ms of event time per 1,000 events when no rate is given. */
export const UNTHROTTLED_EVENTS_PER_SECOND = 1_000_000;

/** Fields the generator writes besides key and time. */
export const VALUE_FIELDS = ['amount', 'page'] as const;

const DEFAULTS: ResolvedGeneratorOptions = {
  keyField: 'user_id',
  timeField: 'ts',
  keys: 1000,
  skew: 0,
  seed: 1,
  startTime: Date.UTC(2024, 4, 1, 12),
  eventsPerSecond: 0,
  outOfOrder: 0,
  maxOutOfOrderMs: 0,
  late: 0,
  lateByMs: 0,
  clock: 'synthetic',
};

export function resolveGeneratorOptions(options: GeneratorOptions): ResolvedGeneratorOptions {
  const resolved: ResolvedGeneratorOptions = { ...DEFAULTS };
  for (const [name, value] of Object.entries(options)) {
    if (value !== undefined) (resolved as unknown as Record<string, unknown>)[name] = value;
  }
  const { keyField, timeField, partition } = resolved;
  if (typeof keyField !== 'string' || keyField === '')
    throw new GeneratorOptionsError('keyField', 'a field name');
  if (typeof timeField !== 'string' || timeField === '' || timeField === keyField) {
    throw new GeneratorOptionsError('timeField', 'a field name other than keyField');
  }
  for (const [name, field] of [
    ['keyField', keyField],
    ['timeField', timeField],
  ]) {
    if ((VALUE_FIELDS as readonly string[]).includes(field)) {
      throw new GeneratorOptionsError(
        name,
        `a name other than ${VALUE_FIELDS.join(' or ')} (generated values)`,
      );
    }
  }
  requireInteger('keys', resolved.keys, 1);
  requireInteger('seed', resolved.seed, Number.MIN_SAFE_INTEGER);
  requireNumber('skew', resolved.skew, 0);
  requireNumber('startTime', resolved.startTime, Number.MIN_SAFE_INTEGER);
  requireNumber('eventsPerSecond', resolved.eventsPerSecond, 0);
  requireNumber('maxOutOfOrderMs', resolved.maxOutOfOrderMs, 0);
  requireNumber('lateByMs', resolved.lateByMs, 0);
  requireFraction('outOfOrder', resolved.outOfOrder);
  requireFraction('late', resolved.late);
  if (resolved.outOfOrder + resolved.late > 1) {
    throw new GeneratorOptionsError('late', 'outOfOrder + late <= 1');
  }
  if (resolved.clock !== 'synthetic' && resolved.clock !== 'wall') {
    throw new GeneratorOptionsError('clock', "'synthetic' or 'wall'");
  }
  if (partition !== undefined) {
    requireInteger('partition.count', partition.count, 1);
    requireInteger('partition.index', partition.index, 0);
    if (partition.index >= partition.count)
      throw new GeneratorOptionsError('partition.index', 'below partition.count');
  }
  return resolved;
}

function requireNumber(name: string, value: unknown, min: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new GeneratorOptionsError(name, `a finite number >= ${min}`);
  }
}

function requireInteger(name: string, value: unknown, min: number): void {
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    throw new GeneratorOptionsError(name, `a whole number >= ${min}`);
  }
}

function requireFraction(name: string, value: unknown): void {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new GeneratorOptionsError(name, 'a fraction between 0 and 1');
  }
}
