import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeFrame } from '../../../actors/codecs/frame.ts';
import { OutputBuffer } from '../../../actors/partition/output-buffer.ts';
import { PartitionPipeline } from '../../../actors/partition/partition-pipeline.ts';
import type { PartitionPlan, SinkWrite, WindowPlan } from '../../../actors/partition/partition-plan.ts';
import type { SluiceEvent } from '../../../actors/windows/index.ts';
import {
  aggregateFrameNative,
  aggregateFrameTwin,
  type FrameSpec,
  type NativeBatch,
  nativeAddon,
} from '../../../native/index.ts';
import type { ActorContext } from '../../../runtime/actor.ts';
import { createLogger } from '../../../runtime/logger.ts';
import { discardingRecorder } from '../../../runtime/metrics-recorder.ts';

function capturingContext(writes: SinkWrite[]): ActorContext {
  return {
    name: 'test',
    emit: async (channel, payload) => {
      if (channel === 'sink') writes.push(payload as SinkWrite);
    },
    setTimer() {},
    cancelTimer() {},
    metrics: discardingRecorder,
    log: createLogger({ level: 'error' }),
  };
}

function plan(overrides: Partial<PartitionPlan> = {}): PartitionPlan {
  return {
    source: 'events',
    partition: 0,
    partitions: 1,
    keyField: 'user_id',
    timeField: 'ts',
    maxOutOfOrderMs: 0,
    idleTimeoutMs: null,
    batchSize: 1000,
    input: { kind: 'pushed', format: 'json' },
    windows: [
      {
        name: 'per_user',
        operator: {
          window: { type: 'tumbling', sizeMs: 10 },
          allowedLatenessMs: 0,
          maxOutOfOrderMs: 0,
          groupBy: ['user_id'],
          aggregates: [
            { name: 'events', fn: 'count' },
            { name: 'amount', fn: 'sum', field: 'amount' },
          ],
        },
        to: [{ sink: 'out', file: '/tmp/out.jsonl' }],
        late: { sink: 'late', file: null },
        transform: null,
      },
    ],
    streams: [],
    deadLetter: { sink: 'dlq', file: null },
    checkpoint: { dir: '/nonexistent', intervalMs: 10_000, keep: 3, snapshotEvery: 6 },
    ...overrides,
  };
}

async function run(
  pipelinePlan: PartitionPlan,
  batches: Array<Array<Record<string, unknown> | null>>,
  prepareFirst = false,
): Promise<Map<string, string>> {
  const writes: SinkWrite[] = [];
  const ctx = capturingContext(writes);
  const pipeline = await PartitionPipeline.create(pipelinePlan);
  const output = new OutputBuffer();
  let position = 1;
  for (const batch of batches) {
    const times = batch.map((event) => (event ? (event.ts as number) : 0));
    const positions = batch.map(() => position++);
    const failures = new Map(
      batch.flatMap((event, index) =>
        event === null ? [[index, { code: 'JSON_INVALID' as const, reason: 'bad', raw: 'x' }] as const] : [],
      ),
    );
    const failed = failures.size > 0 ? failures : null;
    // As the actor does: windows' steps first, then (its read-back, then) the batch.
    const prepared = prepareFirst ? pipeline.prepare(batch, failed) : null;
    pipeline.process(batch, times, positions, output, 0, failed, prepared);
    await output.flush(ctx);
  }
  pipeline.endOfInput(output);
  await output.flush(ctx);
  const bySink = new Map<string, string>();
  for (const write of writes) bySink.set(write.sink, (bySink.get(write.sink) ?? '') + write.data);
  return bySink;
}

const events = [
  { user_id: 'a', ts: 1, amount: 1 },
  { user_id: 'b', ts: 2, amount: 2 },
  { user_id: 'a', ts: 3, amount: 'three' },
  null,
  { user_id: 'a', ts: 12, amount: 4 },
  { user_id: 'b', ts: 25, amount: 5 },
  { user_id: 'a', ts: 5, amount: 6 },
];

