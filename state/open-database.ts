import { ClassicLevel } from 'classic-level';
import type { CheckpointRecord } from './checkpoint-record.ts';
import {
  CHECKPOINT_KEY,
  decodeCheckpointRecord,
  decodeCounter,
  encodeFormatVersion,
  FORMAT_KEY,
  HIGH_ID_KEY,
  RESTORING_KEY,
  STATE_FORMAT_VERSION,
} from './key-layout.ts';
import { StateFormatError, StateLockedError, StateUnreadableError } from './state-errors.ts';

/**
 * Opening a partition's LevelDB database and checking it is one this build can
 * trust: LevelDB errors become state errors (locked vs unreadable), the format
 * version is checked or stamped on a new database, and a cut-short restore is refused.
 */

export type Database = ClassicLevel<Buffer, Buffer>;

export async function openDatabase(dbDir: string, createIfMissing: boolean): Promise<Database> {
  const db = new ClassicLevel<Buffer, Buffer>(dbDir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  try {
    await db.open({ createIfMissing });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code === 'LEVEL_LOCKED') throw new StateLockedError(dbDir, error);
    throw new StateUnreadableError(dbDir, cause?.message ?? (error as Error).message, error);
  }
  return db;
}

export async function loadCheckpoint(
  db: Database,
  dbDir: string,
): Promise<{ record: CheckpointRecord | null; highId: number }> {
  const format = await db.get(FORMAT_KEY);
  if (format === undefined) {
    const anyKey = await db.keys({ limit: 1 }).all();
    if (anyKey.length > 0)
      throw new StateUnreadableError(dbDir, 'no format version: not a sluice state database');
    await db.put(FORMAT_KEY, encodeFormatVersion(), { sync: true });
  } else if (format.toString('latin1') !== String(STATE_FORMAT_VERSION)) {
    throw new StateFormatError(dbDir, format.toString('latin1'), STATE_FORMAT_VERSION);
  }
  const restoring = await db.get(RESTORING_KEY);
  if (restoring !== undefined) {
    throw new StateUnreadableError(
      dbDir,
      'a snapshot restore was cut short',
      undefined,
      restoring.toString('utf8'),
    );
  }
  const bytes = await db.get(CHECKPOINT_KEY);
  let record: CheckpointRecord | null = null;
  if (bytes !== undefined) {
    try {
      record = decodeCheckpointRecord(bytes);
    } catch (error) {
      throw new StateUnreadableError(
        dbDir,
        `checkpoint record does not decode: ${(error as Error).message}`,
        error,
      );
    }
  }
  return { record, highId: Math.max(decodeCounter(await db.get(HIGH_ID_KEY)), record?.id ?? 0) };
}
