import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { pack, unpack } from 'msgpackr';
import {
  type Emitter,
  formatRow,
  type RowChunk,
  type SessionGroup,
  type SluiceEvent,
  type WindowMark,
  WindowOperator,
  type WindowOperatorConfig,
  type WindowStateChanges,
} from '../../../actors/windows/index.ts';
import { type Step, steps, windowConfig } from './window-arbitraries.ts';

/**
 * A stand-in for the partition store: stored pieces by identity, each msgpack bytes, so
 * only plain data survives and two stores compare byte for byte.
 */
class PieceStore {
  readonly pieces = new Map<string, Buffer>();
  watermark: WindowStateChanges['watermark'] = '-inf';

  apply(changes: WindowStateChanges): void {
    this.watermark = changes.watermark;
    for (const start of changes.purged) {
      for (const name of [...this.pieces.keys()]) {
        if (name === `m:${start}` || name.startsWith(`c:${start}:`)) this.pieces.delete(name);
      }
    }
    for (const mark of changes.marks) this.pieces.set(`m:${mark.start}`, pack(mark));
    for (const chunk of changes.chunks) this.pieces.set(`c:${chunk.start}:${chunk.group}`, pack(chunk));
    for (const group of changes.sessionGroups) {
      if (group.sessions.length === 0) this.pieces.delete(`s:${group.group}`);
      else this.pieces.set(`s:${group.group}`, pack(group));
    }
  }

  /** A fresh operator from the stored pieces; with `budget`, rows past it stay evicted. */
  restore(config: WindowOperatorConfig, resident: (chunk: RowChunk) => boolean): WindowOperator {
    const operator = new WindowOperator(config);
    operator.restoreWatermark(this.watermark);
    const names = [...this.pieces.keys()];
    for (const name of names.filter((n) => n.startsWith('m:'))) {
      operator.restoreMark(unpack(this.pieces.get(name) as Buffer) as WindowMark);
    }
    for (const name of names.filter((n) => n.startsWith('c:'))) {
      const chunk = unpack(this.pieces.get(name) as Buffer) as RowChunk;
      operator.restoreChunk(chunk, resident(chunk));
    }
    for (const name of names.filter((n) => n.startsWith('s:'))) {
      operator.restoreSessionGroup(unpack(this.pieces.get(name) as Buffer) as SessionGroup);
    }
    return operator;
  }

  /** Every piece as hex, in name order. */
  hex(): Array<[string, string]> {
    return [...this.pieces].map(([name, bytes]): [string, string] => [name, bytes.toString('hex')]).sort();
  }

  chunk(start: number, group: number): RowChunk {
    const bytes = this.pieces.get(`c:${start}:${group}`);
    assert.ok(bytes, `evicted piece ${start}/${group} is stored`);
    return unpack(bytes) as RowChunk;
  }
}

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

function uninterrupted(config: WindowOperatorConfig, input: Step[]): string[] {
  const { emit, output } = recorder();
  const operator = new WindowOperator(config);
  for (const step of input) {
    if (step.kind === 'event') operator.process(step.event, step.time, emit);
    else operator.advanceWatermark(step.watermark, emit);
  }
  operator.advanceWatermark(Number.POSITIVE_INFINITY, emit);
  return output;
}

interface Plan {
  /** Step indexes before which a checkpoint is taken. */
  checkpoints: Set<number>;
  /** Evict every clean row after each checkpoint (a budget of 0 bytes). */
  evict: boolean;
  /** Step index at which the process "dies" once, restarting from the last checkpoint. */
  crashAt: number | null;
  /** The restart keeps the restored rows evicted too. */
  restoreEvicted: boolean;
}

/**
 * Runs `input` the way a partition does: batches between checkpoints, evicted pieces read
 * back before each batch and each watermark move, and one crash that drops the output
 * since the last checkpoint and replays from it.
 */
function checkpointed(
  config: WindowOperatorConfig,
  input: Step[],
  plan: Plan,
): { output: string[]; store: PieceStore } {
  const store = new PieceStore();
  const { emit, output } = recorder();
  let operator = new WindowOperator(config);
  let committedOutput = 0;
  let committedStep = 0;
  let crashed = false;
  const readBackFor = (missing: Array<{ start: number; group: number }>) => {
    if (missing.length > 0) operator.readBack(missing.map(({ start, group }) => store.chunk(start, group)));
  };
  const runBatch = (events: SluiceEvent[], times: number[]) => {
    if (events.length === 0) return;
    readBackFor(operator.missingChunks(events, Math.max(...times), (event) => operator.encodeKey(event)));
    operator.tick();
    operator.processBatch(events, times, emit);
  };
  let index = 0;
  let events: SluiceEvent[] = [];
  let times: number[] = [];
  while (index <= input.length) {
    if (plan.checkpoints.has(index) || index === input.length) {
      runBatch(events, times);
      events = [];
      times = [];
      store.apply(operator.captureChanges());
      committedOutput = output.length;
      committedStep = index;
      if (plan.evict) operator.evict(0);
    }
    if (!crashed && plan.crashAt === index) {
      crashed = true;
      events = [];
      times = [];
      output.length = committedOutput;
      operator = store.restore(config, () => !plan.restoreEvicted);
      index = committedStep;
      if (index === input.length) break;
    }
    if (index === input.length) break;
    const step = input[index];
    if (step.kind === 'event') {
      events.push(step.event);
      times.push(step.time);
    } else {
      runBatch(events, times);
      events = [];
      times = [];
      readBackFor(operator.missingForWatermark(step.watermark));
      operator.advanceWatermark(step.watermark, emit);
    }
    index++;
  }
  readBackFor(operator.missingForWatermark(Number.POSITIVE_INFINITY));
  operator.advanceWatermark(Number.POSITIVE_INFINITY, emit);
  return { output, store };
}