describe('partition pipeline', () => {
  it('writes rows, late records and dead letters in an order that batch boundaries do not change', async () => {
    const whole = await run(plan(), [events]);
    const split = await run(plan(), [events.slice(0, 2), events.slice(2, 5), events.slice(5)]);
    const single = await run(
      plan(),
      events.map((event) => [event]),
    );
    assert.deepEqual(split, whole);
    assert.deepEqual(single, whole);
    assert.equal(
      whole.get('out'),
      [
        '{"window_start":0,"window_end":10,"user_id":"a","events":1,"amount":1,"version":1}',
        '{"window_start":0,"window_end":10,"user_id":"b","events":1,"amount":2,"version":1}',
        '{"window_start":10,"window_end":20,"user_id":"a","events":1,"amount":4,"version":1}',
        '{"window_start":20,"window_end":30,"user_id":"b","events":1,"amount":5,"version":1}',
        '',
      ].join('\n'),
    );
    const late = whole
      .get('late')!
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.deepEqual(late, [
      {
        window: 'per_user',
        window_start: 0,
        window_end: 10,
        watermark: 25,
        event: { user_id: 'a', ts: 5, amount: 6 },
      },
    ]);
    const dead = whole
      .get('dlq')!
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.deepEqual(
      dead.map((record) => [record.code, record.position]),
      [
        ['SCHEMA_MISFIT', 3],
        ['JSON_INVALID', 4],
      ],
    );
    assert.match(dead[0].reason, /amount/);
  });

  it('lets an event the window cannot use still move the watermark of the partition', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-transform-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const transform = join(dir, 'drop-b.mjs');
    await writeFile(transform, 'export default (event) => (event.user_id === "b" ? null : event);\n');
    const base = plan();
    const withTransform = plan({ windows: [{ ...base.windows[0], transform }] });
    const writes: SinkWrite[] = [];
    const ctx = capturingContext(writes);
    const pipeline = await PartitionPipeline.create(withTransform);
    const output = new OutputBuffer();
    const batch = [
      { user_id: 'a', ts: 1, amount: 1 },
      { user_id: 'b', ts: 15, amount: 2 },
    ];
    pipeline.process(batch, [1, 15], [1, 2], output);
    await output.flush(ctx);
    // b was dropped by the transform, yet its time closed a's window [0, 10).
    assert.equal(writes.length, 1);
    assert.match(writes[0].data, /"user_id":"a","events":1/);
  });

  it('runs a window transform once per event over a prepared batch and writes its dead letters at their place', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-prepare-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const transform = join(dir, 'counted.mjs');
    await writeFile(
      transform,
      `export default (event) => {
  globalThis.sluicePreparedCalls = (globalThis.sluicePreparedCalls ?? 0) + 1;
  if (event.amount === 2) throw new Error('two');
  if (event.amount === 6) return { ...event, amount: 'six' };
  return { ...event, amount: event.amount * 10 };
};
`,
    );
    const calls = () => (globalThis as { sluicePreparedCalls?: number }).sluicePreparedCalls ?? 0;
    const base = plan();
    const stepped = plan({
      windows: [base.windows[0], { ...base.windows[0], name: 'tenfold', transform }],
      streams: [{ name: 'raw', to: [{ sink: 'raw', file: null }], transform }],
    });
    const input = [
      { user_id: 'a', ts: 1, amount: 1 },
      { user_id: 'b', ts: 2, amount: 2 },
      null,
      { user_id: 'a', ts: 12, amount: 6 },
      { user_id: 'b', ts: 25, amount: 5 },
    ];
    let before = calls();
    const whole = await run(stepped, [input]);
    // Four events with a valid time, each through the window's and the stream's transform once.
    assert.equal(calls() - before, 8);
    before = calls();
    const prepared = await run(stepped, [input.slice(0, 2), input.slice(2)], true);
    assert.equal(calls() - before, 8);
    assert.deepEqual(prepared, whole);
    const dead = (whole.get('dlq') ?? '')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { code: string; position: number });
    assert.deepEqual(
      dead.map((record) => [record.code, record.position]),
      [
        ['TRANSFORM_FAILED', 2],
        ['TRANSFORM_FAILED', 2],
        ['JSON_INVALID', 3],
        ['SCHEMA_MISFIT', 4],
      ],
    );
    assert.match(
      whole.get('out') ?? '',
      /"window_start":0,"window_end":10,"user_id":"a","events":1,"amount":10/,
    );
  });

  it('refuses a window transform that returns one object for two events of a batch, naming both', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-reuse-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const transform = join(dir, 'reused.mjs');
    // One object refilled per call: every prepared event would read as the batch's last.
    await writeFile(
      transform,
      'const out = {};\nexport default (event) => Object.assign(out, event, { amount: 1 });\n',
    );
    const base = plan();
    const pipeline = await PartitionPipeline.create(plan({ windows: [{ ...base.windows[0], transform }] }));
    const batch = [
      { user_id: 'a', ts: 1, amount: 1 },
      { user_id: 'b', ts: 2, amount: 2 },
    ];
    assert.throws(
      () => pipeline.prepare(batch),
      (error: Error & { code?: string }) =>
        error.code === 'SLUICE_ERR_TRANSFORM_REUSE' && /events 0 and 1 of one batch/.test(error.message),
    );
    // Returning the event it was given (changed or not) is one object per event: allowed.
    await writeFile(join(dir, 'same.mjs'), 'export default (event) => event;\n');
    const same = await PartitionPipeline.create(
      plan({ windows: [{ ...base.windows[0], transform: join(dir, 'same.mjs') }] }),
    );
    assert.doesNotThrow(() => same.prepare(batch));
  });

  it('sends the events of a stream, transformed, to its sinks as JSON lines', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-stream-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const transform = join(dir, 'tag.mjs');
    await writeFile(
      transform,
      'export default (event) => (event.amount > 1 ? { ...event, big: true } : null);\n',
    );
    const streamPlan = plan({
      windows: [],
      streams: [{ name: 'raw', to: [{ sink: 'raw', file: null }], transform }],
    });
    const out = await run(streamPlan, [
      [
        { user_id: 'a', ts: 1, amount: 1 },
        { user_id: 'b', ts: 2, amount: 2 },
      ],
    ]);
    assert.equal(out.get('raw'), '{"user_id":"b","ts":2,"amount":2,"big":true}\n');
  });

  it('advances the watermark of an idle partition by the wall-clock time past its idle timeout', async () => {
    const writes: SinkWrite[] = [];
    const ctx = capturingContext(writes);
    const pipeline = await PartitionPipeline.create(plan({ idleTimeoutMs: 1000 }));
    const output = new OutputBuffer();
    pipeline.process([{ user_id: 'a', ts: 1, amount: 1 }], [1], [1], output);
    const now = Date.now();
    assert.equal(pipeline.advanceIfIdle(now + 500, 1000, output), false, 'not idle yet');
    // Idle for 1000 ms + 8 ms: the watermark (1) moves 8 ms, past the window's end (10).
    assert.equal(pipeline.advanceIfIdle(now + 1008 + 50, 1000, output), true);
    await output.flush(ctx);
    assert.equal(writes.length, 1);
    assert.match(writes[0].data, /"window_start":0,"window_end":10,"user_id":"a"/);
  });
});

