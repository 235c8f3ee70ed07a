/**
 * Units written in topology files: durations (`500ms`, `5s`, `1m`, `1h`, `1d`) and
 * byte sizes (`1KiB`, `8MiB`, `512MiB`). Topology values are normalized to plain
 * numbers (milliseconds, bytes) once, at load time, so no other code parses units.
 * A plain number is already in the base unit.
 */

const MS_PER_UNIT: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const BYTES_PER_UNIT: Readonly<Record<string, number>> = {
  B: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
};

/** A whole number followed by one duration unit, e.g. `30s`. Also used by the JSON Schema. */
export const DURATION_PATTERN = /^(\d+)(ms|s|m|h|d)$/;

/** A whole number followed by one binary size unit, e.g. `8MiB`. Also used by the JSON Schema. */
export const SIZE_PATTERN = /^(\d+)(B|KiB|MiB|GiB|TiB)$/;

/** Human text for error messages: what a duration looks like. */
export const DURATION_EXPECTED =
  'a duration such as 500ms, 5s, 1m, 1h or 1d, or a whole number of milliseconds';

/** Human text for error messages: what a size looks like. */
export const SIZE_EXPECTED = 'a size such as 1KiB, 8MiB or 512MiB, or a whole number of bytes';

/** Milliseconds in `text` (`5s` → 5000), or `undefined` when it is not a duration. */
export function parseDuration(text: string | number): number | undefined {
  return parseUnit(text, DURATION_PATTERN, MS_PER_UNIT);
}

/** Bytes in `text` (`8MiB` → 8388608), or `undefined` when it is not a size. */
export function parseSize(text: string | number): number | undefined {
  return parseUnit(text, SIZE_PATTERN, BYTES_PER_UNIT);
}

function parseUnit(
  text: string | number,
  pattern: RegExp,
  scale: Readonly<Record<string, number>>,
): number | undefined {
  if (typeof text === 'number') return Number.isSafeInteger(text) && text >= 0 ? text : undefined;
  const match = pattern.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]) * scale[match[2]];
  return Number.isSafeInteger(value) ? value : undefined;
}
