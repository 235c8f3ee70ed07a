import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Emitter,
  formatRow,
  WindowOperator,
  type WindowOperatorConfig,
  WindowOperatorError,
  WindowSnapshotError,
} from '../../../actors/windows/index.ts';

const tumbling: WindowOperatorConfig = {
  window: { type: 'tumbling', sizeMs: 10 },
  allowedLatenessMs: 5,
  maxOutOfOrderMs: 2,
  groupBy: ['user'],
  aggregates: [{ name: 'events', fn: 'count' }],
};

const sessions: WindowOperatorConfig = {
  ...tumbling,
  window: { type: 'session', gapMs: 10 },
  maxOutOfOrderMs: 0,
};

function recorder(): Emitter & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    row: (row) => lines.push(formatRow(row)),
    late: (record) => lines.push(`late ${record.window_start} ${record.watermark}`),
  };
}

describe('WindowOperator', () => {
  it('starts with the watermark at -Infinity and moves it to max event time minus out-of-orderness', () => {
    const operator = new WindowOperator(tumbling);
    const emit = recorder();
    assert.equal(operator.watermark, Number.NEGATIVE_INFINITY);
    operator.process({ user: 'a' }, 7, emit);
    assert.equal(operator.watermark, 5);
    operator.process({ user: 'a' }, 3, emit);
    assert.equal(operator.watermark, 5, 'an older event does not move it back');
  });

  it('ignores advanceWatermark to a lower or equal value', () => {
    const operator = new WindowOperator(tumbling);
    const emit = recorder();
    operator.advanceWatermark(20, emit);
    operator.advanceWatermark(10, emit);
    operator.advanceWatermark(Number.NaN, emit);
    assert.equal(operator.watermark, 20);
  });

  it('fires a window only once the watermark reaches its end', () => {
    const operator = new WindowOperator(tumbling);
    const emit = recorder();
    operator.process({ user: 'a' }, 1, emit);
    operator.process({ user: 'a' }, 11, emit);
    assert.deepEqual(emit.lines, [], 'watermark 9 < end 10');
    operator.process({ user: 'b' }, 12, emit);
    assert.deepEqual(emit.lines, ['{"window_start":0,"window_end":10,"user":"a","events":1,"version":1}']);
  });

  it('counts open windows per key and holds none after the end of input', () => {
    const operator = new WindowOperator(tumbling);
    const emit = recorder();
    operator.processBatch([{ user: 'a' }, { user: 'b' }, { user: 'a' }], [1, 2, 15], emit);
    assert.equal(operator.openWindows, 3);
    operator.advanceWatermark(Number.POSITIVE_INFINITY, emit);
    assert.equal(operator.openWindows, 0);
    assert.equal(emit.lines.length, 3);
  });

  it('sends every event after the end of input to the late output', () => {
    const operator = new WindowOperator(tumbling);
    const emit = recorder();
    operator.advanceWatermark(Number.POSITIVE_INFINITY, emit);
    operator.process({ user: 'a' }, 1_000, emit);
    assert.deepEqual(emit.lines, ['late 1000 Infinity']);
  });

  it('does not change the events it is given', () => {
    const operator = new WindowOperator(tumbling);
    const event = { user: 'a', amount: 1 };
    operator.process(event, 1, recorder());
    assert.deepEqual(event, { user: 'a', amount: 1 });
  });

  it('throws a coded error for a non-finite event time or a batch whose times do not match', () => {
    const operator = new WindowOperator(tumbling);
    assert.throws(
      () => operator.process({}, Number.NaN, recorder()),
      (error: unknown) => error instanceof WindowOperatorError && error.code === 'SLUICE_ERR_WINDOW_TIME',
    );
    assert.throws(
      () => operator.processBatch([{}, {}], [1], recorder()),
      (error: unknown) => error instanceof WindowOperatorError && error.code === 'SLUICE_ERR_WINDOW_BATCH',
    );
  });

  it('refuses to restore a snapshot of another format or window kind', () => {
    const state = new WindowOperator(tumbling).snapshot();
    assert.throws(() => WindowOperator.restore(tumbling, { ...state, format: 2 as 1 }), WindowSnapshotError);
    const operator = new WindowOperator(sessions);
    operator.process({ user: 'a' }, 1, recorder());
    assert.throws(() => WindowOperator.restore(tumbling, operator.snapshot()), WindowSnapshotError);
  });

  it('encodes infinite watermarks in snapshots as strings', () => {
    const operator = new WindowOperator(tumbling);
    assert.equal(operator.snapshot().watermark, '-inf');
    operator.advanceWatermark(Number.POSITIVE_INFINITY, recorder());
    const state = JSON.parse(JSON.stringify(operator.snapshot()));
    assert.equal(state.watermark, 'inf');
    assert.equal(WindowOperator.restore(tumbling, state).watermark, Number.POSITIVE_INFINITY);
  });

  it('keeps a late session merge open, without firing, when it joins a session that has not ended', () => {
    const operator = new WindowOperator({ ...sessions, allowedLatenessMs: 20 });
    const emit = recorder();
    operator.process({ user: 'a' }, 0, emit); // [0, 10)
    operator.process({ user: 'b' }, 25, emit); // watermark 25: a fires
    operator.process({ user: 'a' }, 20, emit); // [20, 30) open
    operator.process({ user: 'a' }, 12, emit); // proto [12, 22) is late, but merges with the open [20, 30)
    assert.deepEqual(emit.lines, ['{"window_start":0,"window_end":10,"user":"a","events":1,"version":1}']);
    operator.advanceWatermark(30, emit);
    assert.deepEqual(emit.lines.slice(1), [
      '{"window_start":12,"window_end":30,"user":"a","events":2,"version":1}',
    ]);
  });

  it('restores sessions handed back in any order', () => {
    const emit = recorder();
    const operator = new WindowOperator({ ...sessions, maxOutOfOrderMs: 100 });
    operator.processBatch([{ user: 'a' }, { user: 'a' }, { user: 'a' }], [0, 40, 80], emit);
    const state = operator.snapshot();
    state.sessions.reverse();
    const restored = WindowOperator.restore({ ...sessions, maxOutOfOrderMs: 100 }, state);
    const left = recorder();
    const right = recorder();
    for (const [target, out] of [
      [operator, left],
      [restored, right],
    ] as const) {
      target.process({ user: 'a' }, 45, out);
      target.advanceWatermark(Number.POSITIVE_INFINITY, out);
    }
    assert.deepEqual(right.lines, left.lines);
    assert.equal(left.lines.length, 3);
  });
});

describe('WindowOperator keys', () => {
  it('groups keys that are property names of plain objects like any other key', () => {
    const operator = new WindowOperator(tumbling);
    const emit = recorder();
    const users = ['__proto__', 'constructor', 'toString', '0', '4294967295', '', 'hasOwnProperty'];
    operator.processBatch(
      users.map((user) => ({ user })),
      users.map(() => 1),
      emit,
    );
    operator.process({ user: '__proto__' }, 2, emit);
    operator.advanceWatermark(Number.POSITIVE_INFINITY, emit);
    assert.equal(emit.lines.length, users.length);
    assert.ok(
      emit.lines.includes('{"window_start":0,"window_end":10,"user":"__proto__","events":2,"version":1}'),
    );
  });
});
