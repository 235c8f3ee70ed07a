/**
 * Checkpoints of one partition: restore on start, and the commit that makes progress
 * durable. A checkpoint is one atomic write batch in the partition's LevelDB store
 * holding what changed in every window's state since the previous checkpoint, the
 * watermark, the source position to resume from and the byte length of every file the
 * partition writes.
 *
 * Exactly-once: rows reach a file before the checkpoint that covers them commits (the
 * sinks fsync on request first). After a crash the partition restores its last
 * checkpoint, truncates each of its files to the recorded length and replays its source
 * from the recorded position; the deterministic pipeline then writes the same bytes
 * again. Rows written after the last checkpoint can be read before they are final: a
 * crash may cut them off and write them again.
 *
 * Threading model: owned by one partition actor on its worker thread.
 */
import { stat, truncate } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../runtime/logger.ts';
import { discardingRecorder, type MetricsRecorder } from '../../runtime/metrics-recorder.ts';
import {
  type CheckpointRecord,
  openWithRecovery,
  type PartitionStore,
  StateLockedError,
} from '../../state/index.ts';
import type { WindowOperator } from '../windows/index.ts';
import type { RestoredPipeline } from './partition-pipeline.ts';
import type { CheckpointPlan, PartitionPlan, SourcePosition } from './partition-plan.ts';
import { encodePendingRows, PENDING_ROWS_NAMESPACE, readPendingRows } from './pending-rows-codec.ts';
import { WindowCheckpoints } from './window-checkpoints.ts';

/** How long a partition waits for a previous owner (another process) to release its state. */
const lockWaitMs = 60_000;

export interface RestoredPartition {
  pipeline: RestoredPipeline | null;
  /** The next source position to read; null for a partition with no checkpoint. */
  position: SourcePosition | null;
  /** Byte length of each file the partition writes, after truncation. */
  filePositions: Map<string, number>;
  /** The input had ended when the checkpoint was taken. */
  ended: boolean;
  checkpointId: number;
  /** Rows the checkpoint recorded as handed to each two-phase sink (sink-hooks.ts). */
  pendingRows: Map<string, string>;
}

export interface CheckpointContent {
  position: SourcePosition | null;
  maxEventTime: number | null;
  watermark: number;
  /** Each window's operator: the checkpoint writes what changed in it since the previous one. */
  windows: Array<[window: string, operator: WindowOperator]>;
  filePositions: ReadonlyMap<string, number>;
  ended: boolean;
  /** Rows handed to each two-phase sink since the previous checkpoint, committed with this one. */
  pendingRows?: ReadonlyMap<string, string>;
}

/**
 * Truncates a file the partition owns to `length` bytes. Only regular files can be cut
 * back: a named pipe or device written as a "file" gets no exactly-once guarantee.
 */
async function truncateTo(file: string, length: number): Promise<void> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    if (length > 0)
      throw new Error(`file ${file} is missing but its checkpoint says it held ${length} bytes`);
    return;
  }
  if (!info.isFile()) return;
  if (info.size < length) {
    throw new Error(`file ${file} holds ${info.size} bytes but its checkpoint says it held ${length}`);
  }
  if (info.size > length) await truncate(file, length);
}

export class PartitionCheckpoints {
  readonly #store: PartitionStore;
  readonly #plan: CheckpointPlan;
  /** Window state: restore, incremental writes, memory budget (window-checkpoints.ts). */
  readonly windowState: WindowCheckpoints;
  readonly #source: string;
  readonly #partition: string;
  #metrics: MetricsRecorder = discardingRecorder;
  #sinceSnapshot = 0;

  private constructor(store: PartitionStore, plan: PartitionPlan) {
    this.#store = store;
    this.#plan = plan.checkpoint;
    this.#source = plan.source;
    this.#partition = String(plan.partition);
    this.windowState = new WindowCheckpoints(store, plan);
  }

  /** Where checkpoint and state metrics go; discarded until set. */
  useMetrics(metrics: MetricsRecorder): void {
    this.#metrics = metrics;
    this.windowState.useMetrics(metrics);
  }

