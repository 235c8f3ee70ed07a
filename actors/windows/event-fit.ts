import type { SluiceEvent, WindowOperatorConfig } from './types.ts';

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return String(value);
  return typeof value;
}

/** Why a groupBy / count_distinct / first / last value cannot be held, or null. */
function scalarMisfit(field: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const type = typeof value;
  if (type === 'string' || type === 'boolean') return null;
  if (type === 'number') {
    return Number.isFinite(value) ? null : `field ${field}: expected a finite number, got ${describe(value)}`;
  }
  return `field ${field}: expected a string, number, boolean or null, got ${describe(value)}`;
}

/**
 * Why an event does not fit the window's schema (it then goes to the dead-letter
 * output), or null if it fits. Missing and null fields always fit (they are ignored
 * or group as null). Refused:
 * - a sum/min/max/avg field that is present but not a finite number;
 * - a groupBy, count_distinct, first or last value that is an object, an array or a
 *   non-finite number (JSON would print those as null and merge them with null).
 */
export function eventMisfit(config: WindowOperatorConfig, event: SluiceEvent): string | null {
  for (const field of config.groupBy) {
    const reason = scalarMisfit(field, event[field]);
    if (reason !== null) return reason;
  }
  for (const aggregate of config.aggregates) {
    const field = aggregate.field;
    if (field === undefined) continue;
    const value = event[field];
    switch (aggregate.fn) {
      case 'sum':
      case 'min':
      case 'max':
      case 'avg':
        if (value !== undefined && value !== null && !(typeof value === 'number' && Number.isFinite(value))) {
          return `field ${field}: expected a number, got ${describe(value)}`;
        }
        break;
      case 'count_distinct':
      case 'first':
      case 'last': {
        const reason = scalarMisfit(field, value);
        if (reason !== null) return reason;
        break;
      }
      case 'count':
        break;
    }
  }
  return null;
}

/** Whether every event of a batch fits (no null entry, no misfit): see `compileBatchFit`. */
export type BatchFit = (events: readonly (SluiceEvent | null)[]) => boolean;

/**
 * Compiles, for one config, the check that `eventMisfit` is null for every event of a
 * batch (and no event is null): one loop with each field's test inline, no per-event
 * walk of the config. The tests are exactly `eventMisfit`'s: a groupBy, count_distinct,
 * first or last value fits when it is missing, null, a string, a boolean or a finite
 * number; a sum, min, max or avg value when it is missing, null or a finite number.
 * Field names enter the source only as JSON string literals.
 */
export function compileBatchFit(config: WindowOperatorConfig): BatchFit {
  const scalar = (read: string) =>
    `v = ${read}; if (v !== undefined && v !== null && typeof v !== 'string' && typeof v !== 'boolean' && !(typeof v === 'number' && v - v === 0)) return false;`;
  const numeric = (read: string) =>
    `v = ${read}; if (v !== undefined && v !== null && !(typeof v === 'number' && v - v === 0)) return false;`;
  const steps: string[] = config.groupBy.map((field) => scalar(`event[${JSON.stringify(field)}]`));
  for (const aggregate of config.aggregates) {
    if (aggregate.field === undefined) continue;
    const read = `event[${JSON.stringify(aggregate.field)}]`;
    switch (aggregate.fn) {
      case 'sum':
      case 'min':
      case 'max':
      case 'avg':
        steps.push(numeric(read));
        break;
      case 'count_distinct':
      case 'first':
      case 'last':
        steps.push(scalar(read));
        break;
      case 'count':
        break;
    }
  }
  return new Function(
    'events',
    `for (let i = 0; i < events.length; i++) {
      const event = events[i];
      if (event === null) return false;
      let v;
      ${steps.join('\n      ')}
    }
    return true;`,
  ) as BatchFit;
}
