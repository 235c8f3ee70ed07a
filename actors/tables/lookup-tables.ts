/**
 * The lookup tables of a job: each one a `LookupTable` (LevelDB, on the main thread) fed
 * by its CDC table partition, and a replica on every worker (`table-replica.ts`) that
 * the partition actors read — a global table, since events are partitioned by their own
 * key, not by the table's.
 *
 * Wiring with the cdc source (`cdcHooks`): a table partition's changes go to its
 * partition actor as before and to its tables, which apply them in CDC order and pass
 * them on to the replicas. The source resumes each table partition from the lowest
 * position its consumers (the partition actor and the tables) checkpointed, and the slot
 * may confirm a change only once all of them have (`partitionCheckpointed`, `#acknowledge`).
 *
 * Bootstrapping: a table with a checkpoint serves its rows at once (changes since the
 * checkpoint follow as the stream catches up). A new table is ready once its CDC
 * snapshot has been read: its last snapshot row, a later table's snapshot row, a
 * streamed change of its source, or the source having finished starting says so.
 * Partitions that enrich wait for their tables to be ready before their first event.
 *
 * Threading model: main thread only.
 * Life cycle: `start` (open, load the replicas) → changes and checkpoints (every
 * `checkpoint.interval`) → `stop` (last checkpoint with a snapshot file, close) or
 * `terminate` (close at once).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ActorRef } from '../../runtime/actor.ts';
import type { Logger } from '../../runtime/logger.ts';
import type { Metrics } from '../../runtime/metrics.ts';
import type { Topology } from '../../runtime/topology/topology-schema.ts';
import type { WorkerPool } from '../../runtime/worker-pool.ts';
import type { CdcSource } from '../cdc/cdc-source.ts';
import { type CdcPosition, comparePositions, isSnapshotComplete, parsePosition } from '../cdc/lsn.ts';
import type { PartitionMessage } from '../partition/partition-plan.ts';
import { LookupTable, type ReplicaChange } from './lookup-table.ts';
import type { TableReplicaMessage } from './table-replica-actor.ts';

const replicaActorModule = fileURLToPath(new URL('./table-replica-actor.ts', import.meta.url));

/** Rows per message when a replica is loaded. */
const LOAD_CHUNK = 1000;

/** The consumer name of a table partition's own partition actor, beside the table names. */
const PARTITION_ACTOR = '';

/** Where a table keeps its database: beside the sources' folders, under a name no source can have. */
export function tableStateDir(stateDir: string, table: string): string {
  return join(stateDir, '@tables', table);
}

interface TableEntry {
  name: string;
  source: string;
  /** The table's partition in its cdc source (its index in the source's `tables`). */
  partition: number;
  table: LookupTable;
  replicas: ActorRef<TableReplicaMessage>[];
  /** Columns the enrich steps read (and the key); null = every column. */
  columns: string[] | null;
  ready: boolean;
  /** Counter values already published. */
  published: { upserts: number; deletes: number; repeated: number; unusable: number };
}

export interface CdcHooks {
  deliver(partition: number, message: PartitionMessage): Promise<void>;
  resumeFrom(partition: number): Promise<string | null>;
}

export interface LookupTablesOptions {
  /** With every enrich step's columns resolved (`resolveTableColumns`). */
  topology: Topology;
  pool: WorkerPool;
  metrics: Metrics;
  log: Logger;
  onFatal(error: Error): void;
}

