import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { CheckpointRecord } from './checkpoint-record.ts';
import { replaceUnreadableDatabase } from './open-with-recovery.ts';
import { PartitionStore } from './partition-store.ts';
import { listSnapshotsIn, type SnapshotInfo, setAsideNewerThan } from './snapshot-directory.ts';
import { verifySnapshotFile } from './snapshot-file.ts';
import { SnapshotInvalidError, StateError, StateUnreadableError } from './state-errors.ts';

/**
 * Looking at and rolling back partition state without a running partition actor —
 * what `sluice checkpoints` shows and does. A partition whose actor is running is
 * reported as locked (LevelDB admits one opener), with its snapshots still listed.
 */

/** What a namespace holds, as its owner reads it (e.g. a window's row count from its meta entry). */
export type NamespaceReader = (namespace: string, store: PartitionStore) => Promise<number | null>;

export interface NamespaceDetail {
  entries: number;
  /** Bytes of its keys and values as stored (before LevelDB's compression). */
  bytes: number;
  /** Rows it holds as its `NamespaceReader` counts them; null when unknown (no reader, or not its kind). */
  rows: number | null;
}

export interface PartitionSummary {
  source: string;
  partition: string;
  /** `<stateDir>/<source>/<partition>`. */
  dir: string;
  /** `ok`: database read; `locked`: in use by a running process; `unreadable`/`missing`: see `reason`. */
  status: 'ok' | 'locked' | 'unreadable' | 'missing';
  reason?: string;
  checkpoint: CheckpointRecord | null;
  /** Entries per namespace (empty unless status is ok). */
  namespaces: Record<string, number>;
  /** Entries, stored bytes and rows per namespace (empty unless status is ok). */
  details: Record<string, NamespaceDetail>;
  /** Bytes of the LevelDB files. */
  databaseBytes: number;
  /** Newest first, each verified. */
  snapshots: SnapshotInfo[];
}

/**
 * Every `<source>/<partition>` under `stateDir` that holds a database or snapshots, in name
 * order. `rowsOf` reads the row count of a namespace whose layout its caller knows.
 */
export async function listPartitions(
  stateDir: string,
  rowsOf?: NamespaceReader,
): Promise<PartitionSummary[]> {
  const root = resolve(stateDir);
  const summaries: PartitionSummary[] = [];
  for (const source of await subdirectories(root)) {
    const partitions = await subdirectories(join(root, source));
    partitions.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    for (const partition of partitions) {
      const dir = join(root, source, partition);
      const contents = await subdirectories(dir);
      if (!contents.includes('db') && !contents.includes('snapshots')) continue;
      summaries.push(await summarize(source, partition, dir, rowsOf));
    }
  }
  return summaries;
}

/** One partition's summary (see `listPartitions`). */
export async function summarize(
  source: string,
  partition: string,
  dir: string,
  rowsOf?: NamespaceReader,
): Promise<PartitionSummary> {
  const summary: PartitionSummary = {
    source,
    partition,
    dir,
    status: 'ok',
    checkpoint: null,
    namespaces: {},
    details: {},
    databaseBytes: await folderBytes(join(dir, 'db')),
    snapshots: await listSnapshotsIn(join(dir, 'snapshots')),
  };
  let store: PartitionStore | null = null;
  try {
    store = await PartitionStore.open({ dir, createIfMissing: false });
    summary.checkpoint = store.checkpoint;
    for (const [namespace, stat] of Object.entries(await store.namespaceStats())) {
      summary.namespaces[namespace] = stat.entries;
      const rows = rowsOf === undefined ? null : await rowsOf(namespace, store);
      summary.details[namespace] = { ...stat, rows };
    }
  } catch (error) {
    if (!(error instanceof StateError)) throw error;
    const missing = error instanceof StateUnreadableError && (await folderBytes(join(dir, 'db'))) === 0;
    summary.status = missing ? 'missing' : error.code === 'SLUICE_ERR_STATE_LOCKED' ? 'locked' : 'unreadable';
    summary.reason = error.message;
  } finally {
    await store?.close();
  }
  return summary;
}

export interface RollBackResult {
  /** The checkpoint the partition holds now. */
  checkpoint: CheckpointRecord;
  /** The checkpoint it held before, when its database was readable. */
  previous: CheckpointRecord | null;
  /** Newer snapshots moved to `snapshots/rolled-back/` so recovery never picks them. */
  setAside: string[];
}

/**
 * Rolls one partition back to a snapshot: verifies it, moves newer snapshots aside,
 * then replaces the database with the snapshot's content. `snapshotFile` is a path or
 * a bare file name in the partition's snapshots folder. The partition must not be
 * running (its database lock is required). A database too damaged to open is rebuilt.
 * A crash part-way leaves either the old database (run it again) or a marked one
 * that `openWithRecovery` finishes restoring from the same snapshot.
 */
export async function rollBack(
  stateDir: string,
  source: string,
  partition: string,
  snapshotFile: string,
): Promise<RollBackResult> {
  const dir = join(resolve(stateDir), source, partition);
  const file =
    isAbsolute(snapshotFile) || snapshotFile.includes('/')
      ? resolve(snapshotFile)
      : join(dir, 'snapshots', snapshotFile);
  const check = await verifySnapshotFile(file);
  if (!check.valid) throw new SnapshotInvalidError(file, check.reason);
  let store: PartitionStore;
  try {
    store = await PartitionStore.open({ dir, createIfMissing: false });
  } catch (error) {
    if (!(error instanceof StateUnreadableError)) throw error;
    store = await replaceUnreadableDatabase(dir);
  }
  try {
    const previous = store.checkpoint;
    const setAside = await setAsideNewerThan(join(dir, 'snapshots'), check.header.checkpointId);
    const checkpoint = await store.restoreSnapshot(file);
    return { checkpoint, previous, setAside };
  } finally {
    await store.close();
  }
}

async function subdirectories(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
}

async function folderBytes(dir: string): Promise<number> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  let total = 0;
  for (const entry of entries) {
    const path = join(dir, entry.name);
    total += entry.isDirectory()
      ? await folderBytes(path)
      : await stat(path).then(
          (info) => info.size,
          () => 0,
        );
  }
  return total;
}
