/**
 * The actor that feeds a worker's replica of a lookup table (`table-replica.ts`): one
 * per table per worker, spawned by `LookupTables` before the partition actors. Its
 * mailbox carries the table's rows at start, then every change the table applied, in
 * order; a slow worker therefore slows the table's CDC stream instead of growing memory.
 *
 * Threading model: lives on its worker thread; writes the replica the partition actors
 * of the same thread read. The replica outlives a restart of this actor (module state),
 * so a restarted incarnation goes on from the next message.
 */
import type { Actor, ActorFactory } from '../../runtime/actor.ts';
import type { TableRow } from './table-change.ts';
import { tableReplica } from './table-replica.ts';

export interface TableReplicaConfig {
  table: string;
}

export type TableReplicaMessage =
  /** Rows (at start) or changes, in the table's order; null removes the key. */
  | { kind: 'changes'; changes: Array<[key: string, row: TableRow | null]> }
  /** The table is bootstrapped: partitions may start enriching. */
  | { kind: 'ready' };

export const createTableReplicaActor: ActorFactory<TableReplicaConfig, TableReplicaMessage> = (config) => {
  const replica = tableReplica(config.table);
  const actor: Actor<TableReplicaMessage> = {
    receive(message) {
      if (message.kind === 'changes') replica.apply(message.changes);
      else replica.markReady();
    },
    request(kind) {
      if (kind === 'size') return replica.size;
      throw new Error(`unknown request ${kind}`);
    },
  };
  return actor;
};