export class LookupTables {
  readonly #entries: TableEntry[];
  readonly #options: LookupTablesOptions;
  readonly #cdc = new Map<string, CdcSource>();
  /** Per `<source>/<partition>` of a table partition, the position each consumer checkpointed. */
  readonly #checkpointed = new Map<string, Map<string, string>>();
  /** Per `<source>/<partition>`, the position last confirmed to the source. */
  readonly #acknowledged = new Map<string, string>();
  #timer: NodeJS.Timeout | null = null;
  #checkpointing: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(entries: TableEntry[], options: LookupTablesOptions) {
    this.#entries = entries;
    this.#options = options;
  }

  /** Opens every table, spawns and loads its replicas; starts the checkpoint timer. */
  static async start(options: LookupTablesOptions): Promise<LookupTables> {
    const { topology, pool, log } = options;
    const entries: TableEntry[] = [];
    const tables = new LookupTables(entries, options);
    try {
      for (const [name, config] of Object.entries(topology.tables)) {
        const source = topology.sources[config.from];
        if (source?.type !== 'cdc')
          throw new Error(`table ${name}: source ${config.from} is not a cdc source`);
        const table = await LookupTable.open({
          name,
          dir: tableStateDir(topology.state.dir, name),
          keyColumn: config.key,
          keep: topology.checkpoint.keep,
          snapshotEvery: topology.checkpoint.snapshotEvery,
          log,
        });
        const entry: TableEntry = {
          name,
          source: config.from,
          partition: source.tables.indexOf(config.table),
          table,
          replicas: [],
          columns: columnsRead(topology, name, config.key),
          ready: false,
          published: { upserts: 0, deletes: 0, repeated: 0, unusable: 0 },
        };
        entries.push(entry);
        for (let worker = 0; worker < pool.size; worker++) {
          entry.replicas.push(
            await pool.spawn<TableReplicaMessage, { table: string }>({
              worker,
              name: `table:${name}/${worker}`,
              module: replicaActorModule,
              exportName: 'createTableReplicaActor',
              config: { table: name },
              capacity: topology.mailbox.capacity,
              onEmit: () => {},
            }),
          );
        }
        let rows = 0;
        let chunk: ReplicaChange[] = [];
        for await (const [key, row] of table.rows()) {
          chunk.push([key, row]);
          rows++;
          if (chunk.length === LOAD_CHUNK) {
            await tables.#toReplicas(entry, chunk);
            chunk = [];
          }
        }
        if (chunk.length > 0) await tables.#toReplicas(entry, chunk);
        log.info('lookup table opened', { table: name, rows, position: table.position });
        if (table.position !== null) await tables.#markReady(entry);
      }
    } catch (error) {
      await tables.terminate();
      throw error;
    }
    tables.#timer = setInterval(() => void tables.#checkpointAll(false), topology.checkpoint.intervalMs);
    tables.#timer.unref();
    return tables;
  }

  /** The callbacks a cdc source gets: its table partitions also feed their tables. */
  cdcHooks(source: string, hooks: CdcHooks): CdcHooks {
    const bySource = this.#entries.filter((entry) => entry.source === source);
    if (bySource.length === 0) return hooks;
    /**
     * Per table partition, the partition actor's own resume position while the source may
     * still re-send changes it has (the source resumes from the lowest consumer's position).
     */
    const ownResume = new Map<number, CdcPosition>();
    return {
      resumeFrom: async (partition) => {
        const own = await hooks.resumeFrom(partition);
        const tables = bySource.filter((entry) => entry.partition === partition);
        if (own !== null && tables.length > 0) {
          ownResume.set(partition, parsePosition(own));
          // Durable already: what the source re-sends up to here needs no new checkpoint to be confirmed.
          this.#acknowledge(source, partition, PARTITION_ACTOR, own);
        }
        let lowest = own;
        for (const entry of tables) {
          const position = entry.table.checkpointedPosition;
          if (position === null && own !== null) {
            throw new Error(
              `lookup table ${entry.name} has no state, but partition ${partition} of source ${source} has a ` +
                "checkpoint: the table's snapshot is gone; remove the source's state and slot to read a new one",
            );
          }
          if (position !== null) this.#acknowledge(source, partition, entry.name, position);
          if (position === null || lowest === null) lowest = null;
          else if (comparePositions(parsePosition(position), parsePosition(lowest)) < 0) lowest = position;
        }
        return lowest;
      },
      deliver: async (partition, message) => {
        if (message.kind === 'records' && message.positions.length > 0) {
          for (const entry of bySource) {
            if (entry.partition === partition) await this.#apply(entry, message.events, message.positions);
          }
          await this.#noteSnapshotProgress(bySource, partition, String(message.positions[0]));
        }
        const resume = ownResume.get(partition);
        if (resume === undefined || message.kind !== 'records') {
          await hooks.deliver(partition, message);
          return;
        }
        const unseen = unseenBy(message, resume);
        if (unseen.positions.length > 0) {
          ownResume.delete(partition);
          await hooks.deliver(partition, unseen);
        }
      },
    };
  }

  /** The cdc source has started (its snapshot, if any, is read): its tables are ready. */
  async sourceStarted(source: string, cdc: CdcSource): Promise<void> {
    this.#cdc.set(source, cdc);
    for (const entry of this.#entries) {
      if (entry.source !== source) continue;
      await this.#markReady(entry);
      // Checkpoints taken while the source was starting (its snapshot) could not be confirmed yet.
      this.#forward(source, entry.partition);
    }
  }

  /**
   * A partition actor checkpointed. Returns true when the partition also feeds tables:
   * the slot is then acknowledged here, once every consumer has the change.
   */
  partitionCheckpointed(source: string, partition: number, position: string): boolean {
    if (!this.#entries.some((entry) => entry.source === source && entry.partition === partition))
      return false;
    this.#acknowledge(source, partition, PARTITION_ACTOR, position);
    return true;
  }

  /** Last checkpoint (with a snapshot file) of every table, then closes them. */
  async stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    await this.#checkpointing;
    if (!this.#closed) await this.#checkpointAll(true);
    await this.terminate();
  }

  /** Closes every table without a checkpoint. */
  async terminate(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled(this.#entries.map((entry) => entry.table.close()));
  }

  async #apply(
    entry: TableEntry,
    events: readonly unknown[],
    positions: readonly (string | number)[],
  ): Promise<void> {
    const changes = await entry.table.apply(events, positions);
    this.#publish(entry);
    if (changes.length > 0) await this.#toReplicas(entry, changes);
    if (!entry.ready && isSnapshotComplete(parsePosition(String(positions[positions.length - 1])))) {
      await this.#markReady(entry);
    }
  }

  /**
   * The snapshot reads tables in partition order, then streaming starts: a delivery for
   * a later partition, or any streamed change, means earlier tables' snapshots are done.
   */
  async #noteSnapshotProgress(entries: TableEntry[], partition: number, first: string): Promise<void> {
    const streamed = parsePosition(first).phase === 'stream';
    for (const entry of entries) {
      if (!entry.ready && (streamed || entry.partition < partition)) await this.#markReady(entry);
    }
  }

  async #markReady(entry: TableEntry): Promise<void> {
    if (entry.ready) return;
    entry.ready = true;
    await Promise.all(entry.replicas.map((replica) => replica.tell({ kind: 'ready' })));
    this.#options.log.info('lookup table ready', { table: entry.name, position: entry.table.position });
  }

  async #toReplicas(entry: TableEntry, changes: ReplicaChange[]): Promise<void> {
    const projected =
      entry.columns === null
        ? changes
        : changes.map(([key, row]) => [key, project(row, entry.columns!)] as ReplicaChange);
    await Promise.all(entry.replicas.map((replica) => replica.tell({ kind: 'changes', changes: projected })));
  }

  #checkpointAll(snapshot: boolean): Promise<void> {
    const run = this.#checkpointing.then(async () => {
      if (this.#closed) return;
      for (const entry of this.#entries) {
        try {
          const position = await entry.table.checkpoint(snapshot);
          if (position !== null) this.#acknowledge(entry.source, entry.partition, entry.name, position);
        } catch (error) {
          this.#options.onFatal(
            new Error(`lookup table ${entry.name}: checkpoint failed: ${(error as Error).message}`, {
              cause: error,
            }),
          );
        }
      }
    });
    this.#checkpointing = run.catch(() => {});
    return run;
  }

  /** Tells the source the lowest position every consumer of the table partition has checkpointed. */
  #acknowledge(source: string, partition: number, consumer: string, position: string): void {
    const label = `${source}/${partition}`;
    const positions = this.#checkpointed.get(label) ?? new Map<string, string>();
    positions.set(consumer, position);
    this.#checkpointed.set(label, positions);
    this.#forward(source, partition);
  }

  #forward(source: string, partition: number): void {
    const label = `${source}/${partition}`;
    const positions = this.#checkpointed.get(label);
    const cdc = this.#cdc.get(source);
    if (positions === undefined || cdc === undefined) return;
    const consumers = [
      PARTITION_ACTOR,
      ...this.#entries.filter((e) => e.source === source && e.partition === partition).map((e) => e.name),
    ];
    let lowest: string | null = null;
    for (const name of consumers) {
      const checkpointed = positions.get(name);
      if (checkpointed === undefined) return;
      if (lowest === null || comparePositions(parsePosition(checkpointed), parsePosition(lowest)) < 0)
        lowest = checkpointed;
    }
    if (lowest === null || this.#acknowledged.get(label) === lowest) return;
    this.#acknowledged.set(label, lowest);
    cdc.onCheckpointed(partition, lowest);
  }

  #publish(entry: TableEntry): void {
    const { counters } = entry.table;
    for (const kind of ['upserts', 'deletes', 'repeated', 'unusable'] as const) {
      const delta = counters[kind] - entry.published[kind];
      if (delta === 0) continue;
      this.#options.metrics.inc('sluice_table_changes_total', { table: entry.name, kind }, delta);
      entry.published[kind] = counters[kind];
    }
  }
}

