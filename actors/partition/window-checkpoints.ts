/**
 * The window-state side of a partition's checkpoints: restore of every window operator
 * from the store, the changed pieces each checkpoint writes, and the memory budget —
 * eviction of cold key groups after a commit, read-back before the batch that needs them.
 *
 * Memory budget (`state.memory`, per process): each worker gets an equal share, split
 * evenly among the partitions open on it (`budgetShares`). After a checkpoint commits,
 * every row is in the store exactly as in memory, so a partition over its share drops
 * the least recently used key groups of its windows from memory (tumbling/hopping: a
 * window's rows of one key group; sessions: every session of one key group). Before a
 * batch, the key groups its events touch and those it can fire or purge are read back
 * with one `getMany` per window, so the pure operator never waits. For sessions the
 * operator keeps, per evicted group, the earliest time a watermark closes one of its
 * sessions, so a watermark move reads back only the groups it closes. Every window is
 * evicted, those with enrich steps or a transform too: the pipeline runs those steps
 * over the batch first (`PartitionPipeline.prepare`), and the read-back goes by the
 * events each window will actually see.
 *
 * Threading model: owned by one partition actor on its worker thread; `budgetShares`
 * is module state of that worker, touched only by its actors' turns.
 */
import { discardingRecorder, type MetricsRecorder } from '../../runtime/metrics-recorder.ts';
import type { PartitionStore } from '../../state/index.ts';
import type { SluiceEvent, WindowOperator } from '../windows/index.ts';
import type { PreparedBatch } from './partition-pipeline.ts';
import type { PartitionPlan, WindowPlan } from './partition-plan.ts';
import {
  captureWindowChanges,
  readEvicted,
  readEvictedSessions,
  restoreWindow,
  windowNamespace,
} from './window-state-codec.ts';

/** Partitions on this worker that hold window state under a budget. */
const budgetShares = new Set<WindowCheckpoints>();

/** Eviction brings a partition down to this fraction of its share, so it does not evict at every checkpoint. */
const evictTo = 0.8;
/** Past this multiple of its share between checkpoints, a partition asks for an early checkpoint. */
const overBudgetFactor = 1.5;

/** What one checkpoint writes for the windows of a partition, ready for `PartitionStore.commit`. */
export interface WindowCommit {
  puts: Array<[namespace: string, key: string, value: Buffer]>;
  deletes: Array<[namespace: string, key: string]>;
  deletePrefixes: Array<[namespace: string, prefix: string]>;
  /** Namespaces to clear first: windows restored from an older layout, written whole. */
  clear: string[];
}

export class WindowCheckpoints {
  readonly #store: PartitionStore;
  readonly #windows: WindowPlan[];
  /** Budget of this worker in bytes; null: unbounded. */
  readonly #workerBudget: number | null;
  /** Windows to write whole at the next checkpoint. */
  readonly #rewrite = new Set<string>();
  readonly #partition: string;
  #metrics: MetricsRecorder = discardingRecorder;
  #closed = false;

