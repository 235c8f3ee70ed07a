/**
 * The per-event path of a partition, without I/O: event time → watermark → per window
 * (enrich → transform → schema fit → operator) and per stream (enrich → transform → raw
 * line). Outputs go into an `OutputBuffer`; the actor sends them.
 *
 * A batch runs in two steps around the actor's read-back of evicted window state:
 * `prepare` runs the enrich steps and transforms of every window that has them over the
 * whole batch (each once per event), so the key groups each window will see are known;
 * the actor reads those back; `process` then applies the batch event by event, taking
 * each window's prepared event and writing its dead letters at their place in the order.
 *
 * The watermark belongs to the source partition: every event with a valid time moves it,
 * including events a transform drops or that do not fit a window's schema, so every
 * operator of the partition sees the same watermark the design defines.
 *
 * Threading model: owned by one partition actor on its worker thread.
 */
import { pathToFileURL } from 'node:url';
import { type FrameSpec, frameSpecFor, type NativeBatch, runBatch, STEP_SLOW } from '../../native/index.ts';
import type { ActorContext } from '../../runtime/actor.ts';
import type { KafkaDecodeFailureCode } from '../kafka/decode-records.ts';
import { Enricher, EnrichMiss } from '../tables/enricher.ts';
import {
  type BatchFit,
  compileBatchFit,
  type Emitter,
  eventMisfit,
  formatRow,
  type LateRecord,
  type OutputRow,
  type SluiceEvent,
  WindowOperator,
} from '../windows/index.ts';
import type { OutputBuffer } from './output-buffer.ts';
import type {
  OutputTarget,
  PartitionPlan,
  SourcePosition,
  StreamPlan,
  WindowPlan,
} from './partition-plan.ts';

/** Why a record went to the dead-letter output: a stable code, the `reason` label of the metric. */
export type DeadLetterKind =
  | DecodeFailureRecord['code']
  | 'SCHEMA_MISFIT'
  | 'TRANSFORM_FAILED'
  | 'ENRICH_MISSING';

/** What a checkpoint gives back to a pipeline. */
export interface RestoredPipeline {
  maxEventTime: number | null;
  /** Each window's operator as its checkpoint restored it (window-checkpoints.ts). */
  windows: Map<string, WindowOperator>;
}

/** A record the source could not decode, carried to its place in the event order. */
export interface DecodeFailureRecord {
  code: KafkaDecodeFailureCode;
  reason: string;
  raw: string;
}

/** A user transform: an event in, an event or null (dropped) out. */
export type Transform = (event: SluiceEvent) => SluiceEvent | null | undefined;

/** A window's transform returned one object for two events: it must return a new object per event. */
export class TransformReuseError extends Error {
  readonly code = 'SLUICE_ERR_TRANSFORM_REUSE';
  readonly retriable = false;
  constructor(window: string, first: number, second: number) {
    super(
      `window ${window}: its transform returned the same object for events ${first} and ${second} of one batch; a window's transform runs over the whole batch before the windows see it, so it must return a new object per event (e.g. { ...event, field })`,
    );
    this.name = 'TransformReuseError';
  }
}

/** An event an enrich step, a transform or a window's schema turned away: its dead letter, written at the event's place. */
class Rejection {
  constructor(
    readonly kind: DeadLetterKind,
    readonly reason: string,
    /** The event as JSON when it was turned away. */
    readonly raw: string,
  ) {}
}

/**
 * A batch after `prepare`: what each window will see of it. Plain windows (no enrich step,
 * no transform) see the batch as it is.
 */
export interface PreparedBatch {
  /** Per window in plan order: its operator and the events it will see (null: the event does not reach it). */
  readonly windows: ReadonlyArray<
    [window: string, operator: WindowOperator, seen: ReadonlyArray<SluiceEvent | null>]
  >;
  /** Per window in plan order: its prepared events, or null for a plain window. */
  readonly prepared: ReadonlyArray<Array<SluiceEvent | null> | null>;
  /** Per window in plan order: the dead letters of its steps, by event index. */
  readonly rejected: ReadonlyArray<Map<number, Rejection> | null>;
}

