import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pack } from 'msgpackr';
import { OutputBuffer } from '../../../actors/partition/output-buffer.ts';
import { PartitionCheckpoints } from '../../../actors/partition/partition-checkpoints.ts';
import { PartitionPipeline } from '../../../actors/partition/partition-pipeline.ts';
import type { PartitionPlan, SinkWrite, WindowPlan } from '../../../actors/partition/partition-plan.ts';
import { WINDOW_STATE_CODEC_VERSION, windowNamespace } from '../../../actors/partition/window-state-codec.ts';
import { WindowOperator, type WindowOperatorState } from '../../../actors/windows/index.ts';
import type { ActorContext } from '../../../runtime/actor.ts';
import { createLogger } from '../../../runtime/logger.ts';
import { discardingRecorder } from '../../../runtime/metrics-recorder.ts';
import { PartitionStore } from '../../../state/index.ts';
import { withTempDir } from '../state/fixtures/temp-dir.ts';

const log = createLogger({ level: 'error' });

function windowPlan(name: string, window: WindowPlan['operator']['window']): WindowPlan {
  return {
    name,
    operator: {
      window,
      allowedLatenessMs: 40,
      maxOutOfOrderMs: 20,
      groupBy: ['user_id'],
      aggregates: [
        { name: 'events', fn: 'count' },
        { name: 'amount', fn: 'sum', field: 'amount' },
        { name: 'top', fn: 'max', field: 'amount' },
        { name: 'pages', fn: 'count_distinct', field: 'page' },
        { name: 'last_page', fn: 'last', field: 'page' },
      ],
    },
    to: [{ sink: 'out', file: null }],
    late: { sink: 'late', file: null },
    transform: null,
  };
}

function plan(dir: string, memoryBytes: number | null): PartitionPlan {
  return {
    source: 'events',
    partition: 0,
    partitions: 1,
    keyField: 'user_id',
    timeField: 'ts',
    maxOutOfOrderMs: 20,
    idleTimeoutMs: null,
    batchSize: 500,
    input: { kind: 'pushed', format: 'json' },
    windows: [
      windowPlan('tumbling', { type: 'tumbling', sizeMs: 100 }),
      windowPlan('hopping', { type: 'hopping', sizeMs: 150, slideMs: 50 }),
      windowPlan('sessions', { type: 'session', gapMs: 30 }),
    ],
    streams: [],
    deadLetter: null,
    checkpoint: { dir, intervalMs: 10_000, keep: 2, snapshotEvery: 3, memoryBytes },
  };
}

/** Deterministic events: 2,000 keys, times drifting up with disorder, some late. */
function batches(count: number, size: number): Array<Array<Record<string, unknown>>> {
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const out: Array<Array<Record<string, unknown>>> = [];
  let clock = 0;
  for (let b = 0; b < count; b++) {
    const batch: Array<Record<string, unknown>> = [];
    for (let i = 0; i < size; i++) {
      clock += random() < 0.3 ? 1 : 0;
      const jitter = random() < 0.05 ? -Math.floor(random() * 80) : -Math.floor(random() * 15);
      batch.push({
        user_id: `user-${Math.floor(random() ** 2 * 2000)}`,
        ts: clock + jitter,
        amount: Math.floor(random() * 100),
        page: `p${Math.floor(random() * 5)}`,
      });
    }
    out.push(batch);
  }
  return out;
}

interface RunOptions {
  memoryBytes: number | null;
  /** Commit after every this many batches. */
  checkpointEvery: number;
  /** Batch indexes after which the partition dies (no commit) and restarts from its store. */
  crashes?: number[];
  /** Called after every commit. */
  afterCommit?: (pipeline: PartitionPipeline, checkpoints: PartitionCheckpoints) => void;
}

/**
 * Runs the partition the way its actor does — read-back, process, commit every few
 * batches — and on a crash drops everything since the last commit and restarts from
 * the store. Returns the rows and late records as they stand at the end.
 */
