/**
 * The result-equality check every Kafka scenario runs before timing: each system's final
 * count per (window start, key), compared as sets. Pure: rows in, verdict out.
 */

/** `"<window start ms>|<key>"` → count. */
export type WindowCounts = Map<string, number>;

export function windowCountKey(windowStartMs: number, key: string): string {
  return `${windowStartMs}|${key}`;
}

/** Window start as ms since the epoch, from a number or an ISO-8601 string. */
export function windowStartMs(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const parsed = Date.parse(value);
    if (Number.isFinite(parsed)) return parsed;
  }
  throw new Error(`window start ${JSON.stringify(value)} is neither ms nor an ISO-8601 time`);
}

/**
 * Final counts from versioned output rows (JSON lines): a re-fired window replaces its
 * earlier versions, so the row with the highest version wins.
 */
export function countsFromRows(lines: Iterable<string>, keyField: string, countField: string): WindowCounts {
  const best = new Map<string, { version: number; count: number }>();
  for (const line of lines) {
    if (line.length === 0) continue;
    const row = JSON.parse(line) as Record<string, unknown>;
    const id = windowCountKey(windowStartMs(row.window_start), String(row[keyField]));
    const version = typeof row.version === 'number' ? row.version : 0;
    const previous = best.get(id);
    if (!previous || version >= previous.version) best.set(id, { version, count: Number(row[countField]) });
  }
  return new Map([...best].map(([id, entry]) => [id, entry.count]));
}

export interface CountComparison {
  agree: boolean;
  windows: number;
  events: number;
  /** Up to five differences, `key: expected → actual`, for the report. */
  differences: string[];
}

/** Compares `actual` with `expected` exactly: same (window, key) pairs, same counts. */
export function compareCounts(expected: WindowCounts, actual: WindowCounts): CountComparison {
  const differences: string[] = [];
  let mismatches = 0;
  for (const [id, count] of expected) {
    const other = actual.get(id);
    if (other !== count) {
      mismatches += 1;
      if (differences.length < 5) differences.push(`${id}: ${count} → ${other ?? 'missing'}`);
    }
  }
  for (const [id, count] of actual) {
    if (!expected.has(id)) {
      mismatches += 1;
      if (differences.length < 5) differences.push(`${id}: missing → ${count}`);
    }
  }
  let events = 0;
  for (const count of expected.values()) events += count;
  return { agree: mismatches === 0, windows: expected.size, events, differences };
}