interface WindowRun {
  plan: WindowPlan;
  operator: WindowOperator;
  enricher: Enricher | null;
  transform: Transform | null;
  emitter: WindowEmitter;
  /** Whether a whole batch fits the window's schema (`eventMisfit` null for every event), compiled once. */
  allFit: BatchFit;
}

interface StreamRun {
  plan: StreamPlan;
  enricher: Enricher | null;
  transform: Transform | null;
}

function enricherOf(plan: WindowPlan | StreamPlan): Enricher | null {
  return plan.enrich !== undefined && plan.enrich.length > 0 ? new Enricher(plan.enrich) : null;
}

async function loadTransform(path: string | null): Promise<Transform | null> {
  if (path === null) return null;
  const loaded = (await import(pathToFileURL(path).href)) as { default?: unknown };
  if (typeof loaded.default !== 'function') {
    throw new Error(`transform ${path}: its default export is not a function`);
  }
  return loaded.default as Transform;
}

/** Turns a window's rows and late records into output lines; counts both for metrics. */
class WindowEmitter implements Emitter {
  output: OutputBuffer | null = null;
  rowCount = 0;
  lateCount = 0;
  readonly #plan: WindowPlan;

  constructor(plan: WindowPlan) {
    this.#plan = plan;
  }

  row(row: OutputRow): void {
    this.rowCount++;
    const line = formatRow(row);
    for (const target of this.#plan.to) this.output!.add(target, this.#plan.name, line);
  }

  late(record: LateRecord): void {
    this.lateCount++;
    if (this.#plan.late === null) return;
    const line = JSON.stringify({
      window: this.#plan.name,
      window_start: record.window_start,
      window_end: record.window_end,
      watermark: record.watermark,
      event: record.event,
    });
    this.output!.add(this.#plan.late, this.#plan.name, line);
  }
}

/**
 * The top-level fields that are all a partition's consumers read of an event, or null
 * when something needs whole events: a stream (it writes them), a transform or an enrich
 * step (they see them), a late output (it writes them), a nested time field. Otherwise a
 * window reads only its groupBy and aggregate fields and the time field, so an event that
 * holds just those gives every window the same rows. Dead letters carry whole events too:
 * a caller that reads projected events must take the ordinary path for any batch that
 * would make one (`fitsEveryWindow`, and the time check).
 */
export function projectedFields(plan: PartitionPlan): string[] | null {
  if (plan.streams.length > 0 || plan.windows.length === 0 || plan.timeField.includes('.')) return null;
  const fields = new Set([plan.timeField]);
  for (const window of plan.windows) {
    if (window.transform !== null || (window.enrich?.length ?? 0) > 0 || window.late !== null) return null;
    for (const field of window.operator.groupBy) fields.add(field);
    for (const aggregate of window.operator.aggregates) {
      if (aggregate.field !== undefined) fields.add(aggregate.field);
    }
  }
  return [...fields];
}

export class PartitionPipeline {
  readonly #plan: PartitionPlan;
  readonly #windows: WindowRun[];
  readonly #streams: StreamRun[];
  /** The enrich steps of every window and stream. */
  readonly #enrichers: Enricher[];
  readonly #labels: { source: string; partition: string };
  #maxEventTime = Number.NEGATIVE_INFINITY;
  #lastEventWallTime = Date.now();
  #watermarkAtLastEvent = Number.NEGATIVE_INFINITY;
  #deadLettersByKind = new Map<DeadLetterKind, number>();
  #recordedRows = new Map<string, number>();
  #recordedLate = new Map<string, number>();

  private constructor(plan: PartitionPlan, windows: WindowRun[], streams: StreamRun[]) {
    this.#plan = plan;
    this.#windows = windows;
    this.#streams = streams;
    this.#enrichers = [...windows, ...streams].flatMap((run) =>
      run.enricher === null ? [] : [run.enricher],
    );
    this.#labels = { source: plan.source, partition: String(plan.partition) };
  }

  /** Builds the pipeline of `plan`, fresh or from the state of a checkpoint. */
  static async create(
    plan: PartitionPlan,
    restored: RestoredPipeline | null = null,
  ): Promise<PartitionPipeline> {
    const windows: WindowRun[] = [];
    for (const windowPlan of plan.windows) {
      windows.push({
        plan: windowPlan,
        operator: restored?.windows.get(windowPlan.name) ?? new WindowOperator(windowPlan.operator),
        enricher: enricherOf(windowPlan),
        transform: await loadTransform(windowPlan.transform),
        emitter: new WindowEmitter(windowPlan),
        allFit: compileBatchFit(windowPlan.operator),
      });
    }
    const streams: StreamRun[] = [];
    for (const streamPlan of plan.streams) {
      streams.push({
        plan: streamPlan,
        enricher: enricherOf(streamPlan),
        transform: await loadTransform(streamPlan.transform),
      });
    }
    const pipeline = new PartitionPipeline(plan, windows, streams);
    if (restored !== null && restored.maxEventTime !== null) {
      pipeline.#maxEventTime = restored.maxEventTime;
      pipeline.#watermarkAtLastEvent = pipeline.watermark;
    }
    return pipeline;
  }

  /**
   * Null when every lookup table the enrich steps read is bootstrapped on this worker;
   * otherwise a promise of that. The actor waits for it before it processes events, so
   * no event is joined with a table that is still loading.
   */
  tablesPending(): Promise<void> | null {
    if (this.#enrichers.every((enricher) => enricher.ready)) return null;
    return Promise.all(this.#enrichers.map((enricher) => enricher.whenReady())).then(() => {});
  }

  /** The largest event time seen; null before the first event. Restored with the state. */
  get maxEventTime(): number | null {
    return Number.isFinite(this.#maxEventTime) ? this.#maxEventTime : null;
  }

  /** Each window's operator, by window name: checkpoints capture and restore their state. */
  windowOperators(): Array<[window: string, operator: WindowOperator]> {
    return this.#windows.map((run) => [run.plan.name, run.operator]);
  }

  /**
   * The native pre-aggregation spec of the partition's window when it can take whole
   * batches pre-aggregated (`applyPreAggregated`): one tumbling or hopping window (see
   * `frameSpecFor`) and nothing else reading the events — no stream, transform, enrich
   * step or late output. Null otherwise.
   */
  preAggregationSpec(): FrameSpec | null {
    if (this.#windows.length !== 1 || this.#streams.length > 0) return null;
    const run = this.#windows[0];
    if (run.transform !== null || run.enricher !== null || run.plan.late !== null) return null;
    if (this.#plan.timeField.includes('.')) return null;
    return frameSpecFor(run.plan.operator, this.#plan.timeField);
  }

  /**
   * Applies a batch pre-aggregated natively for the one window (`preAggregationSpec`):
   * `aggregate` makes it against the window's watermark. The events the fast path left
   * out (late, or for a fired window within its lateness) run one by one, read by
   * `events` — called only when there are such. Returns the batch's event count, or null,
   * having changed nothing, when the batch must take the ordinary path: the aggregation
   * fell back, an event would become a dead letter (no valid time, a schema misfit: a
   * dead letter carries the whole event), or window state is evicted (its read-back
   * needs the events).
   */
  applyPreAggregated(
    aggregate: (watermark: number) => NativeBatch | null,
    events: () => readonly (SluiceEvent | null)[] | null,
    output: OutputBuffer,
  ): number | null {
    const run = this.#windows[0];
    if (run.operator.hasEvicted) return null;
    const batch = aggregate(run.operator.watermark);
    if (batch === null || batch.fallback !== null) return null;
    let slowSteps = false;
    const steps = batch.steps;
    for (let i = 0; i < steps.length; i += 2) {
      if (steps[i] !== STEP_SLOW) continue;
      if (Number.isNaN(batch.times[steps[i + 1]])) return null;
      slowSteps = true;
    }
    const slow = slowSteps ? events() : null;
    if (slowSteps && (slow === null || slow.length !== batch.count || !run.allFit(slow))) return null;
    run.emitter.output = output;
    runBatch(
      run.operator,
      batch,
      (index, time) => run.operator.process(slow?.[index] as SluiceEvent, time, run.emitter),
      run.emitter,
    );
    this.#noteEventTimes(batch.times);
    return batch.count;
  }

  /** Whether every event of the batch fits every window's schema (no dead letter from a misfit). */
  fitsEveryWindow(events: readonly (SluiceEvent | null)[]): boolean {
    return this.#windows.every((run) => run.allFit(events));
  }

  /** The source partition's watermark: max event time seen − maxOutOfOrder. */
  get watermark(): number {
    return this.#maxEventTime - this.#plan.maxOutOfOrderMs;
  }

  /**
   * Runs decoded events through every window and stream, event by event, so that the
   * order of everything written (rows, late records, raw events, dead letters) depends
   * on the input order only, never on batch boundaries. `positions[i]` is the source
   * position of event i; without positions, event i is at `firstSequence + i`. An index
   * present in `failures` is a record that could not be decoded: it becomes a dead
   * letter at its place in the order and moves no watermark. `prepared` is what `prepare`
   * made of the same batch (prepared here when null).
   */
  process(
    events: readonly (SluiceEvent | null)[],
    times: ArrayLike<number>,
    positions: readonly SourcePosition[] | null,
    output: OutputBuffer,
    firstSequence = 0,
    failures: ReadonlyMap<number, DecodeFailureRecord> | null = null,
    prepared: PreparedBatch | null = null,
  ): void {
    if (events.length === 0) return;
    for (const run of this.#windows) run.emitter.output = output;
    const single = this.#windows.length === 1 && this.#streams.length === 0 ? this.#windows[0] : null;
    if (
      single !== null &&
      single.transform === null &&
      single.enricher === null &&
      failures === null &&
      single.allFit(events)
    ) {
      single.operator.processBatch(events as readonly SluiceEvent[], times, single.emitter);
      this.#noteEventTimes(times);
      return;
    }
    const { prepared: steps, rejected } = prepared ?? this.prepare(events, failures);
    const windows = this.#windows;
    const outOfOrder = this.#plan.maxOutOfOrderMs;
    for (let index = 0; index < events.length; index++) {
      const position = positions === null ? firstSequence + index : positions[index];
      const failure = failures?.get(index);
      if (failure !== undefined) {
        this.deadLetter(output, failure.code, failure.reason, position, failure.raw);
        continue;
      }
      const original = events[index] as SluiceEvent;
      const time = times[index];
      if (time > this.#maxEventTime) this.#maxEventTime = time;
      for (let w = 0; w < windows.length; w++) {
        const run = windows[w];
        const stepped = steps[w];
        let event: SluiceEvent | null = original;
        let misfit: string | null = null;
        if (stepped === null) misfit = eventMisfit(run.plan.operator, original);
        else {
          event = stepped[index];
          const rejection = rejected[w]?.get(index);
          if (rejection !== undefined)
            this.deadLetter(output, rejection.kind, rejection.reason, position, rejection.raw);
        }
        if (event !== null && misfit === null) {
          run.operator.process(event, time, run.emitter);
          continue;
        }
        if (misfit !== null) this.deadLetter(output, 'SCHEMA_MISFIT', misfit, position, original);
        run.operator.advanceWatermark(this.#maxEventTime - outOfOrder, run.emitter);
      }
      for (const run of this.#streams) {
        const event = this.#streamEvent(run, original, position, output);
        if (!event) continue;
        const line = JSON.stringify(event);
        for (const target of run.plan.to) output.add(target, run.plan.name, line);
      }
    }
    this.#lastEventWallTime = Date.now();
    this.#watermarkAtLastEvent = this.watermark;
  }

  /**
   * Runs the enrich steps and transform of every window that has them over the batch,
   * once per event, and checks the schema of what they make: the events each window will
   * see, so the state they touch can be read back before `process` applies them. The
   * dead letters this turns up are written by `process`, at their place in the order.
   * `failures` as for `process`: those events reach no window.
   */
  prepare(
    events: readonly (SluiceEvent | null)[],
    failures: ReadonlyMap<number, DecodeFailureRecord> | null = null,
  ): PreparedBatch {
    const windows = this.#windows;
    const prepared = windows.map((run) =>
      run.enricher === null && run.transform === null
        ? null
        : new Array<SluiceEvent | null>(events.length).fill(null),
    );
    const rejected = prepared.map((stepped) => (stepped === null ? null : new Map<number, Rejection>()));
    // What each transform returned in this batch: one object returned for two events
    // would make both the last one's (the windows see the batch after every transform).
    const returned = windows.map((run) => (run.transform === null ? null : new Map<SluiceEvent, number>()));
    if (prepared.some((stepped) => stepped !== null)) {
      for (let index = 0; index < events.length; index++) {
        if (failures?.has(index)) continue;
        const original = events[index] as SluiceEvent;
        for (let w = 0; w < windows.length; w++) {
          const stepped = prepared[w];
          if (stepped === null) continue;
          const run = windows[w];
          const result = this.#steps(run, original);
          if (result instanceof Rejection) {
            rejected[w]?.set(index, result);
            continue;
          }
          if (!result) continue;
          const earlier = returned[w];
          if (earlier != null && result !== original) {
            const first = earlier.get(result);
            if (first !== undefined) throw new TransformReuseError(run.plan.name, first, index);
            earlier.set(result, index);
          }
          const misfit = eventMisfit(run.plan.operator, result);
          if (misfit === null) stepped[index] = result;
          else rejected[w]?.set(index, new Rejection('SCHEMA_MISFIT', misfit, JSON.stringify(original)));
        }
      }
    }
    return {
      windows: windows.map((run, w) => [run.plan.name, run.operator, prepared[w] ?? events]),
      prepared,
      rejected,
    };
  }

  #noteEventTimes(times: ArrayLike<number>): void {
    let maxTime = this.#maxEventTime;
    for (let index = 0; index < times.length; index++) if (times[index] > maxTime) maxTime = times[index];
    this.#maxEventTime = maxTime;
    this.#lastEventWallTime = Date.now();
    this.#watermarkAtLastEvent = this.watermark;
  }

  /**
   * The event a window or stream works on: enriched from the lookup tables, then through
   * the user transform. Null when it leaves the flow without a dead letter (no row under
   * `drop`, transform returned null); a rejection when it leaves with one (no row under
   * `dead-letter`, transform threw).
   */
  #steps(run: WindowRun | StreamRun, event: SluiceEvent): SluiceEvent | Rejection | null {
    let current = event;
    if (run.enricher !== null) {
      const enriched = run.enricher.enrich(event);
      if (enriched instanceof EnrichMiss) {
        if (enriched.policy !== 'dead-letter') return null;
        return new Rejection('ENRICH_MISSING', `${run.plan.name}: ${enriched.reason}`, JSON.stringify(event));
      }
      current = enriched;
    }
    if (run.transform === null) return current;
    try {
      return run.transform(current) ?? null;
    } catch (error) {
      const reason = `transform failed: ${(error as Error).message}`;
      return new Rejection('TRANSFORM_FAILED', reason, JSON.stringify(current));
    }
  }

  /** The event a stream writes (`#steps`); a rejection becomes its dead letter here. */
  #streamEvent(
    run: StreamRun,
    event: SluiceEvent,
    position: SourcePosition,
    output: OutputBuffer,
  ): SluiceEvent | null {
    const result = this.#steps(run, event);
    if (!(result instanceof Rejection)) return result;
    this.deadLetter(output, result.kind, result.reason, position, result.raw);
    return null;
  }

  /** Sends a record that cannot be processed to the dead-letter output, with its position and reason. */
  deadLetter(
    output: OutputBuffer,
    kind: DeadLetterKind,
    reason: string,
    position: SourcePosition,
    raw: unknown,
  ): void {
    this.#deadLettersByKind.set(kind, (this.#deadLettersByKind.get(kind) ?? 0) + 1);
    const target: OutputTarget | null = this.#plan.deadLetter;
    if (target === null) return;
    const line = JSON.stringify({
      reason,
      code: kind,
      source: this.#plan.source,
      ...(this.#plan.input.kind === 'kafka' ? { topic: this.#plan.input.topic } : {}),
      partition: this.#plan.partition,
      position,
      raw: typeof raw === 'string' ? raw : JSON.stringify(raw),
    });
    output.add(target, 'dead-letter', line);
  }

  /**
   * A partition idle for longer than `idleTimeoutMs` advances its watermark by the
   * wall-clock time that passed beyond the timeout, so its windows still close.
   * Returns whether the watermark moved.
   */
  advanceIfIdle(now: number, idleTimeoutMs: number, output: OutputBuffer): boolean {
    const target = this.idleWatermark(now, idleTimeoutMs);
    if (target === null) return false;
    let moved = false;
    for (const run of this.#windows) {
      if (target <= run.operator.watermark) continue;
      run.emitter.output = output;
      run.operator.advanceWatermark(target, run.emitter);
      moved = true;
    }
    return moved;
  }

  /** The watermark `advanceIfIdle` would move to at `now`; null when the partition is not idle. */
  idleWatermark(now: number, idleTimeoutMs: number): number | null {
    const idleFor = now - this.#lastEventWallTime;
    if (idleFor < idleTimeoutMs || this.#watermarkAtLastEvent === Number.NEGATIVE_INFINITY) return null;
    return this.#watermarkAtLastEvent + (idleFor - idleTimeoutMs);
  }

  /** End of a bounded input: the watermark goes to +∞ and every window fires. */
  endOfInput(output: OutputBuffer): void {
    for (const run of this.#windows) {
      run.emitter.output = output;
      run.operator.advanceWatermark(Number.POSITIVE_INFINITY, run.emitter);
    }
  }

  /** Publishes the partition's metrics after a batch of `count` events that took `elapsedMs`. */
  record(ctx: ActorContext, count: number, elapsedMs: number): void {
    const metrics = ctx.metrics;
    if (count > 0) {
      metrics.inc('sluice_events_in_total', this.#labels, count);
      metrics.observe('sluice_processing_latency_seconds', { source: this.#plan.source }, elapsedMs / 1000);
    }
    const watermark = this.#windows.reduce(
      (lowest, run) => Math.min(lowest, run.operator.watermark),
      Number.POSITIVE_INFINITY,
    );
    if (Number.isFinite(watermark)) metrics.set('sluice_watermark_ms', this.#labels, watermark);
    for (const [kind, count] of this.#deadLettersByKind) {
      metrics.inc('sluice_dead_letters_total', { source: this.#plan.source, reason: kind }, count);
    }
    this.#deadLettersByKind.clear();
    for (const run of [...this.#windows, ...this.#streams]) {
      for (const [table, policy, missing] of run.enricher?.takeMissing() ?? []) {
        metrics.inc('sluice_enrich_missing_total', { table, output: run.plan.name, policy }, missing);
      }
    }
    for (const run of this.#windows) {
      const labels = { window: run.plan.name, partition: String(this.#plan.partition) };
      metrics.set('sluice_windows_open', labels, run.operator.openWindows);
      const rowsDelta = run.emitter.rowCount - (this.#recordedRows.get(run.plan.name) ?? 0);
      if (rowsDelta > 0) metrics.inc('sluice_windows_emitted_total', labels, rowsDelta);
      this.#recordedRows.set(run.plan.name, run.emitter.rowCount);
      const lateDelta = run.emitter.lateCount - (this.#recordedLate.get(run.plan.name) ?? 0);
      if (lateDelta > 0) metrics.inc('sluice_late_events_total', labels, lateDelta);
      this.#recordedLate.set(run.plan.name, run.emitter.lateCount);
    }
  }
}
