import { mkdir, rm } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { type CheckpointContent, type CheckpointRecord, nextCheckpointRecord } from './checkpoint-record.ts';
import {
  allNamespacesRange,
  CHECKPOINT_KEY,
  decodeCheckpointRecord,
  encodeCheckpointRecord,
  encodeCounter,
  encodeFormatVersion,
  entryKey,
  FORMAT_KEY,
  HIGH_ID_KEY,
  namespacePrefix,
  namespaceRange,
  RESTORING_KEY,
} from './key-layout.ts';
import { type Database, loadCheckpoint, openDatabase } from './open-database.ts';
import {
  listSnapshotsIn,
  pruneSnapshots,
  type SnapshotInfo,
  snapshotFiles,
  snapshotPath,
  snapshotTempPath,
} from './snapshot-directory.ts';
import { readSnapshotFile, SnapshotFileWriter, verifySnapshotFile } from './snapshot-file.ts';
import { SnapshotInvalidError, StateUsageError } from './state-errors.ts';

/**
 * One atomic change: applied as `clear`, then `deletePrefixes`, then `deletes`, then
 * `puts` (a key both deleted and put ends up put).
 */
export interface CommitChange {
  checkpoint: CheckpointContent;
  puts: Array<[namespace: string, key: Buffer | string, value: Buffer]>;
  deletes: Array<[namespace: string, key: Buffer | string]>;
  /** Namespaces whose every entry is deleted first, in the same batch. */
  clear?: string[];
  /** Every entry of the namespace whose key starts with the prefix is deleted, in the same batch. */
  deletePrefixes?: Array<[namespace: string, prefix: Buffer | string]>;
}

export interface PartitionStoreOptions {
  /** `<state.dir>/<source>/<partition>`; holds `db/` and `snapshots/`. */
  dir: string;
  /** False: fail with `StateUnreadableError` instead of creating a missing database (inspection). Default true. */
  createIfMissing?: boolean;
}

const READ_BATCH = 1000;

/** Calls `visit` with every key in `range`, read in chunks; the iterator is always closed. */
async function forEachKey(
  db: Database,
  range: { gte: Buffer; lt: Buffer },
  visit: (key: Buffer) => void,
): Promise<void> {
  const keys = db.keys(range);
  try {
    for (let chunk = await keys.nextv(READ_BATCH); chunk.length > 0; chunk = await keys.nextv(READ_BATCH)) {
      for (const key of chunk) visit(key);
    }
  } finally {
    await keys.close();
  }
}

/** The first key after every key that starts with `prefix` (non-empty, ends below 0xff). */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  let index = end.length - 1;
  while (index >= 0 && end[index] === 0xff) index--;
  if (index < 0) throw new StateUsageError('a key prefix of only 0xff bytes has no end');
  end[index]++;
  return end.subarray(0, index + 1);
}
const RESTORE_BATCH = 10_000;

/**
 * The state of one source partition: namespaces of opaque entries plus one checkpoint
 * record, in a LevelDB database of its own, with snapshot files beside it.
 *
 * Threading model: a store belongs to the one partition actor that opened it and is
 * used from that actor's thread only. LevelDB's lock keeps any second opener, in this
 * process or another, out. Writes (`commit`, `restoreSnapshot`, `close`) run one at a
 * time in call order; reads (`get`, `entries`, `snapshot`) see a consistent point-in-time
 * view and may overlap commits.
 *
 * Life cycle: `open` → any calls → `close`. A restore that fails half-way leaves the
 * database marked, so a later open reports it unreadable and recovery restores again.
 */
export class PartitionStore {
  /** The last committed checkpoint, or null for a fresh partition. */
  get checkpoint(): CheckpointRecord | null {
    return this.current;
  }

