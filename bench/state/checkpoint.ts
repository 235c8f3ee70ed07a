/**
 * Checkpoint and restore cost of window state, through the code a partition runs: a
 * tumbling window holding N keys (count + sum) in a `WindowOperator`, checkpointed by
 * `WindowCheckpoints` into a `PartitionStore` (one atomic, fsynced batch), restored into
 * a fresh operator, and restored again under a memory budget of a tenth of the state
 * with evicted keys read back on demand.
 *
 * Figures per size: the first checkpoint (every row dirty), an incremental checkpoint
 * after 1% of the keys changed (random keys touch nearly every key group, so it rewrites
 * nearly everything), the checkpoint after the window closed and 1% of the keys opened
 * the next one (the steady state of a tumbling window), a full restore, a snapshot file
 * write, a restore under the budget, and the latency of a one-event batch whose key was
 * evicted (read-back with getMany, then processed).
 *
 * Before printing a figure it checks that each restored operator fires exactly the rows
 * the original fires (count and CRC of every row), so a fast wrong answer cannot pass.
 * Targets (issue 5): 1M keys checkpoint < 1 s, restore < 2 s.
 *
 *   node --import tsx bench/state/checkpoint.ts [keys ...]    (default 100000 1000000)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { crc32 } from 'node:zlib';
import * as hdr from 'hdr-histogram-js';
import type { PartitionPlan } from '../../actors/partition/partition-plan.ts';
import { WindowCheckpoints } from '../../actors/partition/window-checkpoints.ts';
import { formatRow, KEY_GROUPS, type OutputRow, WindowOperator } from '../../actors/windows/index.ts';
import { PartitionStore } from '../../state/index.ts';

const sizes = process.argv.slice(2).map(Number);
const WINDOW_MS = 60_000;
const READ_BACKS = 2_000;

function plan(dir: string, memoryBytes: number | null): PartitionPlan {
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
          window: { type: 'tumbling', sizeMs: WINDOW_MS },
          allowedLatenessMs: 0,
          maxOutOfOrderMs: 0,
          groupBy: ['user_id'],
          aggregates: [
            { name: 'events', fn: 'count' },
            { name: 'amount', fn: 'sum', field: 'amount' },
          ],
        },
        to: [],
        late: null,
        transform: null,
      },
    ],
    streams: [],
    deadLetter: null,
    checkpoint: { dir, intervalMs: 10_000, keep: 2, snapshotEvery: 1_000_000, memoryBytes },
  };
}

function event(key: number, amount: number): Record<string, unknown> {
  return { user_id: `user-${String(key).padStart(9, '0')}`, amount };
}

/** Count and CRC of the rows an operator fires up to `watermark` (the end of input by default). */
function fired(
  operator: WindowOperator,
  watermark = Number.POSITIVE_INFINITY,
): { rows: number; crc: number } {
  let rows = 0;
  let crc = 0;
  operator.advanceWatermark(watermark, {
    row: (row: OutputRow) => {
      rows++;
      crc = crc32(formatRow(row), crc);
    },
    late: () => {
      throw new Error('no event is late here');
    },
  });
  return { rows, crc };
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await work();
  return [result, performance.now() - start];
}

/** One checkpoint of `operator` as `PartitionCheckpoints.commit` makes it. */
async function commit(
  store: PartitionStore,
  windows: WindowCheckpoints,
  operator: WindowOperator,
  position: number,
) {
  const operators: Array<[string, WindowOperator]> = [['per_user', operator]];
  const change = windows.changes(operators);
  await store.commit({
    checkpoint: {
      sourcePosition: position,
      watermark: operator.watermark,
      sinkPositions: {},
      emitted: null,
      meta: {},
    },
    puts: change.puts,
    deletes: change.deletes,
    deletePrefixes: change.deletePrefixes,
    clear: change.clear,
  });
  windows.committed(operators);
  return change.puts.length;
}

async function restore(dir: string, memoryBytes: number | null) {
  const store = await PartitionStore.open({ dir });
  const windows = new WindowCheckpoints(store, plan(dir, memoryBytes));
  const operator = (await windows.restore()).get('per_user');
  if (operator === undefined) throw new Error('nothing restored');
  return { store, windows, operator };
}

/** The random keys the incremental checkpoint and the read-backs touch. */
function keyStream(keys: number, start: number): () => number {
  let seed = start;
  return () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % keys;
  };
}

/** An emitter that drops what it is given: the bench reads results through `fired`. */
const none = { row: () => {}, late: () => {} };

/** The state the bench checkpoints: every key once, in the first window. */
function fillKeys(operator: WindowOperator, keys: number): void {
  for (let key = 0; key < keys; key++) operator.process(event(key, key % 97), 1_000 + (key % 50_000), none);
}

/** Changes `changed` random keys (the same ones every time), as the incremental checkpoint sees. */
function changeKeys(operator: WindowOperator, keys: number, changed: number): void {
  const nextKey = keyStream(keys, 12345);
  for (let i = 0; i < changed; i++) operator.process(event(nextKey(), 3), 55_000, none);
}

/**
 * Builds the state, checkpoints it whole and then after 1% of the keys changed, writes a
 * snapshot, and works out what the state fires. The operator is garbage once this returns:
 * the restores that follow start, as after a crash, without another million keys in the heap.
 */
