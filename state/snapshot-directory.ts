import { mkdir, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDirectory, verifySnapshotFile } from './snapshot-file.ts';
import { parseSnapshotFileName, snapshotFileName } from './snapshot-format.ts';

/**
 * The `snapshots/` folder of a partition: naming, listing with verification, and
 * keeping the newest K. One file per checkpoint id, so writing a snapshot of the
 * same checkpoint twice replaces the file with identical bytes.
 */

/** One snapshot file as `listSnapshots` reports it. */
export interface SnapshotInfo {
  /** Absolute path of the file. */
  file: string;
  /** Checkpoint id the snapshot holds (from the file name, so known even for a corrupt file). */
  id: number;
  /** The checkpoint's `createdAt`; null when the header cannot be trusted. */
  createdAt: number | null;
  /** Size on disk. */
  bytes: number;
  /** Namespace entries in the snapshot; null when the header cannot be trusted. */
  entries: number | null;
  /** True when magic, version, lengths, framing and CRCs all check out. */
  valid: boolean;
  /** Why the file is invalid (absent when valid). */
  reason?: string;
}

/** Sub-folder that roll-backs move abandoned newer snapshots into (kept for people, never restored from). */
export const ROLLED_BACK_DIR = 'rolled-back';

const TEMP_SUFFIX = '.tmp';

export function snapshotPath(dir: string, checkpointId: number): string {
  return join(dir, snapshotFileName(checkpointId));
}

export function snapshotTempPath(dir: string, checkpointId: number): string {
  return join(dir, `.${snapshotFileName(checkpointId)}.${process.pid}${TEMP_SUFFIX}`);
}

/** Snapshot files in `dir`, newest (highest id) first, without reading them. */
export async function snapshotFiles(dir: string): Promise<Array<{ file: string; id: number }>> {
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  return names
    .map((name) => ({ file: join(dir, name), id: parseSnapshotFileName(name) }))
    .filter((entry): entry is { file: string; id: number } => entry.id !== null)
    .sort((a, b) => b.id - a.id);
}

/** Every snapshot in `dir`, newest first, each fully verified. Never throws for a bad file. */
export async function listSnapshotsIn(dir: string): Promise<SnapshotInfo[]> {
  const infos: SnapshotInfo[] = [];
  for (const { file, id } of await snapshotFiles(dir)) {
    const check = await verifySnapshotFile(file);
    infos.push(
      check.valid
        ? {
            file,
            id,
            createdAt: check.header.createdAt,
            bytes: check.bytes,
            entries: check.header.entryCount,
            valid: true,
          }
        : {
            file,
            id,
            createdAt: null,
            bytes: check.bytes,
            entries: null,
            valid: false,
            reason: check.reason,
          },
    );
  }
  return infos;
}

/**
 * Keeps the newest `keep` snapshot files and deletes older ones and leftover temp
 * files of crashed writes (safe: the database lock makes this process the folder's
 * only writer, and its own snapshot writes are serialized). Validity is not re-checked here: each file was verified
 * by construction when written, and `openWithRecovery` skips any that rotted since.
 */
export async function pruneSnapshots(dir: string, keep: number): Promise<string[]> {
  const deleted: string[] = [];
  const files = await snapshotFiles(dir);
  for (const { file } of files.slice(Math.max(1, keep))) {
    await unlink(file);
    deleted.push(file);
  }
  for (const name of await readdir(dir)) {
    if (name.startsWith('.snapshot-') && name.endsWith(TEMP_SUFFIX)) {
      await unlink(join(dir, name)).catch(() => {});
      deleted.push(join(dir, name));
    }
  }
  if (deleted.length > 0) await syncDirectory(dir);
  return deleted;
}

/** Moves snapshots newer than `checkpointId` aside, so recovery never picks an abandoned line of history. */
export async function setAsideNewerThan(dir: string, checkpointId: number): Promise<string[]> {
  const moved: string[] = [];
  const newer = (await snapshotFiles(dir)).filter((entry) => entry.id > checkpointId);
  if (newer.length === 0) return moved;
  const aside = join(dir, ROLLED_BACK_DIR);
  await mkdir(aside, { recursive: true });
  const stamp = Date.now();
  for (const { file, id } of newer) {
    const target = join(aside, `${stamp}-${snapshotFileName(id)}`);
    await rename(file, target);
    moved.push(target);
  }
  await syncDirectory(aside);
  await syncDirectory(dir);
  return moved;
}
