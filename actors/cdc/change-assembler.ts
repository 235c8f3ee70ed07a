/**
 * Turns the pgoutput message stream (Begin, Relation, Insert/Update/Delete, Commit) into
 * Debezium envelopes routed to table partitions, with their positions. Pure: the
 * replication client feeds it messages, the source delivers what comes out.
 *
 * Relation messages precede the first change of a table on each connection and follow
 * every change of its columns; a new column list makes a new schema version, and events
 * from that point on carry the new columns. Tables outside `tables` are ignored.
 */
import {
  buildEnvelope,
  type Change,
  type Envelope,
  type RawTuple,
  type TableShape,
} from './debezium-envelope.ts';
import { parseLsn, streamPosition } from './lsn.ts';

/** The subset of pg-logical-replication's pgoutput messages read here. */
export type PgoutputMessage =
  | { tag: 'begin'; commitLsn: string | null; commitTime: bigint; xid: number }
  | { tag: 'commit'; commitLsn: string | null; commitEndLsn: string | null }
  | {
      tag: 'relation';
      relationOid: number;
      schema: string;
      name: string;
      replicaIdentity: string;
      columns: Array<{ name: string; typeOid: number; typeMod: number }>;
      keyColumns: string[];
    }
  | { tag: 'insert'; relation: { relationOid: number }; new: RawTuple }
  | {
      tag: 'update';
      relation: { relationOid: number };
      key: RawTuple | null;
      old: RawTuple | null;
      new: RawTuple;
    }
  | { tag: 'delete'; relation: { relationOid: number }; key: RawTuple | null; old: RawTuple | null }
  | { tag: string };

export interface RoutedEvent {
  partition: number;
  position: string;
  /** The commit LSN inside `position`, for cheap comparisons. */
  commitLsn: bigint;
  event: Envelope;
}

export type AssemblerOutput =
  | { kind: 'none' }
  | { kind: 'event'; routed: RoutedEvent }
  | { kind: 'commit'; endLsn: bigint };

interface Transaction {
  commitLsn: bigint;
  /** `<commit LSN>#`, the prefix of every position in the transaction. */
  positionPrefix: string;
  commitTimeMs: number;
  xid: number;
  ordinal: number;
}

export class ChangeAssembler {
  /** `schema.table` → partition. */
  readonly #partitions: Map<string, number>;
  /** Current shape per partition; primary keys come from the catalog (pgoutput names only the replica identity). */
  readonly #shapes: TableShape[];
  /** relation OID → partition, for the relations of this connection. */
  readonly #relations = new Map<number, number>();
  #transaction: Transaction | null = null;
  #lastCommitLsn: bigint | null = null;

  constructor(
    shapes: TableShape[],
    private readonly context: { name: string; db: string; now: () => number },
  ) {
    this.#shapes = shapes.map((shape) => ({ ...shape }));
    this.#partitions = new Map(shapes.map((shape, index) => [`${shape.schema}.${shape.table}`, index]));
  }

  shape(partition: number): TableShape {
    return this.#shapes[partition];
  }

  /** True between a transaction's Begin and its Commit. */
  get inTransaction(): boolean {
    return this.#transaction !== null;
  }

  /** Forgets the transaction in progress: the connection dropped and the server re-sends it. */
  reset(): void {
    this.#transaction = null;
    this.#relations.clear();
  }

  /** `messageLsn`: the WAL position the server sent with the message (a change's own LSN). */
  accept(message: PgoutputMessage, messageLsn: string | null = null): AssemblerOutput {
    switch (message.tag) {
      case 'begin': {
        const begin = message as Extract<PgoutputMessage, { tag: 'begin' }>;
        const commitLsn = parseLsn(begin.commitLsn ?? '0/0');
        this.#transaction = {
          commitLsn,
          positionPrefix: streamPosition(commitLsn, 0).slice(0, -1),
          commitTimeMs: Number(begin.commitTime / 1000n),
          xid: begin.xid,
          ordinal: 0,
        };
        return { kind: 'none' };
      }
      case 'commit': {
        const commit = message as Extract<PgoutputMessage, { tag: 'commit' }>;
        const endLsn = parseLsn(commit.commitEndLsn ?? commit.commitLsn ?? '0/0');
        this.#lastCommitLsn = parseLsn(commit.commitLsn ?? '0/0');
        this.#transaction = null;
        return { kind: 'commit', endLsn };
      }
      case 'relation':
        this.#relation(message as Extract<PgoutputMessage, { tag: 'relation' }>);
        return { kind: 'none' };
      case 'insert':
      case 'update':
      case 'delete':
        return this.#change(
          message as Extract<PgoutputMessage, { tag: 'insert' | 'update' | 'delete' }>,
          messageLsn,
        );
      default:
        return { kind: 'none' };
    }
  }

  #relation(message: Extract<PgoutputMessage, { tag: 'relation' }>): void {
    const partition = this.#partitions.get(`${message.schema}.${message.name}`);
    if (partition === undefined) return;
    this.#relations.set(message.relationOid, partition);
    const current = this.#shapes[partition];
    const columns = message.columns.map(({ name, typeOid, typeMod }) => ({ name, typeOid, typeMod }));
    if (signature(columns) === signature(current.columns)) return;
    const names = new Set(columns.map((column) => column.name));
    this.#shapes[partition] = {
      ...current,
      columns,
      keyColumns: current.keyColumns.filter((name) => names.has(name)),
      version: current.version + 1,
    };
  }

  #change(
    message: Extract<PgoutputMessage, { tag: 'insert' | 'update' | 'delete' }>,
    messageLsn: string | null,
  ): AssemblerOutput {
    const partition = this.#relations.get(message.relation.relationOid);
    const transaction = this.#transaction;
    if (partition === undefined || transaction === null) return { kind: 'none' };
    const ordinal = transaction.ordinal++;
    const shape = this.#shapes[partition];
    let change: Change;
    const common = {
      shape,
      txId: transaction.xid,
      lsn: messageLsn === null ? transaction.commitLsn : parseLsn(messageLsn),
      lastCommitLsn: this.#lastCommitLsn,
      commitTimeMs: transaction.commitTimeMs,
      snapshot: 'false' as const,
    };
    if (message.tag === 'insert') {
      change = {
        ...common,
        op: 'c',
        before: null,
        keyOnly: false,
        after: (message as { new: RawTuple }).new,
      };
    } else {
      const { key, old } = message as { key: RawTuple | null; old: RawTuple | null };
      const before = old ?? key;
      const keyOnly = old === null && key !== null;
      const after = message.tag === 'update' ? (message as { new: RawTuple }).new : null;
      change = { ...common, op: message.tag === 'update' ? 'u' : 'd', before, keyOnly, after };
    }
    const event = buildEnvelope(change, {
      name: this.context.name,
      db: this.context.db,
      nowMs: this.context.now(),
    });
    return {
      kind: 'event',
      routed: {
        partition,
        position: transaction.positionPrefix + ordinal,
        commitLsn: transaction.commitLsn,
        event,
      },
    };
  }
}

function signature(columns: ReadonlyArray<{ name: string; typeOid: number; typeMod: number }>): string {
  return columns.map((column) => `${column.name}:${column.typeOid}:${column.typeMod}`).join(',');
}
