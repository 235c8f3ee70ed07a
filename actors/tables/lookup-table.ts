/**
 * The durable side of one lookup table: its rows in a LevelDB database of its own
 * (`<state.dir>/@tables/<name>/`, key layout in `state/key-layout.ts`), kept current by
 * the changes of its CDC table partition and checkpointed together with the CDC position
 * of the last change applied.
 *
 * Changes are applied in the table's own order (the CDC position order). A change at or
 * before the applied position is skipped, so a change Postgres re-sends after a restart
 * (the slot confirms only what every consumer checkpointed) is never applied twice.
 * Applied changes wait in a dirty map until `checkpoint` writes them, with the position,
 * in one atomic batch: after a crash the table restores that batch and the CDC stream
 * resumes after its position, so nothing is lost or doubled and nothing is re-snapshotted.
 *
 * Memory: only the changes since the last checkpoint are held here; the lookups are
 * served by the in-memory replicas on the workers (`table-replica.ts`).
 *
 * Threading model: main thread; owned by `LookupTables`, one call at a time (`apply`
 * and `checkpoint` are awaited in turn by their callers, which the store serializes).
 */
import type { Logger } from '../../runtime/logger.ts';
import { openWithRecovery, type PartitionStore } from '../../state/index.ts';
import { decodeTableRow, encodeTableRow, TABLE_ROWS_NAMESPACE, tableRowKey } from '../../state/key-layout.ts';
import { type CdcPosition, comparePositions, parsePosition } from '../cdc/lsn.ts';
import { type TableRow, tableChange } from './table-change.ts';

/** One change as the replicas apply it: the row now held under `key`, or null when removed. */
export type ReplicaChange = [key: string, row: TableRow | null];

export interface LookupTableOptions {
  name: string;
  /** `<state.dir>/@tables/<name>`. */
  dir: string;
  keyColumn: string;
  /** Snapshot files kept, and a snapshot file every this many checkpoints. */
  keep: number;
  snapshotEvery: number;
  log: Logger;
}

/** Counts since the table opened, for metrics and tests. */
export interface TableCounters {
  upserts: number;
  deletes: number;
  /** Changes at or before the applied position (re-sent after a restart). */
  repeated: number;
  /** Changes without a usable key. */
  unusable: number;
}

export class LookupTable {
  readonly name: string;
  readonly counters: TableCounters = { upserts: 0, deletes: 0, repeated: 0, unusable: 0 };
  readonly #store: PartitionStore;
  readonly #options: LookupTableOptions;
  /** Rows changed since the last checkpoint; null = removed. */
  #dirty = new Map<string, TableRow | null>();
  /** The changes a checkpoint in progress is writing (still read by `get`). */
  #committing: Map<string, TableRow | null> | null = null;
  #position: string | null;
  #parsedPosition: CdcPosition | null;
  #checkpointed: string | null;
  #sinceSnapshot = 0;

  private constructor(store: PartitionStore, options: LookupTableOptions) {
    this.name = options.name;
    this.#store = store;
    this.#options = options;
    const position = store.checkpoint?.sourcePosition;
    this.#position = typeof position === 'string' ? position : null;
    this.#parsedPosition = this.#position === null ? null : parsePosition(this.#position);
    this.#checkpointed = this.#position;
  }

  /** Opens the table's database (falling back to a snapshot file if it is unreadable). */
  static async open(options: LookupTableOptions): Promise<LookupTable> {
    const { store, restoredFrom } = await openWithRecovery({
      dir: options.dir,
      onFallback: ({ file, reason }) =>
        options.log.warn('table snapshot unusable, trying an older one', {
          table: options.name,
          file,
          reason,
        }),
    });
    if (restoredFrom !== null) {
      options.log.warn('table rebuilt from a snapshot file', { table: options.name, file: restoredFrom });
    }
    return new LookupTable(store, options);
  }

  /** CDC position of the last change applied; null for a table that has seen none. */
  get position(): string | null {
    return this.#position;
  }

  /** CDC position of the last checkpoint; null before the first. */
  get checkpointedPosition(): string | null {
    return this.#checkpointed;
  }