async function runPartition(
  dir: string,
  input: Array<Array<Record<string, unknown>>>,
  options: RunOptions,
): Promise<string> {
  const partitionPlan = plan(dir, options.memoryBytes);
  const crashes = new Set(options.crashes ?? []);
  let text = '';
  let committedText = 0;
  const ctx: ActorContext = {
    name: 'test',
    emit: async (channel, payload) => {
      if (channel === 'sink') text += `${(payload as SinkWrite).sink}: ${(payload as SinkWrite).data}`;
    },
    setTimer() {},
    cancelTimer() {},
    metrics: discardingRecorder,
    log,
  };
  for (;;) {
    const checkpoints = await PartitionCheckpoints.open(partitionPlan, log);
    const restored = await checkpoints.restore([]);
    const pipeline = await PartitionPipeline.create(partitionPlan, restored.pipeline);
    const output = new OutputBuffer();
    let next = typeof restored.position === 'number' ? restored.position : 0;
    text = text.slice(0, committedText);
    const commit = async (ended: boolean) => {
      await checkpoints.commit({
        position: next,
        maxEventTime: pipeline.maxEventTime,
        watermark: pipeline.watermark,
        windows: pipeline.windowOperators(),
        filePositions: new Map(),
        ended,
      });
      committedText = text.length;
      options.afterCommit?.(pipeline, checkpoints);
    };
    let crashed = false;
    while (next < input.length) {
      const batch = input[next];
      const times = batch.map((event) => event.ts as number);
      await checkpoints.windowState.readBack(pipeline.windowOperators(), batch, times);
      pipeline.process(batch, times, null, output, next * 1000);
      await output.flush(ctx);
      next++;
      if (crashes.delete(next - 1)) {
        crashed = true;
        break;
      }
      if (next % options.checkpointEvery === 0) await commit(false);
    }
    if (crashed) {
      await checkpoints.close();
      continue;
    }
    await checkpoints.windowState.readBackForWatermark(pipeline.windowOperators(), Number.POSITIVE_INFINITY);
    pipeline.endOfInput(output);
    await output.flush(ctx);
    await commit(true);
    await checkpoints.close();
    return text;
  }
}

/** A snapshot with each window's rows sorted by key. */
function rowsByKey(state: WindowOperatorState): WindowOperatorState {
  return {
    ...state,
    buckets: state.buckets.map((bucket) => ({
      ...bucket,
      rows: [...bucket.rows].sort((a, b) => (JSON.stringify(a[0]) < JSON.stringify(b[0]) ? -1 : 1)),
    })),
  };
}

