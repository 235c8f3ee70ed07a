/** The pure event-time window operator: public surface for the partition actor. */
export { eventMisfit } from './event-fit.ts';
export { formatRow } from './format-row.ts';
export type { PartialBatch, PartialColumn } from './partial-batch.ts';
export type {
  AggregateFn,
  AggregateRowState,
  AggregateSpec,
  BucketState,
  Emitter,
  EncodedTime,
  LateRecord,
  OutputRow,
  SessionState,
  SluiceEvent,
  WindowOperatorConfig,
  WindowOperatorState,
  WindowSpec,
} from './types.ts';
export { validateWindowConfig } from './window-config.ts';
export { WindowConfigError, WindowOperatorError, WindowSnapshotError } from './window-errors.ts';
export { WindowOperator } from './window-operator.ts';
