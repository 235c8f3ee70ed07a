import type { AggregateFn, WindowOperatorConfig } from './types.ts';
import { WindowConfigError } from './window-errors.ts';

const AGGREGATE_FNS: ReadonlySet<string> = new Set<AggregateFn>([
  'count',
  'sum',
  'min',
  'max',
  'avg',
  'count_distinct',
  'first',
  'last',
]);

const RESERVED = new Set(['window_start', 'window_end', 'version', '__proto__']);

/** Names JavaScript would move to the front of an object, breaking the row's field order. */
const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

function positive(value: unknown, path: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new WindowConfigError(path, `expected a finite number of ms > 0, got ${String(value)}`);
  }
}

function nonNegative(value: unknown, path: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new WindowConfigError(path, `expected a finite number of ms >= 0, got ${String(value)}`);
  }
}

function columnName(name: unknown, path: string, seen: Set<string>): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw new WindowConfigError(path, 'expected a non-empty string');
  }
  if (RESERVED.has(name)) throw new WindowConfigError(path, `${name} is reserved for the output row`);
  if (ARRAY_INDEX.test(name)) throw new WindowConfigError(path, `${name} cannot be an output field name`);
  if (seen.has(name)) throw new WindowConfigError(path, `output field ${name} is defined twice`);
  seen.add(name);
}

/**
 * Checks what the operator relies on, so a config that slipped past the topology
 * schema fails at start with the path of the bad field instead of misbehaving.
 * Output field names (groupBy fields and aggregate names) must be unique, must not be
 * window_start/window_end/version, and must not look like array indices.
 */
export function validateWindowConfig(config: WindowOperatorConfig): void {
  const window = config.window;
  if (window.type === 'tumbling') positive(window.sizeMs, 'window.sizeMs');
  else if (window.type === 'hopping') {
    positive(window.sizeMs, 'window.sizeMs');
    positive(window.slideMs, 'window.slideMs');
  } else if (window.type === 'session') positive(window.gapMs, 'window.gapMs');
  else throw new WindowConfigError('window.type', 'expected tumbling, hopping or session');
  nonNegative(config.allowedLatenessMs, 'allowedLatenessMs');
  nonNegative(config.maxOutOfOrderMs, 'maxOutOfOrderMs');

  const seen = new Set<string>();
  if (!Array.isArray(config.groupBy))
    throw new WindowConfigError('groupBy', 'expected an array of field names');
  config.groupBy.forEach((field, index) => {
    columnName(field, `groupBy[${index}]`, seen);
  });
  if (!Array.isArray(config.aggregates)) throw new WindowConfigError('aggregates', 'expected an array');
  config.aggregates.forEach((aggregate, index) => {
    const path = `aggregates[${index}]`;
    columnName(aggregate.name, `${path}.name`, seen);
    if (!AGGREGATE_FNS.has(aggregate.fn)) {
      throw new WindowConfigError(`${path}.fn`, `expected one of ${[...AGGREGATE_FNS].join(', ')}`);
    }
    const needsField = aggregate.fn !== 'count';
    if (aggregate.field === undefined) {
      if (needsField) throw new WindowConfigError(`${path}.field`, `${aggregate.fn} needs a field`);
    } else if (typeof aggregate.field !== 'string' || aggregate.field.length === 0) {
      throw new WindowConfigError(`${path}.field`, 'expected a non-empty string');
    }
  });
}