describe('window checkpoints in the partition store', () => {
  const input = batches(30, 400);

  it('restores, after incremental checkpoints and crashes, output byte-identical to one uninterrupted run', async () => {
    const clean = await withTempDir((dir) =>
      runPartition(dir, input, { memoryBytes: null, checkpointEvery: 1000 }),
    );
    assert.ok(clean.split('\n').length > 10_000, 'the run emits rows');
    const crashed = await withTempDir((dir) =>
      runPartition(dir, input, { memoryBytes: null, checkpointEvery: 4, crashes: [2, 9, 10, 23, 27] }),
    );
    assert.equal(crashed, clean);
  });

  it('with a tiny memory budget: the same output, evicted rows read back, rows in memory bounded', async () => {
    const clean = await withTempDir((dir) =>
      runPartition(dir, input, { memoryBytes: null, checkpointEvery: 1000 }),
    );
    const maxResident = new Map<string, number>();
    const maxHeld = new Map<string, number>();
    let maxEstimate = 0;
    const budget = 64 * 1024;
    const bounded = await withTempDir((dir) =>
      runPartition(dir, input, {
        memoryBytes: budget,
        checkpointEvery: 2,
        crashes: [5, 21],
        afterCommit: (pipeline, checkpoints) => {
          let estimate = 0;
          for (const [name, operator] of pipeline.windowOperators()) {
            maxResident.set(name, Math.max(maxResident.get(name) ?? 0, operator.residentWindows));
            maxHeld.set(name, Math.max(maxHeld.get(name) ?? 0, operator.openWindows));
            estimate += operator.estimatedBytes;
          }
          maxEstimate = Math.max(maxEstimate, estimate);
          assert.ok(checkpoints.windowState.allowance <= budget);
        },
      }),
    );
    assert.equal(bounded, clean);
    assert.ok(
      maxEstimate <= budget,
      `estimate ${maxEstimate} of every window within the ${budget} B budget after each commit`,
    );
    for (const name of ['tumbling', 'hopping', 'sessions']) {
      const held = maxHeld.get(name) ?? 0;
      const resident = maxResident.get(name) ?? 0;
      assert.ok(held > 4 * resident, `${name}: held ${held} rows, at most ${resident} of them in memory`);
    }
  });

  it('reads a window stored in layout version 1 and rewrites it in the current one', async () => {
    await withTempDir(async (dir) => {
      const partitionPlan = plan(dir, null);
      partitionPlan.windows = [partitionPlan.windows[0]];
      const config = partitionPlan.windows[0].operator;
      const emit = { row: () => {}, late: () => {} };
      const original = new WindowOperator(config);
      for (const event of input[0]) original.process(event, event.ts as number, emit);
      const state = original.snapshot();
      const store = await PartitionStore.open({ dir });
      await store.commit({
        checkpoint: { sourcePosition: 1, watermark: null, sinkPositions: {}, emitted: null, meta: {} },
        puts: [
          [windowNamespace('tumbling'), 'meta', pack({ codec: 1, format: 1, watermark: state.watermark })],
          ...state.buckets.map((bucket): [string, string, Buffer] => [
            windowNamespace('tumbling'),
            `b/${bucket.start}`,
            pack(bucket),
          ]),
        ],
        deletes: [],
      });
      await store.close();

      const checkpoints = await PartitionCheckpoints.open(partitionPlan, log);
      const restored = await checkpoints.restore([]);
      const operator = restored.pipeline?.windows.get('tumbling');
      assert.ok(operator);
      assert.deepEqual(operator.snapshot(), state);
      await checkpoints.commit({
        position: 1,
        maxEventTime: null,
        watermark: operator.watermark,
        windows: [['tumbling', operator]],
        filePositions: new Map(),
        ended: false,
      });
      await checkpoints.close();

      const reopened = await PartitionCheckpoints.open(partitionPlan, log);
      const again = await reopened.restore([]);
      const reread = again.pipeline?.windows.get('tumbling')?.snapshot();
      assert.ok(reread);
      assert.deepEqual(
        rowsByKey(reread),
        rowsByKey(state),
        'same rows (stored by key group, so in another order)',
      );
      await reopened.close();
      const check = await PartitionStore.open({ dir });
      const keys: string[] = [];
      for await (const [key] of check.entries(windowNamespace('tumbling'))) keys.push(key.toString());
      await check.close();
      assert.ok(
        keys.every((key) => key === 'meta' || /^b\/\d+(\/\d+)?$/.test(key)),
        'only the current layout remains',
      );
      assert.ok(
        keys.some((key) => /^b\/\d+\/\d+$/.test(key)),
        'rows are stored by key group',
      );
    });
  });

  it('refuses a window stored in an unknown layout version, naming it', async () => {
    await withTempDir(async (dir) => {
      const partitionPlan = plan(dir, null);
      const store = await PartitionStore.open({ dir });
      await store.commit({
        checkpoint: { sourcePosition: 1, watermark: null, sinkPositions: {}, emitted: null, meta: {} },
        puts: [[windowNamespace('hopping'), 'meta', pack({ codec: 9, watermark: 5 })]],
        deletes: [],
      });
      await store.close();
      const checkpoints = await PartitionCheckpoints.open(partitionPlan, log);
      await assert.rejects(
        checkpoints.restore([]),
        new RegExp(
          `window hopping: .*codec version 9; this build reads versions 1 and ${WINDOW_STATE_CODEC_VERSION}`,
        ),
      );
      await checkpoints.close();
    });
  });
});
