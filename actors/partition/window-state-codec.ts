/**
 * How a window operator's state is laid out in its partition's store, version 2. One
 * namespace per window (`window:<name>`); in it, keys are UTF-8 text and values msgpack:
 *
 *   meta                  {codec: 2, groups: KEY_GROUPS, watermark, rows} (rows: the
 *                         rows held at that checkpoint, for `sluice checkpoints`; absent
 *                         in values written before it was added)
 *   b/<start>             a tumbling/hopping window: {fired}
 *   b/<start>/<group>     that window's rows for the keys of one key group, by column:
 *                         {keys, refires, columns} (see `RowChunk`); `refires` is the
 *                         row count instead when every row has fired only with its window;
 *                         `keyText` (the keys joined by NUL) replaces `keys` when every key
 *                         value is a string without NUL: msgpack writes and reads one long
 *                         string two to three times faster than a million short ones
 *   s/<group>             the sessions of the keys of one key group: SessionState[]
 *
 * A checkpoint writes only what changed since the previous one (`captureChanges`): the
 * key groups of windows with a touched row, the marks of new or fired windows, the
 * session groups with a touched key; a purged window's `b/<start>` and everything under
 * `b/<start>/` are deleted in the same atomic batch. With 1024 key groups, a million keys
 * are about a thousand values per window, written and read whole.
 *
 * Version 1 (every checkpoint rewrote the namespace: `meta` {codec: 1}, one `b/<start>`
 * value per window, `s/<n>` chunks of 4096 sessions) is still read; the next checkpoint
 * clears the namespace and writes it whole in version 2. Any other version is refused
 * with an error naming it.
 */
import { pack, unpack } from 'msgpackr';
import type { PartitionStore } from '../../state/index.ts';
import {
  type EvictedChunk,
  KEY_GROUPS,
  type RowChunk,
  type SessionGroup,
  type SessionState,
  WindowOperator,
  type WindowOperatorConfig,
  type WindowOperatorState,
  type WindowStateChanges,
} from '../windows/index.ts';

export const WINDOW_STATE_CODEC_VERSION = 2;
/** The first version, still read (see above). */
const CODEC_VERSION_1 = 1;
const META_KEY = 'meta';

interface StoredMeta {
  codec: number;
  groups?: number;
  format?: 1;
  watermark: WindowOperatorState['watermark'];
  rows?: number;
}

/** The stored state of a window is in a layout this build does not read. */
export class WindowStateVersionError extends Error {
  readonly code = 'SLUICE_ERR_STATE_WINDOW_CODEC';
  readonly retriable = false;
  constructor(window: string, found: unknown) {
    super(
      `window ${window}: its stored state uses window state codec version ${String(found)}; this build reads versions ${CODEC_VERSION_1} and ${WINDOW_STATE_CODEC_VERSION}. Restore an older snapshot written by a compatible build, or start that window from an empty state directory.`,
    );
    this.name = 'WindowStateVersionError';
  }
}

export function windowNamespace(window: string): string {
  return `window:${window}`;
}

function markKey(start: number): string {
  return `b/${start}`;
}

function chunkKey(start: number, group: number): string {
  return `b/${start}/${group}`;
}

/** What one checkpoint writes for one window, in its namespace. */
export interface EncodedWindowChanges {
  puts: Array<[key: string, value: Buffer]>;
  deletes: string[];
  deletePrefixes: string[];
}

/**
 * What changed in `operator` since its previous capture (everything, when `whole`), as
 * the entries that record it; the operator counts as clean afterwards. Each row chunk is
 * encoded as soon as the operator builds it (see `WindowOperator.captureChanges`).
 */
export function captureWindowChanges(operator: WindowOperator, whole: boolean): EncodedWindowChanges {
  const chunkPuts: Array<[string, Buffer]> = [];
  const changes = operator.captureChanges(whole, (chunk, plainText) =>
    chunkPuts.push(encodeChunk(chunk, plainText)),
  );
  const encoded = encodeWindowChanges(changes);
  for (const put of chunkPuts) encoded.puts.push(put);
  return encoded;
}

