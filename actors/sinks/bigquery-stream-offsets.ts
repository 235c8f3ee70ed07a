/**
 * Offset bookkeeping of the BigQuery sink's exactly-once mode (`api: storage-write`): one
 * COMMITTED write stream per (sink, source partition), each row at a deterministic offset
 * = the number of rows of that partition the sink stored before it.
 *
 * Two durable facts make the offsets deterministic:
 * - the partition's checkpoint K records the rows it handed to the sink since checkpoint
 *   K-1 (the two-phase `pending` rows of sink-hooks.ts);
 * - the sink's stream record (`StreamRecord`, a small file beside the checkpoints, written
 *   with fsync) says which stream holds the partition's rows and that the rows of every
 *   checkpoint up to `checkpoint` occupy offsets [0, next). It is written before the first
 *   append to a new stream and after the rows of each checkpoint are stored.
 *
 * The sink appends a checkpoint's rows only after the checkpoint is durable (the `commit`
 * hook), so the stream never holds rows a checkpoint did not record. The commit of K-1
 * completes before the partition takes checkpoint K, so when the partition restores K the
 * record is at K (its rows are stored) or before K (they occupy [record.next, record.next
 * + pending)). Appending them again at those offsets is idempotent: BigQuery answers
 * ALREADY_EXISTS for an offset it holds.
 *
 * Pure: no I/O.
 */

export interface StreamRecord {
  /** The COMMITTED write stream holding the partition's rows. */
  stream: string;
  /** The last checkpoint whose rows are all stored. */
  checkpoint: number;
  /** The offset the next row gets: rows of checkpoints up to `checkpoint` occupy [0, next). */
  next: number;
}

/** What a partition's restore means for its stream. */
export type Recovery =
  | {
      kind: 'resume';
      /** null: no stream yet (created with the first rows). */
      stream: string | null;
      /** Offset of the first pending row (when `appendPending`) or of the next new row. */
      offset: number;
      /** True when the restored checkpoint's pending rows must be (re-)appended from `offset`. */
      appendPending: boolean;
    }
  | { kind: 'refuse'; reason: string };

/**
 * The recovery of a partition restored at `checkpoint` (0: none) that recorded
 * `pendingRows` rows for the sink, given the sink's stream record (null: none) and
 * whether that record's stream still accepts appends.
 */
export function planRecovery(
  record: StreamRecord | null,
  checkpoint: number,
  pendingRows: number,
  streamUsable: boolean,
): Recovery {
  if (checkpoint === 0 || record === null) {
    // No checkpoint: nothing was recorded, the partition starts over in a new stream.
    // No record: no row of this partition was ever appended (the record precedes the first append).
    return { kind: 'resume', stream: null, offset: 0, appendPending: checkpoint !== 0 && pendingRows > 0 };
  }
  if (record.checkpoint > checkpoint) {
    return {
      kind: 'refuse',
      reason:
        `stream ${record.stream} holds rows up to checkpoint ${record.checkpoint} but checkpoint ` +
        `${checkpoint} was restored (an older checkpoint?); replaying would store rows twice`,
    };
  }
  const stored = record.checkpoint === checkpoint;
  if (!streamUsable) {
    if (stored || pendingRows === 0) return { kind: 'resume', stream: null, offset: 0, appendPending: false };
    return {
      kind: 'refuse',
      reason:
        `stream ${record.stream} is gone (finalized or expired) and checkpoint ${checkpoint} recorded ` +
        `${pendingRows} rows whose append cannot be verified; exactly-once cannot be kept`,
    };
  }
  if (stored) return { kind: 'resume', stream: record.stream, offset: record.next, appendPending: false };
  return { kind: 'resume', stream: record.stream, offset: record.next, appendPending: pendingRows > 0 };
}

/** The outcome of one append at an offset, as the Storage Write API answers it. */
export type AppendAnswer = 'ok' | 'already-exists' | 'out-of-range';

/**
 * Appends `count` rows at `offset`, skipping the ones the stream already holds. The API
 * answers a whole request: ALREADY_EXISTS when its offset is below the stream's end, even
 * if some of its rows are beyond. So after ALREADY_EXISTS the rows go one by one until the
 * first that is new; the rest go in one request. OUT_OF_RANGE (a gap) is a bug: thrown.
 * Returns how many rows were already stored.
 */
export async function appendSkippingStored(
  count: number,
  offset: number,
  append: (from: number, to: number, offset: number) => Promise<AppendAnswer>,
): Promise<number> {
  if (count === 0) return 0;
  const first = await append(0, count, offset);
  if (first === 'ok') return 0;
  if (first === 'out-of-range') throw outOfRange(offset);
  let skipped = 0;
  for (let index = 0; index < count; index++) {
    const answer = await append(index, index + 1, offset + index);
    if (answer === 'out-of-range') throw outOfRange(offset + index);
    if (answer === 'already-exists') {
      skipped++;
      continue;
    }
    if (index + 1 < count) {
      const rest = await append(index + 1, count, offset + index + 1);
      if (rest !== 'ok')
        throw new Error(`append at offset ${offset + index + 1} answered ${rest} after a new row`);
    }
    break;
  }
  return skipped;
}

function outOfRange(offset: number): Error {
  return new Error(
    `offset ${offset} is beyond the end of the write stream: rows before it are missing (a bug in the offset bookkeeping)`,
  );
}