  constructor(store: PartitionStore, plan: PartitionPlan) {
    this.#store = store;
    this.#partition = String(plan.partition);
    this.#windows = plan.windows;
    this.#workerBudget = plan.checkpoint.memoryBytes ?? null;
    if (this.#workerBudget !== null) budgetShares.add(this);
  }

  /** Where the state metrics go (`sluice_state_*`); discarded until set. */
  useMetrics(metrics: MetricsRecorder): void {
    this.#metrics = metrics;
  }

  /** This partition's share of the worker's budget, in bytes; Infinity when unbounded. */
  get allowance(): number {
    if (this.#workerBudget === null) return Number.POSITIVE_INFINITY;
    return this.#workerBudget / Math.max(1, budgetShares.size);
  }

  /** Every window's operator as the store holds it; windows with nothing stored are absent. */
  async restore(): Promise<Map<string, WindowOperator>> {
    const operators = new Map<string, WindowOperator>();
    for (const plan of this.#windows) {
      const budget = this.#workerBudget !== null ? (this.allowance * evictTo) / this.#windows.length : null;
      const restored = await restoreWindow(this.#store, plan.name, plan.operator, budget);
      if (restored === null) continue;
      operators.set(plan.name, restored.operator);
      if (restored.rewrite) this.#rewrite.add(plan.name);
    }
    return operators;
  }

  /** The entries of one checkpoint: what changed in each window since the previous one. */
  changes(operators: ReadonlyArray<[window: string, operator: WindowOperator]>): WindowCommit {
    const commit: WindowCommit = { puts: [], deletes: [], deletePrefixes: [], clear: [] };
    for (const [window, operator] of operators) {
      const whole = this.#rewrite.has(window);
      const namespace = windowNamespace(window);
      const encoded = captureWindowChanges(operator, whole);
      if (whole) commit.clear.push(namespace);
      for (const [key, value] of encoded.puts) commit.puts.push([namespace, key, value]);
      for (const key of encoded.deletes) commit.deletes.push([namespace, key]);
      for (const prefix of encoded.deletePrefixes) commit.deletePrefixes.push([namespace, prefix]);
    }
    return commit;
  }

  /**
   * After the checkpoint of `changes` committed: everything is clean, so a partition past
   * its share evicts its coldest key groups. Returns the rows evicted.
   */
  committed(operators: ReadonlyArray<[window: string, operator: WindowOperator]>): number {
    this.#rewrite.clear();
    const evicted = this.#evictOverShare(operators);
    for (const [window, operator] of operators) {
      this.#metrics.set('sluice_state_rows_in_memory', this.#labels(window), operator.residentWindows);
    }
    return evicted;
  }

  #evictOverShare(operators: ReadonlyArray<[window: string, operator: WindowOperator]>): number {
    const allowance = this.allowance;
    if (!Number.isFinite(allowance)) return 0;
    const total = operators.reduce((sum, [, operator]) => sum + operator.estimatedBytes, 0);
    if (total <= allowance) return 0;
    let evicted = 0;
    for (const [window, operator] of operators) {
      const groupsBefore = operator.evictedGroups;
      evicted += operator.evict((operator.estimatedBytes / total) * allowance * evictTo);
      const groups = operator.evictedGroups - groupsBefore;
      if (groups > 0) this.#metrics.inc('sluice_state_evicted_groups_total', this.#labels(window), groups);
    }
    return evicted;
  }

  #labels(window: string): { window: string; partition: string } {
    return { window, partition: this.#partition };
  }

  /** Held well past its share since the last checkpoint: the actor checkpoints early, which evicts. */
  overBudget(operators: ReadonlyArray<[window: string, operator: WindowOperator]>): boolean {
    const allowance = this.allowance;
    if (!Number.isFinite(allowance)) return false;
    let total = 0;
    for (const [, operator] of operators) total += operator.estimatedBytes;
    return total > allowance * overBudgetFactor;
  }

  /**
   * Before a batch: reads back what its events and the windows it can fire need, and
   * moves every operator's use clock on. `windows` gives each window's operator and the
   * batch's events as that window will see them (`PartitionPipeline.prepare`: after its
   * enrich steps and transform; null where an event does not reach it). `times[i]` is the
   * event time of the source event `events[i]` (ignored where it is null): every one
   * moves the watermark, whether or not it reaches a window.
   */
  async readBack(
    windows: PreparedBatch['windows'],
    events: ReadonlyArray<SluiceEvent | null>,
    times: ArrayLike<number>,
  ): Promise<void> {
    let evicted = false;
    for (const [, operator] of windows) {
      operator.tick();
      if (operator.hasEvicted) evicted = true;
    }
    if (!evicted) return;
    let maxTime = Number.NEGATIVE_INFINITY;
    for (let index = 0; index < events.length; index++) {
      if (events[index] !== null && times[index] > maxTime) maxTime = times[index];
    }
    const began = performance.now();
    let read = 0;
    for (const [window, operator, seen] of windows) {
      const encode = (event: SluiceEvent) => operator.encodeKey(event);
      read += await this.#readBackMissing(
        window,
        operator,
        operator.missingChunks(seen, maxTime, encode),
        operator.missingSessionGroups(seen, maxTime, encode),
      );
    }
    if (read > 0)
      this.#metrics.observe('sluice_state_readback_seconds', {}, (performance.now() - began) / 1000);
  }

  /** Reads back the pieces named; returns how many. */

  async #readBackMissing(
    window: string,
    operator: WindowOperator,
    chunks: ReturnType<WindowOperator['missingChunks']>,
    sessionGroups: number[],
  ): Promise<number> {
    const pieces = chunks.length + sessionGroups.length;
    if (pieces === 0) return 0;
    if (chunks.length > 0) operator.readBack(await readEvicted(this.#store, window, chunks));
    if (sessionGroups.length > 0)
      operator.readBackSessions(await readEvictedSessions(this.#store, window, sessionGroups));
    const labels = this.#labels(window);
    this.#metrics.inc('sluice_state_readback_groups_total', labels, pieces);
    this.#metrics.set('sluice_state_rows_in_memory', labels, operator.residentWindows);
    return pieces;
  }

  /** Before the watermark moves to `watermark` without events (idle timeout, end of input). */
  async readBackForWatermark(
    operators: ReadonlyArray<[window: string, operator: WindowOperator]>,
    watermark: number,
  ): Promise<void> {
    const began = performance.now();
    let read = 0;
    for (const [window, operator] of operators) {
      read += await this.#readBackMissing(
        window,
        operator,
        operator.missingForWatermark(watermark),
        operator.sessionGroupsForWatermark(watermark),
      );
    }
    if (read > 0)
      this.#metrics.observe('sluice_state_readback_seconds', {}, (performance.now() - began) / 1000);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    budgetShares.delete(this);
  }
}