/** The entries that record `changes` (see the layout above). */
export function encodeWindowChanges(changes: WindowStateChanges): EncodedWindowChanges {
  const puts: Array<[string, Buffer]> = [
    [
      META_KEY,
      pack({
        codec: WINDOW_STATE_CODEC_VERSION,
        groups: KEY_GROUPS,
        watermark: changes.watermark,
        rows: changes.rows,
      }),
    ],
  ];
  const deletes: string[] = [];
  const deletePrefixes: string[] = [];
  for (const start of changes.purged) {
    deletes.push(markKey(start));
    deletePrefixes.push(`${markKey(start)}/`);
  }
  for (const mark of changes.marks) puts.push([markKey(mark.start), pack({ fired: mark.fired })]);
  for (const chunk of changes.chunks) puts.push(encodeChunk(chunk, false));
  for (const { group, sessions } of changes.sessionGroups) {
    if (sessions.length === 0) deletes.push(`s/${group}`);
    else puts.push([`s/${group}`, pack(sessions)]);
  }
  return { puts, deletes, deletePrefixes };
}

/** The entry of one row chunk (`b/<start>/<group>`); `plainText`: its keys need no check for `keyText`. */
function encodeChunk(chunk: RowChunk, plainText: boolean): [string, Buffer] {
  const refires = chunk.refires.every((count) => count === 0) ? chunk.refires.length : chunk.refires;
  const keys = plainText && chunk.keys.length > 0 ? chunk.keys.join('\u0000') : keyText(chunk.keys);
  return [
    chunkKey(chunk.start, chunk.group),
    pack(
      keys === null
        ? { keys: chunk.keys, refires, columns: chunk.columns }
        : { keyText: keys, refires, columns: chunk.columns },
    ),
  ];
}

/**
 * The rows a window namespace held at its last checkpoint, as recorded in its meta entry;
 * null for a namespace that is not a window's or a meta written without the count.
 */
export async function storedWindowRows(namespace: string, store: PartitionStore): Promise<number | null> {
  if (!namespace.startsWith('window:')) return null;
  const metaBytes = await store.get(namespace, META_KEY);
  if (metaBytes === undefined) return null;
  const meta = unpack(metaBytes) as StoredMeta;
  return meta?.codec === WINDOW_STATE_CODEC_VERSION && typeof meta.rows === 'number' ? meta.rows : null;
}

/** The key values joined by NUL, or null when one is not a string or holds a NUL. */
function keyText(keys: readonly unknown[]): string | null {
  if (keys.length === 0) return null;
  for (const key of keys) if (typeof key !== 'string' || key.includes('\u0000')) return null;
  return keys.join('\u0000');
}

function decodeChunk(start: number, group: number, value: Buffer): RowChunk {
  const stored = unpack(value) as Omit<RowChunk, 'start' | 'group' | 'refires' | 'keys'> & {
    refires: number[] | number;
    keys?: unknown[];
    keyText?: string;
  };
  const refires =
    typeof stored.refires === 'number' ? new Array<number>(stored.refires).fill(0) : stored.refires;
  const keys = typeof stored.keyText === 'string' ? stored.keyText.split('\u0000') : (stored.keys ?? []);
  return { start, group, keys, refires, columns: stored.columns };
}

/** A restored window operator; `rewrite` when its stored layout is older and must be written whole. */
export interface RestoredWindow {
  operator: WindowOperator;
  rewrite: boolean;
}

/**
 * Reads a window's state back into a new operator; null when the namespace holds none.
 * Rows past `budgetBytes` (estimated) stay in the store, evicted, to be read back on
 * demand; null: no budget.
 */
