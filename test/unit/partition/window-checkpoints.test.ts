import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pack } from 'msgpackr';
import { OutputBuffer } from '../../../actors/partition/output-buffer.ts';
import { PartitionCheckpoints } from '../../../actors/partition/partition-checkpoints.ts';
import { PartitionPipeline } from '../../../actors/partition/partition-pipeline.ts';
import type { PartitionPlan, SinkWrite, WindowPlan } from '../../../actors/partition/partition-plan.ts';
import { WINDOW_STATE_CODEC_VERSION, windowNamespace } from '../../../actors/partition/window-state-codec.ts';
import { tableReplica } from '../../../actors/tables/table-replica.ts';
import { WindowOperator, type WindowOperatorState } from '../../../actors/windows/index.ts';
import type { ActorContext } from '../../../runtime/actor.ts';
import { createLogger } from '../../../runtime/logger.ts';
import { discardingRecorder, type MetricsRecorder } from '../../../runtime/metrics-recorder.ts';
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

/** Windows a test runs instead of the default three; the dead letters go to `dlq`. */
interface Variant {
  windows: WindowPlan[];
  streams: PartitionPlan['streams'];
}

function plan(dir: string, memoryBytes: number | null, variant: Variant | null = null): PartitionPlan {
  const windows = variant?.windows ?? [
    windowPlan('tumbling', { type: 'tumbling', sizeMs: 100 }),
    windowPlan('hopping', { type: 'hopping', sizeMs: 150, slideMs: 50 }),
    windowPlan('sessions', { type: 'session', gapMs: 30 }),
  ];
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
    windows,
    streams: variant?.streams ?? [],
    deadLetter: variant === null ? null : { sink: 'dlq', file: null },
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
  variant?: Variant;
  /** Where the state metrics go. */
  metrics?: MetricsRecorder;
  /** Counts the events fed to the pipeline, replays included. */
  fed?: { events: number };
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
  const partitionPlan = plan(dir, options.memoryBytes, options.variant ?? null);
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
    if (options.metrics !== undefined) checkpoints.useMetrics(options.metrics);
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
      if (options.fed !== undefined) options.fed.events += batch.length;
      const prepared = pipeline.prepare(batch);
      await checkpoints.windowState.readBack(prepared.windows, batch, times);
      pipeline.process(batch, times, null, output, next * 1000, null, prepared);
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

/**
 * A transform that moves every event to another key (`account`), doubles its amount,
 * drops some events and throws on others; it counts its calls in a global.
 */
const REKEY = `export default (event) => {
  globalThis.sluiceRekeyCalls = (globalThis.sluiceRekeyCalls ?? 0) + 1;
  if (event.amount === 13) throw new Error('unlucky amount');
  if (event.amount === 7) return null;
  const n = Number(event.user_id.slice(5));
  return { ...event, account: \`acct-\${(n * 7919) % 1500}\`, amount: event.amount * 2 };
};
`;

function rekeyCalls(): number {
  return (globalThis as { sluiceRekeyCalls?: number }).sluiceRekeyCalls ?? 0;
}

/**
 * Windows whose operators see other events than the source's: two through a transform
 * that rekeys, one enriched from a table (some users missing: dead letters), one plain;
 * and a stream through the same transform.
 */
function steppedVariant(transform: string, table: string): Variant {
  const rekeyed = (name: string, window: WindowPlan['operator']['window']): WindowPlan => {
    const base = windowPlan(name, window);
    return { ...base, operator: { ...base.operator, groupBy: ['account'] }, transform };
  };
  const enriched = windowPlan('by_segment', { type: 'hopping', sizeMs: 150, slideMs: 50 });
  return {
    windows: [
      windowPlan('plain', { type: 'tumbling', sizeMs: 100 }),
      rekeyed('by_account', { type: 'tumbling', sizeMs: 100 }),
      rekeyed('account_sessions', { type: 'session', gapMs: 30 }),
      {
        ...enriched,
        operator: { ...enriched.operator, groupBy: ['segment', 'user_id'] },
        enrich: [
          {
            table,
            on: 'user_id',
            fields: [{ field: 'segment', column: 'segment' }],
            onMissing: 'dead-letter',
            awaitTable: true,
          },
        ],
      },
    ],
    streams: [{ name: 'raw', to: [{ sink: 'raw', file: null }], transform }],
  };
}

/** Sums the counters of a state metric by window. */
class CountingRecorder implements MetricsRecorder {
  readonly counts = new Map<string, number>();
  inc(name: string, labels: Record<string, string>, value = 1): void {
    const key = `${name}/${labels.window ?? ''}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + value);
  }
  set(): void {}
  observe(): void {}
  count(name: string, window: string): number {
    return this.counts.get(`${name}/${window}`) ?? 0;
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

  it('evicts windows behind a transform or an enrich step too, reading back the keys they see: same output, each transform once per event', async () => {
    await withTempDir(async (modules) => {
      const transform = join(modules, 'rekey.mjs');
      await writeFile(transform, REKEY);
      const table = 'segments_budget_test';
      const replica = tableReplica(table);
      const rows: Array<[string, Record<string, unknown>]> = [];
      for (let n = 0; n < 2000; n++) if (n % 53 !== 0) rows.push([`user-${n}`, { segment: `s${n % 40}` }]);
      replica.apply(rows);
      replica.markReady();
      const variant = steppedVariant(transform, table);

      const cleanFed = { events: 0 };
      const callsBefore = rekeyCalls();
      const clean = await withTempDir((dir) =>
        runPartition(dir, input, { memoryBytes: null, checkpointEvery: 1000, variant, fed: cleanFed }),
      );
      // Two windows and a stream run the transform: each once per event.
      assert.equal(rekeyCalls() - callsBefore, 3 * cleanFed.events);
      for (const sink of ['out', 'late', 'dlq', 'raw']) {
        assert.ok(
          clean.includes(`\n${sink}: `) || clean.startsWith(`${sink}: `),
          `the run writes to ${sink}`,
        );
      }
      assert.match(clean, /"code":"TRANSFORM_FAILED"/);
      assert.match(clean, /"code":"ENRICH_MISSING"/);

      const metrics = new CountingRecorder();
      const fed = { events: 0 };
      const before = rekeyCalls();
      const bounded = await withTempDir((dir) =>
        runPartition(dir, input, {
          memoryBytes: 64 * 1024,
          checkpointEvery: 2,
          crashes: [5, 21],
          variant,
          metrics,
          fed,
        }),
      );
      assert.equal(rekeyCalls() - before, 3 * fed.events, 'replays included, each transform once per event');
      assert.equal(bounded, clean);
      for (const window of ['by_account', 'account_sessions', 'by_segment']) {
        const evicted = metrics.count('sluice_state_evicted_groups_total', window);
        const read = metrics.count('sluice_state_readback_groups_total', window);
        assert.ok(evicted > 0 && read > 0, `${window}: ${evicted} groups evicted, ${read} read back`);
      }
    });
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
