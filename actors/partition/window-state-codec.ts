/**
 * How a window operator's state is laid out in its partition's store: one namespace per
 * window (`window:<name>`), one entry per tumbling/hopping bucket (`b/<start>`), sessions
 * in chunks (`s/<n>`), and a `meta` entry with the watermark. Values are msgpack of the
 * operator's plain-data snapshot. Version 1; the store's own format version guards the
 * key layout below this.
 *
 * Every checkpoint rewrites a window's namespace whole (cleared and written in the same
 * atomic batch): state is bounded by the open windows, so this stays proportional to
 * what is held in memory, and a restore reads back exactly one consistent picture.
 */
import { pack, unpack } from 'msgpackr';
import type { PartitionStore } from '../../state/index.ts';
import type { WindowOperatorState } from '../windows/index.ts';

export const WINDOW_STATE_CODEC_VERSION = 1;
const sessionsPerEntry = 4096;

export function windowNamespace(window: string): string {
  return `window:${window}`;
}

/** The entries that hold `state` in its window's namespace. */
export function encodeWindowState(state: WindowOperatorState): Array<[key: string, value: Buffer]> {
  const entries: Array<[string, Buffer]> = [
    ['meta', pack({ codec: WINDOW_STATE_CODEC_VERSION, format: state.format, watermark: state.watermark })],
  ];
  for (const bucket of state.buckets) entries.push([`b/${bucket.start}`, pack(bucket)]);
  for (let index = 0; index * sessionsPerEntry < state.sessions.length; index++) {
    const chunk = state.sessions.slice(index * sessionsPerEntry, (index + 1) * sessionsPerEntry);
    entries.push([`s/${index}`, pack(chunk)]);
  }
  return entries;
}

/** Reads a window's state back; null when the namespace holds none. */
export async function readWindowState(
  store: PartitionStore,
  window: string,
): Promise<WindowOperatorState | null> {
  let meta: { codec: number; format: 1; watermark: WindowOperatorState['watermark'] } | null = null;
  const buckets: WindowOperatorState['buckets'] = [];
  const sessions: WindowOperatorState['sessions'] = [];
  for await (const [key, value] of store.entries(windowNamespace(window))) {
    const name = key.toString('utf8');
    if (name === 'meta') meta = unpack(value);
    else if (name.startsWith('b/')) buckets.push(unpack(value));
    else if (name.startsWith('s/')) sessions.push(...(unpack(value) as WindowOperatorState['sessions']));
  }
  if (meta === null) return null;
  if (meta.codec !== WINDOW_STATE_CODEC_VERSION) {
    throw new Error(
      `window ${window}: state written by codec version ${meta.codec}, this build reads ${WINDOW_STATE_CODEC_VERSION}`,
    );
  }
  buckets.sort((a, b) => a.start - b.start);
  return { format: meta.format, watermark: meta.watermark, buckets, sessions };
}