  /** Opens the partition's store, waiting for a previous owner to let go of it. */
  static async open(plan: PartitionPlan, log: Logger): Promise<PartitionCheckpoints> {
    const deadline = Date.now() + lockWaitMs;
    let warned = false;
    for (;;) {
      try {
        const { store, restoredFrom, fallbacks } = await openWithRecovery({
          dir: plan.checkpoint.dir,
          onFallback: ({ file, reason }) =>
            log.warn('snapshot unusable, trying an older one', { file, reason }),
        });
        if (restoredFrom !== null)
          log.warn('state rebuilt from a snapshot file', { file: restoredFrom, fallbacks });
        return new PartitionCheckpoints(store, plan);
      } catch (error) {
        if (!(error instanceof StateLockedError) || Date.now() > deadline) throw error;
        if (!warned)
          log.warn('partition state is locked by another owner; waiting for it', {
            dir: plan.checkpoint.dir,
          });
        warned = true;
        await sleep(250);
      }
    }
  }

  /**
   * Reads the last checkpoint back: window state, source position, and the length each
   * of the partition's files had (0 for a file with no checkpoint yet: everything in it
   * is uncommitted). `truncateFiles` then cuts the files back to those lengths.
   */
  async restore(files: readonly string[]): Promise<RestoredPartition> {
    const record = this.#store.checkpoint;
    const filePositions = new Map<string, number>();
    for (const file of files) filePositions.set(file, record?.sinkPositions[file] ?? 0);
    if (record === null) {
      return {
        pipeline: null,
        position: null,
        filePositions,
        ended: false,
        checkpointId: 0,
        pendingRows: new Map(),
      };
    }
    const windows = await this.windowState.restore();
    const meta = record.meta as { maxEventTime?: number | null; ended?: boolean };
    return {
      pipeline: { maxEventTime: meta.maxEventTime ?? null, windows },
      position: (record.sourcePosition as SourcePosition | null) ?? null,
      filePositions,
      ended: meta.ended === true,
      checkpointId: record.id,
      pendingRows: await readPendingRows(this.#store),
    };
  }

  /** Cuts every file back to the length the last checkpoint recorded. */
  static async truncateFiles(filePositions: ReadonlyMap<string, number>): Promise<void> {
    for (const [file, length] of filePositions) await truncateTo(file, length);
  }

  /** Commits one checkpoint; every `snapshotEvery` commits (or when `snapshot`), also a snapshot file. */
  async commit(content: CheckpointContent, snapshot = false): Promise<CheckpointRecord> {
    const began = performance.now();
    const windowCommit = this.windowState.changes(content.windows);
    const puts: Array<[string, string, Buffer]> = windowCommit.puts;
    for (const [key, value] of encodePendingRows(content.pendingRows ?? new Map())) {
      puts.push([PENDING_ROWS_NAMESPACE, key, value]);
    }
    const record = await this.#store.commit({
      checkpoint: {
        sourcePosition: content.position,
        watermark: Number.isFinite(content.watermark) ? content.watermark : null,
        sinkPositions: Object.fromEntries(content.filePositions),
        emitted: null,
        meta: { maxEventTime: content.maxEventTime, ended: content.ended },
      },
      puts,
      deletes: windowCommit.deletes,
      deletePrefixes: windowCommit.deletePrefixes,
      clear: [...windowCommit.clear, PENDING_ROWS_NAMESPACE],
    });
    this.windowState.committed(content.windows);
    this.#sinceSnapshot++;
    if (snapshot || this.#sinceSnapshot >= this.#plan.snapshotEvery) {
      await this.#store.snapshot(this.#plan.keep);
      this.#sinceSnapshot = 0;
    }
    let written = 0;
    for (const [, key, value] of puts) written += Buffer.byteLength(key) + value.length;
    this.#metrics.inc(
      'sluice_checkpoint_bytes_written_total',
      { source: this.#source, partition: this.#partition },
      written,
    );
    this.#metrics.observe(
      'sluice_checkpoint_duration_seconds',
      { source: this.#source },
      (performance.now() - began) / 1000,
    );
    return record;
  }

  close(): Promise<void> {
    this.windowState.close();
    return this.#store.close();
  }
}
