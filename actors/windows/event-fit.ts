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