/**
 * The pre-aggregated path (`applyPreAggregated`): which windows qualify, the same output
 * as the event-by-event path — late events and re-fires run one by one beside the
 * partials — and a batch that would make a dead letter left untouched for the ordinary
 * path. On the addon and on its TS twin.
 */
const perUser: WindowPlan = {
  name: 'per_user',
  operator: {
    window: { type: 'tumbling', sizeMs: 10 },
    allowedLatenessMs: 5,
    maxOutOfOrderMs: 0,
    groupBy: ['user_id'],
    aggregates: [
      { name: 'events', fn: 'count' },
      { name: 'amount', fn: 'sum', field: 'amount' },
      { name: 'page', fn: 'last', field: 'page' },
    ],
  },
  to: [{ sink: 'out', file: null }],
  late: null,
  transform: null,
};

/** One tumbling window and nothing else reading the events: the pre-aggregated path's shape. */
function preAggregatedPlan(overrides: Partial<PartitionPlan> = {}): PartitionPlan {
  return plan({ windows: [perUser], ...overrides });
}

type Aggregate = (frame: Buffer, spec: FrameSpec, watermark: number) => NativeBatch;

/**
 * Runs batches through a fresh pipeline, pre-aggregated where it takes them (else, as the
 * actor then does, event by event); returns the writes per sink and which batches it took.
 */
