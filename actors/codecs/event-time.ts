/**
 * Reads an event's time field into milliseconds since the Unix epoch.
 *
 * Accepted, in order of how often they occur:
 * - a finite number: already ms since the epoch, returned unchanged (fractions kept);
 * - an ISO-8601 string: `2024-05-01T12:00:00Z`, `2024-05-01T14:00:00.123+02:00`,
 *   `2024-05-01 12:00:00`, `2024-05-01`. Up to nine fractional digits (truncated to ms),
 *   offsets `Z`, `±HH:MM`, `±HHMM` or `±HH`. A string without an offset is read as UTC,
 *   not local time: output must not depend on the machine's time zone;
 * - a `Date` (msgpack's timestamp extension decodes to one) and a `bigint` in the safe
 *   integer range (msgpack int64).
 *
 * Numeric strings (`"1714564800000"`) are refused on purpose: whether they mean seconds or
 * milliseconds cannot be told from the value, and a silent factor of 1000 puts events in
 * windows decades away. Anything refused returns `undefined`; the caller dead-letters it.
 */
export function parseEventTime(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string') return parseIsoTime(value);
  if (value instanceof Date) {
    const ms = value.getTime();
    return Number.isNaN(ms) ? undefined : ms;
  }
  if (typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : undefined;
  }
  return undefined;
}

// date, then optionally: T or space, hh:mm, optional :ss and fraction, optional offset.
const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?)?$/;

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Strict ISO-8601 → ms; `undefined` for anything `Date.parse` would guess at. */
export function parseIsoTime(text: string): number | undefined {
  if (text.length < 10 || text.length > 40) return undefined;
  const match = ISO_8601.exec(text);
  if (match === null) return undefined;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  const hour = match[4] === undefined ? 0 : Number(match[4]);
  const minute = match[5] === undefined ? 0 : Number(match[5]);
  const second = match[6] === undefined ? 0 : Number(match[6]);
  if (month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1]) return undefined;
  if (month === 2 && day === 29 && !isLeapYear(year)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const millis = match[7] === undefined ? 0 : Number(match[7].padEnd(3, '0').slice(0, 3));
  const offset = offsetMinutes(match[8]);
  if (offset === undefined) return undefined;
  let utc = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  if (year < 100) {
    // Date.UTC maps years 0–99 to 1900–1999; setUTCFullYear does not.
    const date = new Date(utc);
    date.setUTCFullYear(year);
    utc = date.getTime();
  }
  return utc - offset * 60_000;
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Minutes east of UTC for `Z`, `±HH`, `±HHMM`, `±HH:MM`; none means UTC. */
function offsetMinutes(zone: string | undefined): number | undefined {
  if (zone === undefined || zone === 'Z' || zone === 'z') return 0;
  const sign = zone.charCodeAt(0) === 45 /* - */ ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2)) : 0;
  if (hours > 23 || minutes > 59) return undefined;
  return sign * (hours * 60 + minutes);
}
