/**
 * The state layer: per-partition LevelDB state, checkpoint records and snapshot files.
 * It stores opaque, already-encoded entries and knows nothing of actors, sources or windows.
 */

export {
  listPartitions,
  type NamespaceDetail,
  type NamespaceReader,
  type PartitionSummary,
  type RollBackResult,
  rollBack,
} from './checkpoint-inspector.ts';
export type { CheckpointContent, CheckpointRecord } from './checkpoint-record.ts';
export { STATE_FORMAT_VERSION } from './key-layout.ts';
export { openWithRecovery, type RecoveredStore, type RecoveryOptions } from './open-with-recovery.ts';
export { type CommitChange, PartitionStore, type PartitionStoreOptions } from './partition-store.ts';
export type { SnapshotInfo } from './snapshot-directory.ts';
export { SNAPSHOT_VERSION } from './snapshot-format.ts';
export {
  NoValidSnapshotError,
  SnapshotInvalidError,
  StateError,
  StateFormatError,
  StateLockedError,
  StateUnreadableError,
  StateUsageError,
} from './state-errors.ts';
