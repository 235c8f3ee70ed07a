import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { pack, unpack } from 'msgpackr';
import {
  type Emitter,
  formatRow,
  type SluiceEvent,
  WindowOperator,
  type WindowOperatorConfig,
  type WindowOperatorState,
} from '../../../actors/windows/index.ts';
import { ReferenceModel } from './reference-model.ts';
import { type Step, steps, windowConfig } from './window-arbitraries.ts';

function recorder(): { emit: Emitter; output: string[] } {
  const output: string[] = [];
  return {
    output,
    emit: {
      row: (row) => output.push(`row ${formatRow(row)}`),
      late: (record) => output.push(`late ${JSON.stringify(record)}`),
    },
  };
}

/** Feeds events in batches cut at `cuts` (indexes into the event steps), advances alone. */
function runOperator(operator: WindowOperator, input: Step[], emit: Emitter, cuts: number[] = []): void {
  let events: SluiceEvent[] = [];
  let times: number[] = [];
  const flush = () => {
    operator.processBatch(events, times, emit);
    events = [];
    times = [];
  };
  input.forEach((step, index) => {
    if (cuts.includes(index)) flush();
    if (step.kind === 'event') {
      events.push(step.event);
      times.push(step.time);
    } else {
      flush();
      operator.advanceWatermark(step.watermark, emit);
    }
  });
  flush();
}

function operatorOutput(config: WindowOperatorConfig, input: Step[], cuts: number[] = []): string[] {
  const { emit, output } = recorder();
  const operator = new WindowOperator(config);
  runOperator(operator, input, emit, cuts);
  operator.advanceWatermark(Number.POSITIVE_INFINITY, emit);
  return output;
}

const RUNS = 400;

describe('window operator properties', () => {
  it('emits exactly the rows and late records of the brute-force model, step by step', () => {
    fc.assert(
      fc.property(windowConfig, steps, (config, input) => {
        const model = new ReferenceModel(config);
        const { emit, output } = recorder();
        const operator = new WindowOperator(config);
        for (const step of input) {
          if (step.kind === 'event') {
            model.process(step.event, step.time);
            operator.process(step.event, step.time, emit);
          } else {
            model.advance(step.watermark);
            operator.advanceWatermark(step.watermark, emit);
          }
          assert.deepEqual(output, model.output);
          assert.equal(operator.watermark, model.watermark);
          assert.equal(operator.openWindows, model.openWindows);
        }
        model.advance(Number.POSITIVE_INFINITY);
        operator.advanceWatermark(Number.POSITIVE_INFINITY, emit);
        assert.deepEqual(output, model.output);
        assert.equal(operator.openWindows, 0);
      }),
      { numRuns: RUNS },
    );
  });

  it('gives identical output for any split of the input into batches', () => {
    fc.assert(
      fc.property(
        windowConfig,
        steps,
        fc.array(fc.nat({ max: 60 }), { maxLength: 10 }),
        (config, input, cuts) => {
          assert.deepEqual(operatorOutput(config, input, cuts), operatorOutput(config, input));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('continues identically after a snapshot is round-tripped through JSON or msgpack, reordered and restored', () => {
    fc.assert(
      fc.property(
        windowConfig,
        steps,
        fc.nat({ max: 60 }),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        (config, input, at, viaJson, endFirst, reorder) => {
          const split = Math.min(at, input.length);
          const { emit } = recorder();
          const original = new WindowOperator(config);
          runOperator(original, input.slice(0, split), emit);
          if (endFirst) original.advanceWatermark(Number.POSITIVE_INFINITY, emit);
          const state = original.snapshot();
          const taken = JSON.stringify(state);
          const copied: WindowOperatorState = viaJson
            ? JSON.parse(JSON.stringify(state))
            : unpack(pack(state));
          assert.deepEqual(copied, state);
          if (reorder) {
            copied.buckets.reverse();
            copied.sessions.reverse();
          }
          const restored = WindowOperator.restore(config, copied);
          assert.equal(restored.watermark, original.watermark);
          assert.equal(restored.openWindows, original.openWindows);

          const rest = input.slice(split);
          const expected = recorder();
          runOperator(original, rest, expected.emit);
          original.advanceWatermark(Number.POSITIVE_INFINITY, expected.emit);
          const actual = recorder();
          runOperator(restored, rest, actual.emit);
          restored.advanceWatermark(Number.POSITIVE_INFINITY, actual.emit);
          assert.deepEqual(actual.output, expected.output);
          assert.equal(JSON.stringify(state), taken, 'the snapshot does not change with later processing');
        },
      ),
      { numRuns: RUNS },
    );
  });
});
