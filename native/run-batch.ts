import type { Emitter, WindowOperator } from '../actors/windows/index.ts';
import { type NativeBatch, STEP_ADVANCE, STEP_APPLY } from './native-batch.ts';

/**
 * Runs the per-event path for event `index` of the batch: `time` is NaN when its time
 * field was missing or not a number. The caller does what it does for any single event
 * (dead letter, schema misfit, `operator.process`).
 */
export type SlowStep = (index: number, time: number) => void;

/**
 * Plays a pre-aggregated batch into `operator`: merges each segment of partials,
 * advances the watermark where the events did, and hands the events the fast path left
 * out to `slow`, all in event order, so the rows and late records emitted are those
 * `processBatch` would emit. `batch.fallback` must be null.
 */
export function runBatch(operator: WindowOperator, batch: NativeBatch, slow: SlowStep, emit: Emitter): void {
  const steps = batch.steps;
  let applied = 0;
  for (let i = 0; i < steps.length; i += 2) {
    const argument = steps[i + 1];
    switch (steps[i]) {
      case STEP_APPLY:
        operator.applyPartials(batch, applied, argument);
        applied = argument;
        break;
      case STEP_ADVANCE:
        operator.advanceWatermark(batch.marks[argument], emit);
        break;
      default:
        slow(argument, batch.times[argument]);
    }
  }
}
