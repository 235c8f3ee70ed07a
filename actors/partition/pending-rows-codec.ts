/**
 * How a checkpoint records the rows a partition handed to its two-phase sinks since the
 * previous checkpoint (sink-hooks.ts): one namespace, `sink-pending`, rewritten whole by
 * every checkpoint (cleared and written in the same atomic batch), entries
 * `<sink>/<chunk>` holding the rows' UTF-8 bytes in chunks of at most 1 MiB. Version 1.
 */
import type { PartitionStore } from '../../state/index.ts';

export const PENDING_ROWS_NAMESPACE = 'sink-pending';
const chunkBytes = 1 << 20;

function chunkKey(sink: string, index: number): string {
  return `${sink}/${String(index).padStart(8, '0')}`;
}

/** The entries that hold `pending` (sink → rows); sinks without rows have none. */
export function encodePendingRows(pending: ReadonlyMap<string, string>): Array<[key: string, value: Buffer]> {
  const entries: Array<[string, Buffer]> = [];
  for (const [sink, rows] of pending) {
    const bytes = Buffer.from(rows, 'utf8');
    for (let index = 0; index * chunkBytes < bytes.length; index++) {
      entries.push([chunkKey(sink, index), bytes.subarray(index * chunkBytes, (index + 1) * chunkBytes)]);
    }
  }
  return entries;
}

/** Reads the recorded rows back, by sink. */
export async function readPendingRows(store: PartitionStore): Promise<Map<string, string>> {
  const chunks = new Map<string, Buffer[]>();
  // Keys sort by sink, then by zero-padded chunk number: chunks arrive in order.
  for await (const [key, value] of store.entries(PENDING_ROWS_NAMESPACE)) {
    const name = key.toString('utf8');
    const sink = name.slice(0, name.lastIndexOf('/'));
    const list = chunks.get(sink) ?? [];
    list.push(Buffer.from(value));
    chunks.set(sink, list);
  }
  const pending = new Map<string, string>();
  for (const [sink, list] of chunks) pending.set(sink, Buffer.concat(list).toString('utf8'));
  return pending;
}