  /** Every row as of now, in key order: the checkpointed rows overlaid with the changes since. */
  async *rows(): AsyncGenerator<[key: string, row: TableRow]> {
    const dirty = new Map(this.#dirty);
    for await (const [key, bytes] of this.#store.entries(TABLE_ROWS_NAMESPACE)) {
      const text = key.toString('utf8');
      if (dirty.has(text)) continue;
      yield [text, decodeTableRow(bytes)];
    }
    for (const [key, row] of dirty) if (row !== null) yield [key, row];
  }

  /** One row as of now, or undefined. */
  async get(key: string): Promise<TableRow | undefined> {
    if (this.#dirty.has(key)) return this.#dirty.get(key) ?? undefined;
    if (this.#committing?.has(key)) return this.#committing.get(key) ?? undefined;
    const bytes = await this.#store.get(TABLE_ROWS_NAMESPACE, tableRowKey(key));
    return bytes === undefined ? undefined : decodeTableRow(bytes);
  }

  /**
   * Applies the changes of one delivery of the table's CDC partition, in order, and
   * returns what the replicas must apply. `positions[i]` is the CDC position of event i.
   */
  async apply(events: readonly unknown[], positions: readonly (string | number)[]): Promise<ReplicaChange[]> {
    const applied: ReplicaChange[] = [];
    for (let index = 0; index < events.length; index++) {
      const positionText = String(positions[index]);
      const position = parsePosition(positionText);
      if (this.#parsedPosition !== null && comparePositions(position, this.#parsedPosition) <= 0) {
        this.counters.repeated++;
        continue;
      }
      const event = events[index];
      const change =
        typeof event === 'object' && event !== null
          ? tableChange(event as Record<string, unknown>, this.#options.keyColumn)
          : ({ kind: 'skip', reason: 'not an object' } as const);
      if (change.kind === 'skip') this.counters.unusable++;
      else if (change.kind === 'delete') {
        this.#dirty.set(change.key, null);
        applied.push([change.key, null]);
        this.counters.deletes++;
      } else {
        let row = change.row;
        if (change.unchangedToast.length > 0) {
          // Postgres did not send an unchanged TOASTed value: the stored one still holds.
          const previous = await this.get(change.previousKey ?? change.key);
          if (previous !== undefined) {
            row = { ...row };
            for (const column of change.unchangedToast) row[column] = previous[column];
          }
        }
        if (change.previousKey !== null) {
          this.#dirty.set(change.previousKey, null);
          applied.push([change.previousKey, null]);
        }
        this.#dirty.set(change.key, row);
        applied.push([change.key, row]);
        this.counters.upserts++;
      }
      this.#position = positionText;
      this.#parsedPosition = position;
    }
    return applied;
  }

  /**
   * Writes the changes since the last checkpoint and the position in one atomic batch;
   * every `snapshotEvery` checkpoints (or when `snapshot`) also a snapshot file. Returns
   * the position now durable, or null when there was nothing new.
   */
  async checkpoint(snapshot = false): Promise<string | null> {
    if (this.#position === this.#checkpointed && !snapshot) return null;
    if (this.#position === null) return null;
    const dirty = this.#dirty;
    const position = this.#position;
    this.#dirty = new Map();
    this.#committing = dirty;
    const puts: Array<[string, Buffer, Buffer]> = [];
    const deletes: Array<[string, Buffer]> = [];
    for (const [key, row] of dirty) {
      if (row === null) deletes.push([TABLE_ROWS_NAMESPACE, tableRowKey(key)]);
      else puts.push([TABLE_ROWS_NAMESPACE, tableRowKey(key), encodeTableRow(row)]);
    }
    try {
      await this.#store.commit({
        checkpoint: {
          sourcePosition: position,
          watermark: null,
          sinkPositions: {},
          emitted: null,
          meta: { table: this.name, key: this.#options.keyColumn },
        },
        puts,
        deletes,
      });
    } catch (error) {
      // Nothing was written: keep the changes for the next attempt (newer ones win).
      for (const [key, row] of dirty) if (!this.#dirty.has(key)) this.#dirty.set(key, row);
      throw error;
    } finally {
      this.#committing = null;
    }
    this.#checkpointed = position;
    this.#sinceSnapshot++;
    if (snapshot || this.#sinceSnapshot >= this.#options.snapshotEvery) {
      await this.#store.snapshot(this.#options.keep);
      this.#sinceSnapshot = 0;
    }
    return position;
  }

  close(): Promise<void> {
    return this.#store.close();
  }
}