export async function restoreWindow(
  store: PartitionStore,
  window: string,
  config: WindowOperatorConfig,
  budgetBytes: number | null,
): Promise<RestoredWindow | null> {
  const namespace = windowNamespace(window);
  const metaBytes = await store.get(namespace, META_KEY);
  if (metaBytes === undefined) return null;
  const meta = unpack(metaBytes) as StoredMeta;
  if (meta?.codec === CODEC_VERSION_1) {
    return {
      operator: WindowOperator.restore(config, await readVersion1(store, namespace, meta)),
      rewrite: true,
    };
  }
  if (meta?.codec !== WINDOW_STATE_CODEC_VERSION) throw new WindowStateVersionError(window, meta?.codec);
  if (meta.groups !== KEY_GROUPS) {
    throw new WindowStateVersionError(
      window,
      `${meta.codec} with ${meta.groups} key groups (this build: ${KEY_GROUPS})`,
    );
  }
  const operator = new WindowOperator(config);
  operator.restoreWatermark(meta.watermark);
  const budget = budgetBytes ?? Number.POSITIVE_INFINITY;
  for await (const [keyBytes, value] of store.entries(namespace)) {
    const key = keyBytes.toString('utf8');
    if (key === META_KEY) continue;
    if (key.startsWith('s/')) {
      operator.restoreSessionGroup(
        { group: Number(key.slice(2)), sessions: unpack(value) as SessionState[] },
        operator.estimatedBytes < budget,
      );
      continue;
    }
    const slash = key.indexOf('/', 2);
    if (!key.startsWith('b/')) throw new Error(`window ${window}: unknown stored key ${JSON.stringify(key)}`);
    if (slash < 0) {
      operator.restoreMark({
        start: Number(key.slice(2)),
        fired: (unpack(value) as { fired: boolean }).fired,
      });
      continue;
    }
    const chunk = decodeChunk(Number(key.slice(2, slash)), Number(key.slice(slash + 1)), value);
    operator.restoreChunk(chunk, operator.estimatedBytes < budget);
  }
  return { operator, rewrite: false };
}

/** The stored values of evicted pieces, in the order asked. */
export async function readEvicted(
  store: PartitionStore,
  window: string,
  pieces: readonly EvictedChunk[],
): Promise<RowChunk[]> {
  const values = await readStored(
    store,
    window,
    pieces.map(({ start, group }) => [chunkKey(start, group), `rows of window ${start}, key group ${group}`]),
  );
  return pieces.map(({ start, group }, index) => decodeChunk(start, group, values[index]));
}

/** The stored sessions of evicted key groups (`s/<group>`), in the order asked. */
export async function readEvictedSessions(
  store: PartitionStore,
  window: string,
  groups: readonly number[],
): Promise<SessionGroup[]> {
  const values = await readStored(
    store,
    window,
    groups.map((group) => [`s/${group}`, `sessions of key group ${group}`]),
  );
  return groups.map((group, index) => ({ group, sessions: unpack(values[index]) as SessionState[] }));
}

/** Values an evicted piece must have in the store, with one `getMany`; a missing one is a corrupt state. */
async function readStored(
  store: PartitionStore,
  window: string,
  keys: ReadonlyArray<[key: string, what: string]>,
): Promise<Buffer[]> {
  const values = await store.getMany(
    windowNamespace(window),
    keys.map(([key]) => key),
  );
  return values.map((value, index) => {
    if (value === undefined)
      throw new Error(`window ${window}: evicted ${keys[index][1]} are not in the store`);
    return value;
  });
}

/** Version 1: one value per window, sessions in chunks; read whole. */
async function readVersion1(
  store: PartitionStore,
  namespace: string,
  meta: StoredMeta,
): Promise<WindowOperatorState> {
  const buckets: WindowOperatorState['buckets'] = [];
  const sessions: WindowOperatorState['sessions'] = [];
  for await (const [key, value] of store.entries(namespace)) {
    const name = key.toString('utf8');
    if (name.startsWith('b/')) buckets.push(unpack(value));
    else if (name.startsWith('s/')) sessions.push(...(unpack(value) as WindowOperatorState['sessions']));
  }
  buckets.sort((a, b) => a.start - b.start);
  return { format: meta.format ?? 1, watermark: meta.watermark, buckets, sessions };
}
