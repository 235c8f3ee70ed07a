/**
 * How a transactional Kafka sink tells, after a crash, whether the transaction of its
 * last checkpoint committed. Pure: names, the marker and the decision; no I/O.
 *
 * Each source partition writes through its own transactional id, and every transaction
 * commits together with an offset in a consumer group of its own (`sendOffsets`): offset
 * = the id of the checkpoint that recorded the transaction's rows, metadata = a digest of
 * those rows. Kafka applies the offset if and only if the transaction commits. So once a
 * new producer with the same transactional id has been initialised (which completes or
 * aborts whatever its predecessor left open), the group's committed offset says whether
 * the recorded rows are in the topic: marker equal → committed, drop them; anything else
 * → aborted or never sent, send them again under the same marker.
 */
import { createHash, type Hash } from 'node:crypto';

/** The Kafka names of one (job, sink, source partition). */
export interface TransactionIdentity {
  /** Fences a crashed predecessor: a new producer with this id aborts its open transaction. */
  transactionalId: string;
  /** The consumer group whose committed offset is the marker of the last committed transaction. */
  markerGroup: string;
}

/** Rows recorded by a checkpoint as handed to the sink in the transaction that checkpoint commits. */
export interface PendingRows {
  checkpoint: number;
  /** JSON lines exactly as the partition wrote them. */
  rows: string;
}

/** What the marker group holds for the output topic's partition 0 (null: nothing committed yet). */
export interface CommittedMarker {
  offset: string;
  metadata: string | null;
}

/** What sendOffsets commits with a transaction. */
export interface TransactionMarker {
  offset: string;
  metadata: string;
}

/** `<source>/<partition>` → names; the partition string is a WriteOrigin's. */
export function transactionIdentity(job: string, sink: string, partition: string): TransactionIdentity {
  const base = `sluice.${job}.${sink}.${partition.replaceAll('/', '.')}`;
  return { transactionalId: base, markerGroup: `${base}.txn` };
}

/**
 * The digest of the rows of one transaction, fed in the order the rows were written;
 * feeding the same text in other pieces gives the same digest.
 */
export class RowDigest {
  #hash: Hash = createHash('sha256');
  #bytes = 0;

  add(rows: string): void {
    this.#hash.update(rows);
    this.#bytes += Buffer.byteLength(rows);
  }

  get empty(): boolean {
    return this.#bytes === 0;
  }

  /** The marker for a transaction recorded by checkpoint `checkpoint`; starts a fresh digest. */
  marker(checkpoint: number): TransactionMarker {
    const metadata = `${this.#bytes}:${this.#hash.digest('base64url')}`;
    this.#hash = createHash('sha256');
    this.#bytes = 0;
    return { offset: String(checkpoint), metadata };
  }
}

/** The marker of `pending`, as the transaction that carried those rows committed it. */
export function markerOf(pending: PendingRows): TransactionMarker {
  const digest = new RowDigest();
  digest.add(pending.rows);
  return digest.marker(pending.checkpoint);
}

/**
 * `committed`: the marker group holds exactly the marker of `pending`, so the transaction
 * that carried those rows committed. `resend`: it did not (aborted, fenced, never sent, or
 * a different run's marker): the rows must be written again.
 */
export function pendingOutcome(
  committed: CommittedMarker | null,
  pending: PendingRows,
): 'committed' | 'resend' {
  if (committed === null) return 'resend';
  const expected = markerOf(pending);
  return committed.offset === expected.offset && committed.metadata === expected.metadata
    ? 'committed'
    : 'resend';
}