  readonly dir: string;
  readonly snapshotsDir: string;
  private readonly dbDir: string;
  private db: Database;
  private current: CheckpointRecord | null;
  /** Highest id ever committed here; ids keep growing across roll-backs. */
  private highId: number;
  private closed = false;
  private writeChain: Promise<unknown> = Promise.resolve();
  private readonly readers = new Set<Promise<unknown>>();
  private readonly prefixes = new Map<string, Buffer>();
  /** The restore in progress, if any: snapshots wait for it. */
  private restoring: Promise<CheckpointRecord> | null = null;

  private constructor(dir: string, db: Database, current: CheckpointRecord | null, highId: number) {
    this.dir = dir;
    this.dbDir = join(dir, 'db');
    this.snapshotsDir = join(dir, 'snapshots');
    this.db = db;
    this.current = current;
    this.highId = highId;
  }

  /** Opens (creating folders and database if missing) and loads the checkpoint record. */
  static async open(options: PartitionStoreOptions): Promise<PartitionStore> {
    const dir = resolve(options.dir);
    const createIfMissing = options.createIfMissing ?? true;
    if (createIfMissing) await mkdir(join(dir, 'snapshots'), { recursive: true });
    const db = await openDatabase(join(dir, 'db'), createIfMissing);
    try {
      const { record, highId } = await loadCheckpoint(db, join(dir, 'db'));
      return new PartitionStore(dir, db, record, highId);
    } catch (error) {
      await db.close();
      throw error;
    }
  }

  /**
   * All entries of a namespace, streamed in key order, a thousand at a time (never all
   * in memory). Each `for await` gets its own point-in-time view. A plain iterator
   * object rather than an async generator: this is the restore hot path, and a
   * generator costs several promise hops per entry.
   */
  entries(namespace: string): AsyncIterable<[key: Buffer, value: Buffer]> {
    this.assertOpen();
    const range = namespaceRange(namespace);
    const skip = range.gte.length;
    const db = this.db;
    return {
      [Symbol.asyncIterator]() {
        const iterator = db.iterator(range);
        let chunk: Array<[Buffer, Buffer]> = [];
        let index = 0;
        let finished = false;
        const finish = async (): Promise<IteratorResult<[Buffer, Buffer]>> => {
          if (!finished) {
            finished = true;
            await iterator.close();
          }
          return { value: undefined, done: true };
        };
        return {
          async next(): Promise<IteratorResult<[Buffer, Buffer]>> {
            if (index === chunk.length) {
              if (finished) return { value: undefined, done: true };
              chunk = await iterator.nextv(READ_BATCH);
              index = 0;
              if (chunk.length === 0) return finish();
            }
            const [key, value] = chunk[index++];
            return { value: [key.subarray(skip), value], done: false };
          },
          return: finish,
        };
      },
    };
  }

  /** Entry count of every non-empty namespace, by a full key scan (inspection, not the hot path). */
  async namespaceCounts(): Promise<Record<string, number>> {
    this.assertOpen();
    const counts: Record<string, number> = {};
    const range = allNamespacesRange();
    await forEachKey(this.db, range, (key) => {
      const namespace = key.toString('utf8', range.gte.length, key.indexOf(0, range.gte.length));
      counts[namespace] = (counts[namespace] ?? 0) + 1;
    });
    return counts;
  }

  /**
   * Entries and stored bytes (keys within the namespace plus values) of every non-empty
   * namespace, by a full scan (inspection, not the hot path).
   */
  async namespaceStats(): Promise<Record<string, { entries: number; bytes: number }>> {
    this.assertOpen();
    const stats: Record<string, { entries: number; bytes: number }> = {};
    const range = allNamespacesRange();
    const entries = this.db.iterator(range);
    try {
      for (
        let chunk = await entries.nextv(READ_BATCH);
        chunk.length > 0;
        chunk = await entries.nextv(READ_BATCH)
      ) {
        for (const [key, value] of chunk) {
          const end = key.indexOf(0, range.gte.length);
          const namespace = key.toString('utf8', range.gte.length, end);
          let stat = stats[namespace];
          if (stat === undefined) {
            stat = { entries: 0, bytes: 0 };
            stats[namespace] = stat;
          }
          stat.entries++;
          stat.bytes += key.length - end - 1 + value.length;
        }
      }
    } finally {
      await entries.close();
    }
    return stats;
  }

