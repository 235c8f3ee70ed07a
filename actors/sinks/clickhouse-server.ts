/**
 * What the ClickHouse server behind a sink supports, read once at start from
 * `SELECT version()`. Features are gated on the version, never assumed: the local test
 * server is 18.16, production servers are usually recent.
 *
 * - `insert_deduplication_token` (ClickHouse 22.2, PR #32304): an INSERT carrying a
 *   token already seen by the table is dropped by the server. Sent only from 22.2 on;
 *   older servers reject unknown settings.
 * - `non_replicated_deduplication_window` (a MergeTree setting, older than 22.2): without
 *   it a non-replicated table keeps no insert ids and deduplicates nothing, so tables the
 *   sink creates on servers that take the token also get that window.
 */

export interface ClickHouseServer {
  /** As the server reports it, e.g. `18.16.1` or `24.3.2.23`. */
  version: string;
  /** The server takes `insert_deduplication_token`. */
  deduplicationToken: boolean;
}

/** The first release that knows `insert_deduplication_token`. */
export const deduplicationTokenSince = { major: 22, minor: 2 } as const;

/** Inserts remembered per table for deduplication, on tables the sink creates. */
export const deduplicationWindow = 1000;

/** `major.minor` of a version string, or null when it is not one. */
export function parseServerVersion(version: string): { major: number; minor: number } | null {
  const match = /^(\d+)\.(\d+)/.exec(version.trim());
  if (match === null) return null;
  return { major: Number(match[1]), minor: Number(match[2]) };
}

export function supportsDeduplicationToken(version: string): boolean {
  const parsed = parseServerVersion(version);
  if (parsed === null) return false;
  const since = deduplicationTokenSince;
  return parsed.major > since.major || (parsed.major === since.major && parsed.minor >= since.minor);
}

/** Asks the server its version through `select` (a JSONEachRow query) and derives its features. */
export async function detectServer(
  select: (query: string) => Promise<Array<{ version?: unknown }>>,
): Promise<ClickHouseServer> {
  const [row] = await select('SELECT version() AS version');
  const version = typeof row?.version === 'string' ? row.version : 'unknown';
  return { version, deduplicationToken: supportsDeduplicationToken(version) };
}
