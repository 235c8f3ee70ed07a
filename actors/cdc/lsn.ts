/**
 * Log sequence numbers and CDC source positions.
 *
 * An LSN is Postgres's `XXXXXXXX/XXXXXXXX` (hex, upper/lower 32 bits). A CDC position
 * orders every change a table partition sees, as one string:
 * - streamed change: `<commit LSN>#<ordinal in its transaction>`. Transactions arrive in
 *   commit order, so (commit LSN, ordinal) is increasing even when transactions interleave
 *   in the WAL (a change's own LSN is not).
 * - snapshot row: `snapshot@<consistent point>#<ordinal>/<rows in the table>`; it sorts
 *   before every streamed change of the same or a later commit LSN, and the row count
 *   tells a finished table snapshot from an interrupted one.
 */

export function parseLsn(text: string): bigint {
  const slash = text.indexOf('/');
  const high = slash > 0 && slash <= 8 ? Number.parseInt(text.slice(0, slash), 16) : Number.NaN;
  const lowText = text.slice(slash + 1);
  const low = lowText.length > 0 && lowText.length <= 8 ? Number.parseInt(lowText, 16) : Number.NaN;
  if (!/^[0-9A-Fa-f]+\/[0-9A-Fa-f]+$/.test(text) || Number.isNaN(high) || Number.isNaN(low)) {
    throw new TypeError(`not an LSN: ${text}`);
  }
  return (BigInt(high) << 32n) | BigInt(low);
}

export function formatLsn(value: bigint): string {
  const high = Number(value >> 32n)
    .toString(16)
    .toUpperCase();
  const low = Number(value & 0xffffffffn)
    .toString(16)
    .toUpperCase();
  return `${high}/${low.padStart(8, '0')}`;
}

export type CdcPosition =
  | { phase: 'snapshot'; lsn: bigint; ordinal: number; rows: number }
  | { phase: 'stream'; lsn: bigint; ordinal: number };

export function streamPosition(commitLsn: bigint, ordinal: number): string {
  return `${formatLsn(commitLsn)}#${ordinal}`;
}

export function snapshotPosition(consistentPoint: bigint, ordinal: number, rows: number): string {
  return `snapshot@${formatLsn(consistentPoint)}#${ordinal}/${rows}`;
}

export function parsePosition(text: string): CdcPosition {
  const snapshot = /^snapshot@([^#]+)#(\d+)\/(\d+)$/.exec(text);
  if (snapshot !== null) {
    return {
      phase: 'snapshot',
      lsn: parseLsn(snapshot[1]),
      ordinal: Number(snapshot[2]),
      rows: Number(snapshot[3]),
    };
  }
  const stream = /^([^#]+)#(\d+)$/.exec(text);
  if (stream === null) throw new TypeError(`not a CDC position: ${text}`);
  return { phase: 'stream', lsn: parseLsn(stream[1]), ordinal: Number(stream[2]) };
}

/** Negative, zero or positive as `a` sorts before, with or after `b`. */
export function comparePositions(a: CdcPosition, b: CdcPosition): number {
  if (a.lsn !== b.lsn) return a.lsn < b.lsn ? -1 : 1;
  if (a.phase !== b.phase) return a.phase === 'snapshot' ? -1 : 1;
  return a.ordinal - b.ordinal;
}

/** True for the position of a table snapshot's last row. */
export function isSnapshotComplete(position: CdcPosition): boolean {
  return position.phase === 'snapshot' && position.ordinal === position.rows - 1;
}
