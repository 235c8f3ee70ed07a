import { rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PartitionStore } from './partition-store.ts';
import { snapshotFiles } from './snapshot-directory.ts';
import { verifySnapshotFile } from './snapshot-file.ts';
import { NoValidSnapshotError, StateUnreadableError } from './state-errors.ts';

export interface RecoveryOptions {
  /** `<state.dir>/<source>/<partition>`. */
  dir: string;
  /** Told about each snapshot skipped because it failed verification (log it; it is also counted). */
  onFallback?(info: { file: string; reason: string }): void;
}

export interface RecoveredStore {
  store: PartitionStore;
  /** The snapshot the database was rebuilt from; null when the database was used as it was. */
  restoredFrom: string | null;
  /** Invalid snapshots skipped before a valid one was found. */
  fallbacks: number;
}

/** Where an unreadable database is moved before being rebuilt: one copy kept for a post-mortem. */
export const UNREADABLE_DB_DIR = 'db.unreadable';

/**
 * Opens a partition's store, rebuilding the database from snapshots when needed:
 *
 * - a readable database with a checkpoint is used as it is (the normal restart);
 * - a missing or empty database with snapshots beside it (state lost, or a hand-off
 *   that shipped only snapshots) is restored from the newest valid snapshot;
 * - an unreadable database (corrupt files, a restore cut short) is set aside and
 *   rebuilt the same way — from the interrupted restore's own snapshot first, if valid.
 *
 * Invalid snapshots are skipped newest to oldest, each reported to `onFallback` and
 * counted. With no valid snapshot the database is left untouched and the call fails,
 * because starting empty would silently drop state. A database locked by another
 * owner or written in an unknown format is never "recovered": those errors pass through.
 */
export async function openWithRecovery(options: RecoveryOptions): Promise<RecoveredStore> {
  const dir = resolve(options.dir);
  let store: PartitionStore | null = null;
  let unreadable: StateUnreadableError | null = null;
  try {
    store = await PartitionStore.open({ dir });
  } catch (error) {
    if (!(error instanceof StateUnreadableError)) throw error;
    unreadable = error;
  }
  if (store?.checkpoint) return { store, restoredFrom: null, fallbacks: 0 };

  const candidates = (await snapshotFiles(join(dir, 'snapshots'))).map((entry) => entry.file);
  if (unreadable?.restoringFrom !== undefined) candidates.unshift(unreadable.restoringFrom);
  if (candidates.length === 0) {
    if (store !== null) return { store, restoredFrom: null, fallbacks: 0 };
    throw unreadable;
  }

  let fallbacks = 0;
  for (const file of new Set(candidates)) {
    const check = await verifySnapshotFile(file);
    if (!check.valid) {
      fallbacks += 1;
      options.onFallback?.({ file, reason: check.reason });
      continue;
    }
    store ??= await replaceUnreadableDatabase(dir);
    await store.restoreSnapshot(file);
    return { store, restoredFrom: file, fallbacks };
  }
  await store?.close();
  throw new NoValidSnapshotError(dir, fallbacks);
}

/** Moves an unreadable database to `db.unreadable` (replacing an older one) and opens a fresh, empty one. */
export async function replaceUnreadableDatabase(dir: string): Promise<PartitionStore> {
  await rm(join(dir, UNREADABLE_DB_DIR), { recursive: true, force: true });
  await rename(join(dir, 'db'), join(dir, UNREADABLE_DB_DIR)).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  return PartitionStore.open({ dir });
}
