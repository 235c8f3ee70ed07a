/**
 * The partition pipeline's pre-aggregated path (`applyPreAggregated`): which windows
 * qualify, the same output as the event-by-event path — late events and re-fires run one
 * by one beside the partials — and a batch that would make a dead letter left untouched
 * for the ordinary path. On the addon and on its TS twin.
 */
import assert from 'node:assert/strict';
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
    windows: [perUser],
    streams: [],
    deadLetter: { sink: 'dlq', file: null },
    checkpoint: { dir: '/nonexistent', intervalMs: 10_000, keep: 3, snapshotEvery: 6 },
    ...overrides,
  };
}

function context(writes: SinkWrite[]): ActorContext {
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

type Aggregate = (frame: Buffer, spec: FrameSpec, watermark: number) => NativeBatch;

/**
 * Runs batches through a fresh pipeline, pre-aggregated where it takes them (else, as the
 * actor then does, event by event); returns the writes per sink and which batches it took.
 */
async function run(
  batches: SluiceEvent[][],
  aggregate: Aggregate | null,
): Promise<{ sinks: Map<string, string>; taken: boolean[] }> {
  const writes: SinkWrite[] = [];
  const ctx = context(writes);
  const pipeline = await PartitionPipeline.create(plan());
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
    assert.ok((await PartitionPipeline.create(plan())).preAggregationSpec() !== null);
    const refused: Array<Partial<PartitionPlan>> = [
      { windows: [{ ...perUser, late: { sink: 'late', file: null } }] },
      { windows: [{ ...perUser, operator: { ...perUser.operator, window: { type: 'session', gapMs: 5 } } }] },
      { windows: [perUser, { ...perUser, name: 'again' }] },
      { timeField: 'meta.ts' },
    ];
    for (const overrides of refused) {
      assert.equal((await PartitionPipeline.create(plan(overrides))).preAggregationSpec(), null);
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
      const expected = await run(batches, null);
      const actual = await run(batches, aggregate);
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
      const expected = await run(batches, null);
      const actual = await run(batches, aggregate);
      assert.deepEqual(actual.taken, [false, false, true]);
      assert.deepEqual(actual.sinks, expected.sinks);
      assert.match(expected.sinks.get('dlq') ?? '', /SCHEMA_MISFIT/);
    });
  }
});
