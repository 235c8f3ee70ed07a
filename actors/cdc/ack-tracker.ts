/**
 * Which LSN the slot may confirm: the point before which every change is durable in
 * every table partition. Pure bookkeeping, driven by the source.
 *
 * A batch handed to a partition is pending until that partition reports a checkpoint at
 * or past the batch's last position. The slot may confirm up to the end of the last
 * fully handled transaction, but never reach the commit LSN of a pending batch: Postgres
 * re-sends every transaction whose commit LSN is at or after the confirmed point, so a
 * pending change comes back after a crash (and the partition skips what it already has).
 * A partition with nothing pending holds nothing back, so a quiet table does not pin
 * the slot.
 *
 * Threading model: main thread only, like the source that owns it.
 */
import { type CdcPosition, comparePositions, parsePosition } from './lsn.ts';

export class AckTracker {
  /** Per partition, delivered batches' last positions not yet checkpointed, ascending. */
  readonly #pending: CdcPosition[][];
  /** End LSN of the last transaction whose changes were all handed to their partitions. */
  #handled: bigint;

  constructor(partitions: number, confirmed: bigint) {
    this.#pending = Array.from({ length: partitions }, () => []);
    this.#handled = confirmed;
  }

  /** Records a batch about to be handed to `partition`; call before handing it over. */
  delivered(partition: number, lastPosition: string): void {
    const queue = this.#pending[partition];
    const position = parsePosition(lastPosition);
    const tail = queue[queue.length - 1];
    if (tail !== undefined && tail.lsn === position.lsn && tail.phase === position.phase) {
      queue[queue.length - 1] = position;
    } else {
      queue.push(position);
    }
  }

  /** The partition made everything up to `position` durable. */
  checkpointed(partition: number, position: string): void {
    const queue = this.#pending[partition];
    const done = parsePosition(position);
    let drop = 0;
    while (drop < queue.length && comparePositions(queue[drop], done) <= 0) drop++;
    if (drop > 0) queue.splice(0, drop);
  }

  /** Every change of the transaction ending at `endLsn` was handed over (or it had none for us). */
  transactionHandled(endLsn: bigint): void {
    if (endLsn > this.#handled) this.#handled = endLsn;
  }

  /**
   * The flush position to report: every transaction whose commit record starts before
   * it is durable downstream or of no interest to any partition. Postgres skips exactly
   * those on the next START_REPLICATION.
   */
  safeLsn(): bigint {
    let bound = this.#handled;
    for (const queue of this.#pending) {
      const first = queue[0];
      if (first !== undefined && first.lsn < bound) bound = first.lsn;
    }
    return bound;
  }

  pendingBatches(): number {
    return this.#pending.reduce((sum, queue) => sum + queue.length, 0);
  }
}