async function checkpointPhase(dir: string, keys: number) {
  const config = plan(dir, null).windows[0].operator;
  const original = new WindowOperator(config);
  fillKeys(original, keys);

  const store = await PartitionStore.open({ dir });
  const windows = new WindowCheckpoints(store, plan(dir, null));
  const [firstValues, firstMs] = await timed(() => commit(store, windows, original, keys));
  const changed = Math.max(1, Math.floor(keys / 100));
  changeKeys(original, keys, changed);
  const [incrementalValues, incrementalMs] = await timed(() =>
    commit(store, windows, original, keys + changed),
  );
  const [snapshot, snapshotMs] = await timed(() => store.snapshot(1));
  windows.close();
  await store.close();
  return {
    config,
    changed,
    firstValues,
    firstMs,
    incrementalValues,
    incrementalMs,
    snapshot,
    snapshotMs,
    expected: fired(original),
  };
}

async function run(keys: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-state-'));
  try {
    const {
      config,
      changed,
      firstValues,
      firstMs,
      incrementalValues,
      incrementalMs,
      snapshot,
      snapshotMs,
      expected,
    } = await checkpointPhase(dir, keys);

    const [restored, restoreMs] = await timed(() => restore(dir, null));
    const estimate = restored.operator.estimatedBytes;
    restored.windows.close();
    await restored.store.close();
    const got = fired(restored.operator);
    if (got.rows !== expected.rows || got.crc !== expected.crc)
      throw new Error('restored state fires other rows');

    const budget = Math.floor(estimate / 10);
    const [bounded, boundedMs] = await timed(() => restore(dir, budget));
    const store = bounded.store;
    const windows = bounded.windows;
    const operator = bounded.operator;
    const resident = operator.residentWindows;
    const histogram = hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 10_000_000,
      numberOfSignificantValueDigits: 3,
    });
    const operators: Array<[string, WindowOperator]> = [['per_user', operator]];
    const check = new WindowOperator(config);
    fillKeys(check, keys);
    changeKeys(check, keys, changed);
    const nextKey = keyStream(keys, 999);
    for (let i = 0; i < READ_BACKS; i++) {
      const batch = [event(nextKey(), 1)];
      const times = [56_000];
      const start = performance.now();
      await windows.readBack([['per_user', operator, batch]], batch, times);
      operator.processBatch(batch, times, none);
      histogram.recordValue(Math.max(1, Math.round((performance.now() - start) * 1000)));
      check.processBatch(batch, times, none);
    }
    const [, readAllMs] = await timed(() =>
      windows.readBackForWatermark(operators, Number.POSITIVE_INFINITY),
    );
    const boundedFired = fired(operator);
    const checkFired = fired(check);
    if (boundedFired.rows !== checkFired.rows || boundedFired.crc !== checkFired.crc) {
      throw new Error('the budgeted operator fires other rows');
    }
    windows.close();
    await store.close();

    // Steady state: the window closes (fires, is purged) and 1% of the keys open the next.
    const last = await restore(dir, null);
    const closed = fired(last.operator, WINDOW_MS);
    if (closed.rows !== keys) throw new Error(`the window fired ${closed.rows} rows, not ${keys}`);
    for (let i = 0; i < changed; i++) last.operator.process(event(nextKey(), 5), WINDOW_MS + 1_000, none);
    const [nextValues, nextMs] = await timed(() => commit(last.store, last.windows, last.operator, keys * 2));
    last.windows.close();
    await last.store.close();
    const after = await restore(dir, null);
    after.windows.close();
    await after.store.close();
    const nextExpected = fired(last.operator);
    const nextGot = fired(after.operator);
    if (nextGot.rows !== nextExpected.rows || nextGot.crc !== nextExpected.crc) {
      throw new Error('the state after the window closed restores other rows');
    }

    const ms = (value: number) => value.toFixed(0).padStart(6);
    const count = (value: number) => value.toLocaleString('en-US');
    const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
    console.log(`\n${count(keys)} keys in one tumbling window (count + sum), ${KEY_GROUPS} key groups`);
    console.log(`  first checkpoint (all dirty, ${count(firstValues)} values)  ${ms(firstMs)} ms`);
    console.log(
      `  incremental checkpoint (1% of keys, ${count(incrementalValues)} values)  ${ms(incrementalMs)} ms   target < 1000 for 1M`,
    );
    console.log(
      `  checkpoint after the window closed, 1% of keys in the next (${count(nextValues)} values, old window deleted)  ${ms(nextMs)} ms`,
    );
    console.log(`  restore (whole state)  ${ms(restoreMs)} ms   target < 2000 for 1M`);
    console.log(`  snapshot write (${mib(snapshot.bytes)} MiB)  ${ms(snapshotMs)} ms`);
    console.log(
      `  restore under a budget of 1/10 (${mib(budget)} of ${mib(estimate)} MiB est., ${count(resident)} rows in memory)  ${ms(boundedMs)} ms`,
    );
    console.log(
      `  evicted-key batch (read-back + process), ${count(READ_BACKS)} batches  p50 ${histogram.getValueAtPercentile(50)} µs, p99 ${histogram.getValueAtPercentile(99)} µs, max ${histogram.maxValue} µs`,
    );
    console.log(`  read back all the rest before the window fires  ${ms(readAllMs)} ms`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

for (const keys of sizes.length > 0 ? sizes : [100_000, 1_000_000]) await run(keys);