/** The columns the enrich steps of the topology read from `table`, with its key; null when unknown. */
function columnsRead(topology: Topology, table: string, key: string): string[] | null {
  const columns = new Set<string>([key]);
  for (const output of [...Object.values(topology.windows), ...Object.values(topology.streams)]) {
    for (const step of output.enrich ?? []) {
      if (step.table !== table) continue;
      if (step.fields === undefined) return null;
      for (const { column } of step.fields) columns.add(column);
    }
  }
  return [...columns];
}

/** The records of `message` after `resume` (the partition actor's checkpoint already holds the rest). */
function unseenBy(
  message: Extract<PartitionMessage, { kind: 'records' }>,
  resume: CdcPosition,
): typeof message {
  let first = 0;
  while (
    first < message.positions.length &&
    comparePositions(parsePosition(String(message.positions[first])), resume) <= 0
  ) {
    first++;
  }
  if (first === 0) return message;
  return {
    kind: 'records',
    events: message.events.slice(first),
    positions: message.positions.slice(first),
    failures: message.failures
      .filter(([index]) => index >= first)
      .map(([index, failure]) => [index - first, failure]),
  };
}

function project(
  row: Record<string, unknown> | null,
  columns: readonly string[],
): Record<string, unknown> | null {
  if (row === null) return null;
  const out: Record<string, unknown> = {};
  for (const column of columns) if (column in row) out[column] = row[column];
  return out;
}
