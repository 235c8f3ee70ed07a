import { StateUsageError } from './state-errors.ts';

/**
 * The checkpoint record of one source partition: everything besides namespace
 * entries that a restore needs to resume exactly where the last checkpoint left off.
 * It is written in the same atomic batch as the entries, so the two always agree.
 */
export interface CheckpointRecord {
  /** Grows by one per commit and never repeats for a partition, even across roll-backs. */
  id: number;
  /** Wall-clock ms epoch of the commit (for people and `sluice checkpoints`; never for semantics). */
  createdAt: number;
  /** Where to resume reading the source, as plain data: `{ offset: "1234" }`, `{ line: 42 }`. */
  sourcePosition: unknown;
  /** The partition's watermark at the checkpoint; null before the first event. */
  watermark: number | null;
  /** Byte length of each file a sink writes for this partition (file path → bytes), truncated to on restore. */
  sinkPositions: Record<string, number>;
  /** Versions the partition has emitted, in the owner's own plain-data shape. */
  emitted: unknown;
  /** Anything else the owner wants restored with the checkpoint. */
  meta: Record<string, unknown>;
}

/** What a caller hands to `commit`: the store assigns `id` and `createdAt`. */
export type CheckpointContent = Omit<CheckpointRecord, 'id' | 'createdAt'>;

/** Builds the next record, checking the fields whose type the store relies on. */
export function nextCheckpointRecord(
  content: CheckpointContent,
  previousId: number,
  createdAt: number,
): CheckpointRecord {
  if (content.watermark !== null && !Number.isFinite(content.watermark)) {
    throw new StateUsageError(
      `checkpoint watermark must be a finite number or null, got ${content.watermark}`,
    );
  }
  for (const [file, bytes] of Object.entries(content.sinkPositions ?? {})) {
    if (!Number.isSafeInteger(bytes) || bytes < 0) {
      throw new StateUsageError(`checkpoint sinkPositions[${file}] must be a byte count, got ${bytes}`);
    }
  }
  return {
    id: previousId + 1,
    createdAt,
    sourcePosition: content.sourcePosition ?? null,
    watermark: content.watermark,
    sinkPositions: { ...(content.sinkPositions ?? {}) },
    emitted: content.emitted ?? null,
    meta: { ...(content.meta ?? {}) },
  };
}