async function runPreAggregated(
  batches: SluiceEvent[][],
  aggregate: Aggregate | null,
): Promise<{ sinks: Map<string, string>; taken: boolean[] }> {
  const writes: SinkWrite[] = [];
  const ctx = capturingContext(writes);
  const pipeline = await PartitionPipeline.create(preAggregatedPlan());
  const spec = pipeline.preAggregationSpec();
  assert.ok(spec !== null);
  const output = new OutputBuffer();
  const taken: boolean[] = [];
  for (const events of batches) {
    const count: number | null =
      aggregate === null
        ? null
        : pipeline.applyPreAggregated(
            (watermark: number): NativeBatch => aggregate(encodeFrame(events), spec, watermark),
            () => events,
            output,
          );
    taken.push(count !== null);
    if (count === null) {
      const times = events.map((event) => (typeof event.ts === 'number' ? event.ts : Number.NaN));
      const failures = new Map(
        events.flatMap((event, index) =>
          typeof event.ts === 'number'
            ? []
            : [
                [
                  index,
                  { code: 'TIME_INVALID' as const, reason: 'no time', raw: JSON.stringify(event) },
                ] as const,
              ],
        ),
      );
      pipeline.process(events, times, null, output, 0, failures.size > 0 ? failures : null);
    } else assert.equal(count, events.length);
    await output.flush(ctx);
  }
  pipeline.endOfInput(output);
  await output.flush(ctx);
  const sinks = new Map<string, string>();
  for (const write of writes) sinks.set(write.sink, (sinks.get(write.sink) ?? '') + write.data);
  return { sinks, taken };
}

const paths: Array<[string, Aggregate]> = [
  ['TS twin', aggregateFrameTwin],
  ...(nativeAddon === null ? [] : [['native addon', aggregateFrameNative] as [string, Aggregate]]),
];

describe('pre-aggregated batches in the partition pipeline', () => {
  it('takes them for one tumbling window that nothing else reads', async () => {
    assert.ok((await PartitionPipeline.create(preAggregatedPlan())).preAggregationSpec() !== null);
    const refused: Array<Partial<PartitionPlan>> = [
      { windows: [{ ...perUser, late: { sink: 'late', file: null } }] },
      { windows: [{ ...perUser, operator: { ...perUser.operator, window: { type: 'session', gapMs: 5 } } }] },
      { windows: [perUser, { ...perUser, name: 'again' }] },
      { timeField: 'meta.ts' },
    ];
    for (const overrides of refused) {
      assert.equal((await PartitionPipeline.create(preAggregatedPlan(overrides))).preAggregationSpec(), null);
    }
  });

  for (const [name, aggregate] of paths) {
    it(`${name}: rows as the event-by-event path, re-fires and late events included`, async () => {
      const batches: SluiceEvent[][] = [
        [
          { user_id: 'a', ts: 1, amount: 1.5, page: '/x' },
          { user_id: 'b', ts: 4, amount: 2 },
          { user_id: 'a', ts: 12, amount: 0.1, page: '/y' },
        ],
        [
          // Window [0, 10) fired at 12 and is retained until 15: re-fired, version 2.
          { user_id: 'a', ts: 7, amount: 0.2, page: '/z' },
          { user_id: 'c', ts: 14, amount: 3 },
          { user_id: 'b', ts: 23, amount: 4 },
          // Window [0, 10) was purged at 15: late.
          { user_id: 'b', ts: 2, amount: 5 },
          { user_id: 'a', ts: 25, amount: 6, page: '/w' },
        ],
      ];
      const expected = await runPreAggregated(batches, null);
      const actual = await runPreAggregated(batches, aggregate);
      assert.deepEqual(actual.taken, [true, true]);
      assert.deepEqual(actual.sinks, expected.sinks);
      assert.match(expected.sinks.get('out') ?? '', /"version":2/);
    });

    it(`${name}: leaves a batch that would make a dead letter to the ordinary path, untouched`, async () => {
      const batches: SluiceEvent[][] = [
        [
          { user_id: 'a', ts: 1, amount: 1 },
          { user_id: 'b', ts: 3, amount: 'three' },
        ],
        [
          { user_id: 'a', ts: 11, amount: 2 },
          { user_id: 'b', amount: 3 },
        ],
        [{ user_id: 'c', ts: 30, amount: 4 }],
      ];
      const expected = await runPreAggregated(batches, null);
      const actual = await runPreAggregated(batches, aggregate);
      assert.deepEqual(actual.taken, [false, false, true]);
      assert.deepEqual(actual.sinks, expected.sinks);
      assert.match(expected.sinks.get('dlq') ?? '', /SCHEMA_MISFIT/);
    });
  }
});
