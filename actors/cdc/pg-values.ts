/**
 * Conversion of Postgres column values, in their text form (what pgoutput sends and
 * what `SELECT` returns), to the JSON values Debezium's PostgreSQL connector writes with
 * its defaults (`decimal.handling.mode=string` here, `time.precision.mode=adaptive`):
 *
 * | Postgres | JSON |
 * |---|---|
 * | smallint, integer, bigint | number (a bigint outside ±2^53 stays a decimal string) |
 * | real, double precision | number (NaN and ±Infinity as the strings Debezium writes) |
 * | numeric, money | string, exact (decimal.handling.mode=string) |
 * | boolean | boolean |
 * | text, varchar, char, uuid, json, jsonb, xml, enums, others | string as Postgres prints it |
 * | date | days since 1970-01-01 (io.debezium.time.Date) |
 * | time | microseconds since midnight (io.debezium.time.MicroTime) |
 * | timestamp(0..3) | ms since the epoch (io.debezium.time.Timestamp) |
 * | timestamp, timestamp(4..6) | µs since the epoch (io.debezium.time.MicroTimestamp) |
 * | timestamptz | ISO-8601 in UTC, e.g. `2024-05-01T10:00:00.25Z` (io.debezium.time.ZonedTimestamp) |
 * | bytea | base64 (Debezium's default binary.handling.mode=bytes) |
 * | arrays of the above | JSON arrays, elements converted alike |
 *
 * Pure: no clock, no time zone of the process. timestamptz text carries its offset.
 */
import { type PgArray, parsePgArray } from './pg-array.ts';

export type JsonValue = string | number | boolean | null | JsonValue[];

/** Array type OID → element type OID, for the built-in element types converted above. */
const ARRAY_ELEMENTS: Record<number, number> = {
  1000: 16,
  1001: 17,
  1005: 21,
  1007: 23,
  1016: 20,
  1021: 700,
  1022: 701,
  1231: 1700,
  1009: 25,
  1015: 1043,
  1014: 1042,
  2951: 2950,
  1182: 1082,
  1115: 1114,
  1185: 1184,
  199: 114,
  3807: 3802,
};

const DAY_MS = 86_400_000;

export function convertPgValue(text: string | null, typeOid: number, typeMod = -1): JsonValue {
  if (text === null) return null;
  switch (typeOid) {
    case 16:
      return text === 't' || text === 'true';
    case 21:
    case 23:
    case 26:
      return Number(text);
    case 20: {
      const value = Number(text);
      return Number.isSafeInteger(value) ? value : text;
    }
    case 700:
    case 701: {
      const value = Number(text);
      return Number.isFinite(value) ? value : text;
    }
    case 1082:
      return Math.round(Date.parse(`${text}T00:00:00Z`) / DAY_MS);
    case 1083:
      return timeMicros(text);
    case 1114:
      return typeMod >= 0 && typeMod <= 3 ? Number(localMicros(text) / 1000n) : Number(localMicros(text));
    case 1184:
      return zonedIso(text);
    case 17:
      return Buffer.from(text.slice(2), 'hex').toString('base64');
    default: {
      const element = ARRAY_ELEMENTS[typeOid];
      if (element !== undefined) return convertArray(parsePgArray(text), element);
      return text;
    }
  }
}

function convertArray(items: PgArray, elementOid: number): JsonValue[] {
  return items.map((item) =>
    Array.isArray(item) ? convertArray(item, elementOid) : convertPgValue(item, elementOid),
  );
}

function timeMicros(text: string): number {
  const [clock, fraction = ''] = text.split('.');
  const [hours, minutes, seconds] = clock.split(':').map(Number);
  return ((hours * 60 + minutes) * 60 + seconds) * 1_000_000 + Number(fraction.padEnd(6, '0'));
}

const TIMESTAMP =
  /^(\d{4,})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(?:([+-])(\d\d)(?::?(\d\d))?(?::(\d\d))?)?( BC)?$/;

interface TimestampParts {
  /** Whole seconds since the epoch, in UTC (offset applied). */
  seconds: bigint;
  micros: number;
}

function timestampParts(text: string): TimestampParts {
  const match = TIMESTAMP.exec(text);
  if (match === null) throw new TypeError(`not a Postgres timestamp: ${text}`);
  const [, year, month, day, hour, minute, second, fraction = '', sign, offsetH, offsetM, offsetS] = match;
  const date = new Date(0);
  date.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  date.setUTCHours(Number(hour), Number(minute), Number(second), 0);
  let seconds = BigInt(date.getTime() / 1000);
  if (sign !== undefined) {
    const offset = Number(offsetH) * 3600 + Number(offsetM ?? 0) * 60 + Number(offsetS ?? 0);
    seconds -= BigInt(sign === '+' ? offset : -offset);
  }
  return { seconds, micros: Number(fraction.padEnd(6, '0')) };
}

function localMicros(text: string): bigint {
  const { seconds, micros } = timestampParts(text);
  return seconds * 1_000_000n + BigInt(micros);
}

function zonedIso(text: string): string {
  if (text === 'infinity' || text === '-infinity') return text;
  const { seconds, micros } = timestampParts(text);
  const whole = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  const fraction = micros === 0 ? '' : `.${String(micros).padStart(6, '0').replace(/0+$/, '')}`;
  return `${whole}${fraction}Z`;
}