  /** One entry, or undefined (read-back of keys evicted from memory). */
  async get(namespace: string, key: Buffer | string): Promise<Buffer | undefined> {
    this.assertOpen();
    return this.db.get(entryKey(this.prefix(namespace), key));
  }

  /** Several entries of one namespace in one LevelDB call; undefined for each key not stored. */
  async getMany(namespace: string, keys: ReadonlyArray<Buffer | string>): Promise<Array<Buffer | undefined>> {
    this.assertOpen();
    const prefix = this.prefix(namespace);
    return this.db.getMany(keys.map((key) => entryKey(prefix, key)));
  }

  /** ONE atomic, fsynced write batch: the change and the new checkpoint record, all durable or none. */
  commit(change: CommitChange): Promise<CheckpointRecord> {
    return this.serialize(async () => {
      const record = nextCheckpointRecord(change.checkpoint, this.highId, Date.now());
      const batch = this.db.batch();
      try {
        for (const namespace of change.clear ?? []) {
          await forEachKey(this.db, namespaceRange(namespace), (key) => batch.del(key));
        }
        for (const [namespace, prefix] of change.deletePrefixes ?? []) {
          const gte = entryKey(this.prefix(namespace), prefix);
          await forEachKey(this.db, { gte, lt: prefixEnd(gte) }, (key) => batch.del(key));
        }
        for (const [namespace, key] of change.deletes) batch.del(entryKey(this.prefix(namespace), key));
        for (const [namespace, key, value] of change.puts) {
          if (!(value instanceof Uint8Array))
            throw new StateUsageError(`value for ${namespace} is not a Buffer`);
          batch.put(entryKey(this.prefix(namespace), key), value as Buffer);
        }
        batch.put(CHECKPOINT_KEY, encodeCheckpointRecord(record));
        batch.put(HIGH_ID_KEY, encodeCounter(record.id));
      } catch (error) {
        await batch.close();
        throw error;
      }
      await batch.write({ sync: true });
      this.current = record;
      this.highId = record.id;
      return record;
    });
  }

  /** Writes a snapshot file of the whole current state and keeps the newest `keep` files. */
  async snapshot(keep: number): Promise<SnapshotInfo> {
    this.assertOpen();
    if (!Number.isSafeInteger(keep) || keep < 1)
      throw new StateUsageError(`snapshot keep must be ≥ 1, got ${keep}`);
    // A restore swaps the database underneath; a snapshot asked for meanwhile waits for it.
    if (this.restoring !== null) await this.restoring.catch(() => {});
    this.assertOpen();
    const run = this.writeSnapshot(keep);
    this.readers.add(run);
    return run.finally(() => this.readers.delete(run));
  }

