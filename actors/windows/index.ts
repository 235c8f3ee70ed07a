/** The pure event-time window operator: public surface for the partition actor. */
export { type BatchFit, compileBatchFit, eventMisfit } from './event-fit.ts';
export { formatRow } from './format-row.ts';
export { KEY_GROUPS } from './group-key.ts';
export type { PartialBatch, PartialColumn } from './partial-batch.ts';
export type {
  AggregateFn,
  AggregateRowState,
  AggregateSpec,
  BucketState,
  Emitter,
  EncodedTime,
  EvictedChunk,
  LateRecord,
  OutputRow,
  RowChunk,
  SessionGroup,
  SessionState,
  SluiceEvent,
  WindowMark,
  WindowOperatorConfig,
  WindowOperatorState,
  WindowSpec,
  WindowStateChanges,
} from './types.ts';
export { hoppingStarts } from './window-assigner.ts';
export { validateWindowConfig } from './window-config.ts';
export { WindowConfigError, WindowOperatorError, WindowSnapshotError } from './window-errors.ts';
export { WindowOperator } from './window-operator.ts';
