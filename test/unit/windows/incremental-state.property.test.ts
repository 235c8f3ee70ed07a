import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { pack, unpack } from 'msgpackr';
import { keyGroup } from '../../../actors/windows/group-key.ts';
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

  /** A fresh operator from the stored pieces; the pieces `resident` refuses stay evicted. */
  restore(
    config: WindowOperatorConfig,
    resident: (piece: RowChunk | SessionGroup) => boolean,
  ): WindowOperator {
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
      const group = unpack(this.pieces.get(name) as Buffer) as SessionGroup;
      operator.restoreSessionGroup(group, resident(group));
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

  sessionGroup(group: number): SessionGroup {
    const bytes = this.pieces.get(`s:${group}`);
    assert.ok(bytes, `evicted session group ${group} is stored`);
    return unpack(bytes) as SessionGroup;
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
  const readBackFor = (missing: Array<{ start: number; group: number }>, sessionGroups: number[]) => {
    if (missing.length > 0) operator.readBack(missing.map(({ start, group }) => store.chunk(start, group)));
    if (sessionGroups.length > 0)
      operator.readBackSessions(sessionGroups.map((group) => store.sessionGroup(group)));
  };
  const readBackForWatermark = (watermark: number) =>
    readBackFor(operator.missingForWatermark(watermark), operator.sessionGroupsForWatermark(watermark));
  const runBatch = (events: SluiceEvent[], times: number[]) => {
    if (events.length === 0) return;
    const maxTime = Math.max(...times);
    const encode = (event: SluiceEvent) => operator.encodeKey(event);
    readBackFor(
      operator.missingChunks(events, maxTime, encode),
      operator.missingSessionGroups(events, maxTime, encode),
    );
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
      if (plan.evict) {
        operator.evict(0);
        assert.equal(operator.residentWindows, 0, 'a budget of 0 leaves no row in memory');
      }
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
      readBackForWatermark(step.watermark);
      operator.advanceWatermark(step.watermark, emit);
    }
    index++;
  }
  readBackForWatermark(Number.POSITIVE_INFINITY);
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

  it('gives the output of an uninterrupted run for session windows evicted whole after every checkpoint', () => {
    const sessionConfig = windowConfig.map(
      (config): WindowOperatorConfig => ({
        ...config,
        window: { type: 'session', gapMs: (config.allowedLatenessMs % 15) + 1 },
      }),
    );
    fc.assert(
      fc.property(
        sessionConfig,
        steps.chain((input) => fc.tuple(fc.constant(input), plan(input.length))),
        (config, [input, chosen]) => {
          const run = checkpointed(config, input, { ...chosen, evict: true });
          assert.deepEqual(run.output, uninterrupted(config, input));
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

  it('keeps sessions in memory within the budget and reads back only the groups a watermark closes', () => {
    const config: WindowOperatorConfig = {
      window: { type: 'session', gapMs: 10 },
      allowedLatenessMs: 0,
      maxOutOfOrderMs: 10_000,
      groupBy: ['k'],
      aggregates: [{ name: 'n', fn: 'count' }],
    };
    const operator = new WindowOperator(config);
    const { emit, output } = recorder();
    // Key i has one session [i, i + 10).
    for (let key = 0; key < 10_000; key++) operator.process({ k: `user-${key}` }, key, emit);
    const before = operator.estimatedBytes;
    const store = new PieceStore();
    store.apply(operator.captureChanges());
    const evicted = operator.evict(before / 10);
    assert.ok(evicted > 8000, `${evicted} sessions evicted`);
    assert.ok(operator.estimatedBytes <= before / 10);
    assert.equal(operator.openWindows, 10_000, 'evicted sessions still count as held');
    assert.ok(operator.residentWindows < 2000, `${operator.residentWindows} sessions in memory`);

    const groupOf = (key: number) => keyGroup(operator.encodeKey({ k: `user-${key}` }));
    const evictedGroups = new Set(operator.sessionGroupsForWatermark(Number.POSITIVE_INFINITY));
    // A watermark of 105 closes the sessions of keys 0…95 only: their groups, no others.
    const closing = new Set([...Array(96).keys()].map(groupOf).filter((group) => evictedGroups.has(group)));
    const cold = [...Array(10_000).keys()].find(
      (key) => evictedGroups.has(groupOf(key)) && !closing.has(groupOf(key)),
    ) as number;
    assert.throws(() => operator.process({ k: `user-${cold}` }, 10_000, emit), /evicted/);
    const wanted = operator.sessionGroupsForWatermark(105);
    assert.deepEqual(new Set(wanted), closing);
    assert.ok(wanted.length < evictedGroups.size / 4, `${wanted.length} of ${evictedGroups.size} groups`);
    operator.readBackSessions(wanted.map((group) => store.sessionGroup(group)));
    operator.advanceWatermark(105, emit);
    assert.equal(output.length, 96, 'every session ending by 105 fired');
    assert.deepEqual(
      operator.missingSessionGroups([], 0, () => null),
      [],
    );
    const batch = [{ k: `user-${cold}` }];
    const missing = operator.missingSessionGroups(batch, 200, (event) => operator.encodeKey(event));
    assert.ok(missing.includes(groupOf(cold)));
    operator.readBackSessions(missing.map((group) => store.sessionGroup(group)));
    operator.process(batch[0], 200, emit);
    assert.throws(() => operator.advanceWatermark(20_000, emit), /evicted/);
  });
});