  /**
   * Replaces the database content with a snapshot's (roll-back, restore from scratch,
   * hand-off). `file` is a path, or a bare file name in this partition's snapshots folder.
   * The file is verified in full before anything is touched.
   */
  restoreSnapshot(file: string): Promise<CheckpointRecord> {
    const run = this.serialize(async () => {
      await Promise.allSettled([...this.readers]);
      const path = isAbsolute(file) || file.includes('/') ? resolve(file) : join(this.snapshotsDir, file);
      const check = await verifySnapshotFile(path);
      if (!check.valid) throw new SnapshotInvalidError(path, check.reason);
      const newestFile = (await snapshotFiles(this.snapshotsDir))[0]?.id ?? 0;
      const floorId = Math.max(this.highId, newestFile);
      await this.db.put(RESTORING_KEY, Buffer.from(path, 'utf8'), { sync: true });
      await this.db.close();
      await rm(this.dbDir, { recursive: true, force: true });
      this.db = await openDatabase(this.dbDir, true);
      await this.db.batch(
        [
          { type: 'put', key: FORMAT_KEY, value: encodeFormatVersion() },
          { type: 'put', key: RESTORING_KEY, value: Buffer.from(path, 'utf8') },
        ],
        { sync: true },
      );
      this.current = null;
      let record: CheckpointRecord | null = null;
      let batch = this.db.batch();
      await readSnapshotFile(path, {
        onRecord: (bytes) => {
          record = decodeCheckpointRecord(bytes);
        },
        onEntry: (namespace, key, value) => {
          batch.put(entryKey(this.prefix(namespace), key), value);
          if (batch.length < RESTORE_BATCH) return;
          const full = batch;
          batch = this.db.batch();
          return full.write();
        },
      });
      const restored = record as unknown as CheckpointRecord;
      const highId = Math.max(floorId, restored.id);
      batch.put(CHECKPOINT_KEY, encodeCheckpointRecord(restored));
      batch.put(HIGH_ID_KEY, encodeCounter(highId));
      batch.del(RESTORING_KEY);
      await batch.write({ sync: true });
      this.current = restored;
      this.highId = highId;
      return restored;
    });
    this.restoring = run;
    const settle = () => {
      if (this.restoring === run) this.restoring = null;
    };
    run.then(settle, settle);
    return run;
  }

  /** Snapshot files of this partition, newest first, each verified; never throws for a bad file. */
  listSnapshots(): Promise<SnapshotInfo[]> {
    return listSnapshotsIn(this.snapshotsDir);
  }

  /** Waits for running work, then closes the database; open `entries()` iterations end with an error. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.serialize(async () => {
      await Promise.allSettled([...this.readers]);
      this.closed = true;
      await this.db.close();
    });
  }

  private async writeSnapshot(keep: number): Promise<SnapshotInfo> {
    // One iterator from `c/current` on sees the record and every entry at one instant.
    const iterator = this.db.iterator({ gte: CHECKPOINT_KEY, lt: allNamespacesRange().lt });
    let writer: SnapshotFileWriter | null = null;
    try {
      const first = await iterator.nextv(READ_BATCH);
      if (first.length === 0 || !first[0][0].equals(CHECKPOINT_KEY)) {
        throw new StateUsageError('nothing to snapshot: the partition has no checkpoint yet');
      }
      const record = decodeCheckpointRecord(first[0][1]);
      const temp = snapshotTempPath(this.snapshotsDir, record.id);
      writer = await SnapshotFileWriter.create(temp, first[0][1]);
      const namespaceStart = allNamespacesRange().gte.length;
      for (let chunk = first; chunk.length > 0; chunk = await iterator.nextv(READ_BATCH)) {
        let full = false;
        for (const [key, value] of chunk) {
          if (key[0] !== 0x6e) continue; // not `n/…`: the record and meta keys
          const end = key.indexOf(0, namespaceStart);
          full = writer.add(key.subarray(namespaceStart, end), key.subarray(end + 1), value) || full;
        }
        if (full) await writer.flush();
      }
      const file = snapshotPath(this.snapshotsDir, record.id);
      const { bytes, entries } = await writer.commit(file, record.id, record.createdAt);
      writer = null;
      await pruneSnapshots(this.snapshotsDir, keep);
      return { file, id: record.id, createdAt: record.createdAt, bytes, entries, valid: true };
    } finally {
      await iterator.close();
      if (writer !== null) await writer.abort();
    }
  }

  private prefix(namespace: string): Buffer {
    let prefix = this.prefixes.get(namespace);
    if (prefix === undefined) {
      prefix = namespacePrefix(namespace);
      this.prefixes.set(namespace, prefix);
    }
    return prefix;
  }

  private serialize<T>(work: () => Promise<T>): Promise<T> {
    const run = this.writeChain.then(() => {
      this.assertOpen();
      return work();
    });
    this.writeChain = run.catch(() => {});
    return run;
  }

  private assertOpen(): void {
    if (this.closed) throw new StateUsageError(`partition store ${this.dir} is closed`);
  }
}
