/**
 * A worker's in-memory copy of a lookup table, which every partition actor of that
 * worker reads when it enriches events. One copy per table per worker, however many
 * partitions the worker hosts; the table's owner on the main thread feeds it through a
 * replica actor (`table-replica-actor.ts`) in the order it applied the changes.
 *
 * The whole table (the columns the enrich steps read) is held in a Map, so a lookup is
 * one hash probe; this holds as long as the table fits in each worker's memory. The
 * durable copy is the table's LevelDB database on the main thread.
 *
 * Threading model: module state of one worker thread; written by the replica actor and
 * read by the partition actors of the same thread, one hook at a time (never concurrently).
 * Life cycle: created empty on first use → rows loaded and changes applied → `markReady`
 * once the table is bootstrapped (restored from its checkpoint, or its CDC snapshot read).
 */
import type { TableRow } from './table-change.ts';

export class TableReplica {
  readonly name: string;
  readonly #rows = new Map<string, TableRow>();
  #ready = false;
  #whenReady: Promise<void>;
  #resolveReady!: () => void;

  constructor(name: string) {
    this.name = name;
    this.#whenReady = new Promise((resolve) => {
      this.#resolveReady = resolve;
    });
  }

  get size(): number {
    return this.#rows.size;
  }

  get ready(): boolean {
    return this.#ready;
  }

  /** Resolves once the table is bootstrapped; partitions wait for it before their first event. */
  whenReady(): Promise<void> {
    return this.#whenReady;
  }

  markReady(): void {
    if (this.#ready) return;
    this.#ready = true;
    this.#resolveReady();
  }

  lookup(key: string): TableRow | undefined {
    return this.#rows.get(key);
  }

  /** Applies changes in order: a row replaces the one under its key, null removes it. */
  apply(changes: ReadonlyArray<readonly [key: string, row: TableRow | null]>): void {
    for (const [key, row] of changes) {
      if (row === null) this.#rows.delete(key);
      else this.#rows.set(key, row);
    }
  }
}

/** This worker's replicas, by table name. */
const replicas = new Map<string, TableReplica>();

/** The replica of `table` on this thread, created empty (not ready) on first use. */
export function tableReplica(table: string): TableReplica {
  let replica = replicas.get(table);
  if (replica === undefined) {
    replica = new TableReplica(table);
    replicas.set(table, replica);
  }
  return replica;
}