const plan = (length: number) =>
  fc.record({
    checkpoints: fc.uniqueArray(fc.nat({ max: length }), { maxLength: 8 }).map((list) => new Set(list)),
    evict: fc.boolean(),
    crashAt: fc.option(fc.nat({ max: length }), { nil: null }),
    restoreEvicted: fc.boolean(),
  });

describe('incremental window state', () => {
  it('gives the output of an uninterrupted run across checkpoints, evictions, read-backs and a crash', () => {
    fc.assert(
      fc.property(
        windowConfig,
        steps.chain((input) => fc.tuple(fc.constant(input), plan(input.length))),
        (config, [input, chosen]) => {
          assert.deepEqual(checkpointed(config, input, chosen).output, uninterrupted(config, input));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('stores, after incremental checkpoints, the very bytes one full capture of the same state stores', () => {
    fc.assert(
      fc.property(
        windowConfig,
        steps.chain((input) => fc.tuple(fc.constant(input), plan(input.length))),
        fc.nat({ max: 60 }),
        (config, [input, chosen], at) => {
          const split = Math.min(at, input.length);
          const { store } = checkpointed(config, input.slice(0, split), {
            ...chosen,
            evict: false,
            crashAt: null,
          });
          const restored = store.restore(config, () => true);
          const full = new PieceStore();
          full.apply(restored.captureChanges(true));
          assert.deepEqual(full.hex(), store.hex());
          assert.equal(full.watermark, store.watermark);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('writes only the key groups an event touched since the last checkpoint', () => {
    const config: WindowOperatorConfig = {
      window: { type: 'tumbling', sizeMs: 1000 },
      allowedLatenessMs: 500,
      maxOutOfOrderMs: 0,
      groupBy: ['k'],
      aggregates: [{ name: 'n', fn: 'count' }],
    };
    const operator = new WindowOperator(config);
    const { emit } = recorder();
    for (let key = 0; key < 20_000; key++) operator.process({ k: `user-${key}` }, 10, emit);
    const first = operator.captureChanges();
    assert.equal(first.marks.length, 1);
    assert.ok(first.chunks.length > 900 && first.chunks.length <= 1024, `${first.chunks.length} pieces`);
    assert.equal(
      first.chunks.reduce((rows, chunk) => rows + chunk.refires.length, 0),
      20_000,
    );
    operator.process({ k: 'user-7' }, 20, emit);
    operator.process({ k: 'user-8' }, 30, emit);
    const second = operator.captureChanges();
    assert.deepEqual(second.marks, []);
    assert.ok(second.chunks.length >= 1 && second.chunks.length <= 2);
    assert.deepEqual(operator.captureChanges().chunks, [], 'nothing changed since');
    operator.advanceWatermark(1000, emit);
    const fired = operator.captureChanges();
    assert.deepEqual(
      fired.marks,
      [{ start: 0, fired: true }],
      'firing rewrites the window mark, not its rows',
    );
    assert.deepEqual(fired.chunks, []);
    operator.process({ k: 'user-9' }, 999, emit);
    const refired = operator.captureChanges();
    assert.equal(refired.chunks.length, 1, 'a late event within lateness rewrites its key group');
    operator.advanceWatermark(5000, emit);
    assert.deepEqual(operator.captureChanges().purged, [0]);
  });

  it('keeps rows in memory within the budget after each checkpoint', () => {
    const config: WindowOperatorConfig = {
      window: { type: 'tumbling', sizeMs: 1000 },
      allowedLatenessMs: 0,
      maxOutOfOrderMs: 0,
      groupBy: ['k'],
      aggregates: [{ name: 'n', fn: 'count' }],
    };
    const operator = new WindowOperator(config);
    const { emit } = recorder();
    for (let key = 0; key < 10_000; key++) operator.process({ k: `user-${key}` }, 10, emit);
    const before = operator.estimatedBytes;
    operator.captureChanges();
    const evicted = operator.evict(before / 10);
    assert.ok(evicted > 8000, `${evicted} rows evicted`);
    assert.ok(operator.estimatedBytes <= before / 10);
    assert.equal(operator.openWindows, 10_000, 'evicted rows still count as held');
    assert.ok(operator.residentWindows < 2000);
    assert.throws(() => operator.process({ k: 'user-1' }, 20, emit), /evicted/);
  });
});
