/**
 * The partition actor: owns one source partition and runs, for every event of it,
 * decode → event time → (transform) → window operators and raw streams, writing rows,
 * late records and dead letters to its outputs, and checkpointing its progress.
 *
 * Threading model: lives on one worker thread for life; every field is touched only by
 * the actor cell that runs it, one hook at a time. The open stores of this worker's
 * partitions are kept per worker (module state), so a restarted incarnation can close
 * its failed predecessor's store before reopening it.
 * Life cycle: factory (open the store, restore the last checkpoint, truncate the files to
 * it) → start (start the generator or wait for pushed batches) → receive/timer … →
 * end of input (watermark to +∞, every window fires, final checkpoint, `ended` report)
 * → stop (final checkpoint and snapshot, store closed).
 */

import { createFieldProjector, type FieldProjector } from '../../native/field-projection.ts';
import { createFrameAggregator, type NativeBatch, type NativeFrameAggregator } from '../../native/index.ts';
import type { Actor, ActorContext, ActorFactory } from '../../runtime/actor.ts';
import { createLogger } from '../../runtime/logger.ts';
import { parseEventTime } from '../codecs/event-time.ts';
import { decodeJsonEvent } from '../codecs/json-event.ts';
import { unpackLogRecords } from '../gateway/log-batch.ts';
import { aggregateKafkaRecords, decodeKafkaRecords, projectKafkaRecords } from '../kafka/decode-records.ts';
import { unpackKafkaBatch } from '../kafka/kafka-batch.ts';
import type { SluiceEvent } from '../windows/index.ts';
import { GeneratorDriver } from './generator-driver.ts';
import { OutputBuffer } from './output-buffer.ts';
import { PartitionCheckpoints, type RestoredPartition } from './partition-checkpoints.ts';
import {
  type DecodeFailureRecord,
  PartitionPipeline,
  type PreparedBatch,
  projectedFields,
} from './partition-pipeline.ts';
import type {
  PartitionMessage,
  PartitionPlan,
  PartitionReport,
  SinkSync,
  SourcePosition,
} from './partition-plan.ts';
import { TwoPhaseOutputs } from './two-phase-outputs.ts';

/** Records in source order, decoded: each an event or (at its index in `failures`) a dead letter. */
type DecodedBatch = Pick<Extract<PartitionMessage, { kind: 'records' }>, 'events' | 'positions' | 'failures'>;

const idleCheckTag = 'idle';
const generateTag = 'generate';
const checkpointTag = 'checkpoint';

/** Stores open in this worker, by partition directory. */
const openStores = new Map<string, PartitionCheckpoints>();

/**
 * Per partition directory, the input messages received since the last checkpoint. It
 * lives beside the actor, not in it, so that an incarnation restarted after a failure
 * restores the last checkpoint and replays exactly what came after it: the source has
 * already moved on and will not send those messages again.
 */
const replayLogs = new Map<string, ReplayLog>();

interface ReplayLog {
  messages: PartitionMessage[];
  events: number;
}

/** Past this many events since the last checkpoint, the partition checkpoints at once (bounds the replay log). */
const replayLimitEvents = 500_000;

export const createPartitionActor: ActorFactory<PartitionPlan, PartitionMessage> = async (plan, info) => {
  const log = createLogger().child({ actor: info.name });
  // A first incarnation starts from its checkpoint alone; a restarted one also replays.
  if (info.restarts === 0 || !replayLogs.has(plan.checkpoint.dir)) {
    replayLogs.set(plan.checkpoint.dir, { messages: [], events: 0 });
  }
  const previous = openStores.get(plan.checkpoint.dir);
  if (previous !== undefined) {
    openStores.delete(plan.checkpoint.dir);
    await previous.close().catch(() => {});
  }
  const checkpoints = await PartitionCheckpoints.open(plan, log);
  openStores.set(plan.checkpoint.dir, checkpoints);
  try {
    const restored = await checkpoints.restore(outputFiles(plan));
    const pipeline = await PartitionPipeline.create(plan, restored.pipeline);
    if (restored.checkpointId > 0) {
      log.info('partition restored', { checkpoint: restored.checkpointId, position: restored.position });
    }
    return new PartitionActor(plan, pipeline, checkpoints, restored, replayLogs.get(plan.checkpoint.dir)!);
  } catch (error) {
    openStores.delete(plan.checkpoint.dir);
    await checkpoints.close().catch(() => {});
    throw error;
  }
};

/** Every file the partition appends to. */
function outputFiles(plan: PartitionPlan): string[] {
  const files = new Set<string>();
  const add = (file: string | null) => {
    if (file !== null) files.add(file);
  };
  for (const window of plan.windows) {
    for (const target of window.to) add(target.file);
    add(window.late?.file ?? null);
  }
  for (const stream of plan.streams) for (const target of stream.to) add(target.file);
  add(plan.deadLetter?.file ?? null);
  return [...files];
}

/**
 * Every sink the partition writes, with the files it writes there: before a checkpoint
 * commits, each sink must make durable what the partition handed it (file sinks fsync
 * these files; batching sinks flush their buffers).
 */
function syncsOf(plan: PartitionPlan): SinkSync[] {
  const bySink = new Map<string, Set<string>>();
  const targets = [
    ...plan.windows.flatMap((window) => [...window.to, ...(window.late ? [window.late] : [])]),
    ...plan.streams.flatMap((stream) => stream.to),
    ...(plan.deadLetter ? [plan.deadLetter] : []),
  ];
  for (const target of targets) {
    const files = bySink.get(target.sink) ?? new Set<string>();
    if (target.file !== null) files.add(target.file);
    bySink.set(target.sink, files);
  }
  return [...bySink].map(([sink, files]) => ({ sink, files: [...files] }));
}

class PartitionActor implements Actor<PartitionMessage> {
  readonly #plan: PartitionPlan;
  readonly #pipeline: PartitionPipeline;
  readonly #checkpoints: PartitionCheckpoints;
  readonly #output: OutputBuffer;
  readonly #generator: GeneratorDriver | null;
  readonly #syncs: SinkSync[];
  readonly #twoPhase: TwoPhaseOutputs;
  /** The restored checkpoint's recorded two-phase rows, settled by the sinks at start. */
  readonly #restoredPending: { checkpoint: number; rows: ReadonlyMap<string, string> };
  readonly #replay: ReplayLog;
  /** File lengths of the checkpoint this incarnation restored; the files are cut back to them at start. */
  readonly #restoredFiles: ReadonlyMap<string, number>;
  /**
   * Reads the fields the windows use out of Kafka messages (JSON, msgpack or frames)
   * natively, when the addon is loaded and nothing needs whole events
   * (`projectedFields`); else null.
   */
  readonly #projector: FieldProjector | null;
  /**
   * Pre-aggregates Kafka batches (frames, JSON or msgpack) natively for the partition's
   * one tumbling or hopping window, when the projector serves and the window qualifies
   * (`PartitionPipeline.preAggregationSpec`); else null.
   */
  readonly #preAggregator: NativeFrameAggregator | null;
  /** The next source position to read. */
  #position: SourcePosition | null;
  #ended = false;
  #dirty = false;

  constructor(
    plan: PartitionPlan,
    pipeline: PartitionPipeline,
    checkpoints: PartitionCheckpoints,
    restored: RestoredPartition,
    replay: ReplayLog,
  ) {
    this.#plan = plan;
    this.#replay = replay;
    this.#restoredFiles = restored.filePositions;
    this.#pipeline = pipeline;
    this.#checkpoints = checkpoints;
    this.#output = new OutputBuffer(restored.filePositions, {
      partition: `${plan.source}/${plan.partition}`,
      checkpoint: restored.checkpointId,
    });
    this.#position = restored.position;
    this.#twoPhase = new TwoPhaseOutputs(
      plan.checkpoint.twoPhaseSinks ?? [],
      `${plan.source}/${plan.partition}`,
    );
    this.#output.onWrite = (write) => this.#twoPhase.record(write);
    this.#restoredPending = { checkpoint: restored.checkpointId, rows: restored.pendingRows };
    this.#syncs = syncsOf(plan).filter((sync) => !this.#twoPhase.has(sync.sink));
    this.#generator = plan.input.kind === 'generator' ? new GeneratorDriver(plan, plan.input) : null;
    const input = plan.input;
    const fields =
      input.kind === 'kafka' || (input.kind === 'pushed' && input.lines) ? projectedFields(plan) : null;
    this.#projector =
      fields === null || input.kind === 'generator' ? null : createFieldProjector(fields, input.format);
    const spec = this.#projector === null ? null : pipeline.preAggregationSpec();
    this.#preAggregator = spec === null ? null : createFrameAggregator(spec);
    if (this.#generator !== null && typeof restored.position === 'number') {
      this.#generator.skipTo(restored.position);
    }
  }

  /**
   * Cuts the files back to the restored checkpoint — after the sinks have written what a
   * failed predecessor handed them, so nothing stale lands after the cut — then replays
   * the messages that arrived since that checkpoint.
   */
  async start(ctx: ActorContext): Promise<void> {
    this.#checkpoints.useMetrics(ctx.metrics);
    await this.#twoPhase.recover(ctx, this.#restoredPending.checkpoint, this.#restoredPending.rows);
    for (const sync of this.#syncs) await ctx.emit('sync', sync);
    await PartitionCheckpoints.truncateFiles(this.#restoredFiles);
    if (this.#replay.messages.length > 0) {
      ctx.log.warn('partition restarted; replaying input since its last checkpoint', {
        messages: this.#replay.messages.length,
        events: this.#replay.events,
      });
      for (const message of [...this.#replay.messages]) await this.#handle(message, ctx);
    }
    ctx.log.debug('partition started', {
      source: this.#plan.source,
      partition: this.#plan.partition,
      native:
        this.#projector === null
          ? 'off'
          : `${this.#projector.format} read for ${this.#projector.fields.join(', ')}${this.#preAggregator === null ? '' : ', pre-aggregated'}`,
    });
    ctx.metrics.set(
      'sluice_native_path',
      { source: this.#plan.source, partition: String(this.#plan.partition) },
      this.#projector === null ? 0 : 1,
    );
    if (this.#generator) ctx.setTimer(generateTag, 0);
    if (this.#plan.idleTimeoutMs !== null) ctx.setTimer(idleCheckTag, this.#idleCheckInterval());
    ctx.setTimer(checkpointTag, this.#plan.checkpoint.intervalMs);
  }

  async receive(message: PartitionMessage, ctx: ActorContext): Promise<void> {
    this.#replay.messages.push(message);
    this.#replay.events += await this.#handle(message, ctx);
    // Window state well past its memory budget checkpoints early: the commit lets it evict.
    if (
      this.#replay.events > replayLimitEvents ||
      this.#checkpoints.windowState.overBudget(this.#pipeline.windowOperators())
    ) {
      await this.#checkpoint(ctx);
    }
  }

  /** Processes one input message; returns how many records it held. */
  async #handle(message: PartitionMessage, ctx: ActorContext): Promise<number> {
    if (this.#ended) return 0;
    if (message.kind === 'end') {
      await this.#end(ctx);
      return 0;
    }
    // Enrichment waits until its lookup tables are loaded (their mailbox waits meanwhile).
    await this.#pipeline.tablesPending();
    const began = performance.now();
    let count: number;
    if (message.kind === 'kafka') {
      const input = this.#plan.input;
      if (input.kind !== 'kafka') throw new Error('a Kafka batch reached a partition of another source');
      const { batch } = message;
      count =
        this.#handlePreAggregated(
          (aggregator, watermark) => aggregateKafkaRecords(aggregator, batch, input.format, watermark),
          (projector) => projectKafkaRecords(projector, batch),
          ctx,
        ) ??
        (await this.#handleProjected((projector) => projectKafkaRecords(projector, batch), ctx)) ??
        (await this.#handleRecords(decodeKafkaRecords(input.format, unpackKafkaBatch(batch))));
      this.#position = batch.nextOffset;
    } else if (message.kind === 'lines') {
      const { bytes, bounds } = message;
      // A line the reader found bad is a dead letter: its batch takes the ordinary path.
      const clean = message.failures.length === 0;
      count =
        (clean
          ? (this.#handlePreAggregated(
              (aggregator, watermark) => aggregator.aggregateMessages(bytes, bounds, 'json', watermark),
              (projector) => projector.projectIn(bytes, bounds),
              ctx,
            ) ?? (await this.#handleProjected((projector) => projector.projectIn(bytes, bounds), ctx)))
          : null) ?? (await this.#handleRecords(decodeLines(message)));
      if (message.positions.length > 0) this.#position = message.positions[message.positions.length - 1];
    } else {
      count = await this.#handleRecords(message.kind === 'log' ? unpackLogRecords(message.records) : message);
    }
    this.#pipeline.record(ctx, count, performance.now() - began);
    this.#dirty = true;
    await this.#output.flush(ctx);
    return count;
  }

  /**
   * A batch pre-aggregated natively by `aggregate` and merged into the window
   * (`#preAggregator`): its event count, or null when the batch takes another path (see
   * `PartitionPipeline.applyPreAggregated`). The events it leaves to the per-event path
   * are read for the window's fields by `project`.
   */
  #handlePreAggregated(
    aggregate: (aggregator: NativeFrameAggregator, watermark: number) => NativeBatch | null,
    project: (projector: FieldProjector) => Array<Record<string, unknown>> | null,
    ctx: ActorContext,
  ): number | null {
    const aggregator = this.#preAggregator;
    const projector = this.#projector;
    if (aggregator === null || projector === null) return null;
    const count = this.#pipeline.applyPreAggregated(
      (watermark) => aggregate(aggregator, watermark),
      () => project(projector),
      this.#output,
    );
    if (count === null) return null;
    const labels = { source: this.#plan.source };
    ctx.metrics.inc('sluice_native_events_total', labels, count);
    ctx.metrics.inc('sluice_native_preaggregated_batches_total', labels);
    return count;
  }

  /**
   * A batch read for the windows' fields only by `project` (`#projector`): its event count,
   * or null when the projector is off or refused the batch, or when an event would become a
   * dead letter (no valid time, a schema misfit) — a dead letter carries the whole event,
   * so such a batch takes the ordinary path, which decides exactly as it always did.
   */
  async #handleProjected(
    project: (projector: FieldProjector) => Array<Record<string, unknown>> | null,
    ctx: ActorContext,
  ): Promise<number | null> {
    if (this.#projector === null) return null;
    const events = project(this.#projector);
    const failures = new Map<number, DecodeFailureRecord>();
    const times = events === null ? null : this.#eventTimes(events, failures);
    if (events === null || times === null || failures.size > 0 || !this.#pipeline.fitsEveryWindow(events)) {
      ctx.metrics.inc('sluice_native_fallback_batches_total', { source: this.#plan.source });
      return null;
    }
    const prepared = await this.#prepare(events, times, null);
    // No event of the batch can become a dead letter, the only use of positions.
    this.#pipeline.process(events, times, null, this.#output, 0, null, prepared);
    ctx.metrics.inc('sluice_native_events_total', { source: this.#plan.source }, events.length);
    return events.length;
  }

  /** Records decoded whole, each a full event or (in `failures`) a dead letter: their count. */
  async #handleRecords(records: DecodedBatch): Promise<number> {
    const { events, positions } = records;
    const failures = new Map<number, DecodeFailureRecord>(records.failures);
    const times = this.#eventTimes(events, failures);
    // No failures: null lets the pipeline take a clean batch whole instead of event by event.
    const failed = failures.size > 0 ? failures : null;
    const prepared = await this.#prepare(events, times, failed);
    this.#pipeline.process(events, times, positions, this.#output, 0, failed, prepared);
    if (positions.length > 0) this.#position = positions[positions.length - 1];
    return events.length;
  }

  /**
   * Runs the enrich steps and transforms of the batch's windows, then reads back the
   * evicted window state the events they make need (nothing, at once, when nothing is
   * evicted). Returns the prepared batch for `process`.
   */
  async #prepare(
    events: ReadonlyArray<SluiceEvent | null>,
    times: ArrayLike<number>,
    failures: ReadonlyMap<number, DecodeFailureRecord> | null,
  ): Promise<PreparedBatch> {
    const prepared = this.#pipeline.prepare(events, failures);
    await this.#checkpoints.windowState.readBack(prepared.windows, events, times);
    return prepared;
  }

  /** Event times of decoded events; an event without a valid time becomes a failure. */
  #eventTimes(
    events: ReadonlyArray<SluiceEvent | null>,
    failures: Map<number, DecodeFailureRecord>,
  ): Float64Array {
    const times = new Float64Array(events.length);
    const timeField = this.#plan.timeField;
    // A dotted time field (`source.ts_ms` of a CDC envelope) reads a nested value.
    const nested = timeField.includes('.');
    for (let index = 0; index < events.length; index++) {
      const event = events[index];
      if (event === null) continue;
      const value = nested ? readPath(event, timeField) : event[timeField];
      // A finite number (ms since the epoch) is the common case: parseEventTime returns it as is.
      const time = typeof value === 'number' && Number.isFinite(value) ? value : parseEventTime(value);
      if (time === undefined) {
        const reason = `field ${timeField}: missing or not a time (ms since the epoch or ISO-8601)`;
        failures.set(index, { code: 'TIME_INVALID', reason, raw: JSON.stringify(event) });
        continue;
      }
      times[index] = time;
    }
    return times;
  }

  async timer(tag: string, ctx: ActorContext): Promise<void> {
    if (tag === checkpointTag) {
      if (this.#dirty) await this.#checkpoint(ctx);
      ctx.setTimer(checkpointTag, this.#plan.checkpoint.intervalMs);
      return;
    }
    if (this.#ended) return;
    if (tag === generateTag && this.#generator) {
      await this.#pipeline.tablesPending();
      const began = performance.now();
      const batch = this.#generator.next(Date.now());
      if (batch.events.length > 0) {
        const prepared = await this.#prepare(batch.events, batch.times, null);
        const first = batch.firstSequence;
        this.#pipeline.process(batch.events, batch.times, null, this.#output, first, null, prepared);
        this.#position = batch.firstSequence + batch.events.length;
        this.#dirty = true;
        this.#pipeline.record(ctx, batch.events.length, performance.now() - began);
        await this.#output.flush(ctx);
      }
      if (this.#generator.exhausted) await this.#end(ctx);
      else ctx.setTimer(generateTag, this.#generator.delayUntilNext(Date.now()));
      return;
    }
    if (tag === idleCheckTag && this.#plan.idleTimeoutMs !== null) {
      const now = Date.now();
      const idleWatermark = this.#pipeline.idleWatermark(now, this.#plan.idleTimeoutMs);
      if (idleWatermark !== null) {
        await this.#checkpoints.windowState.readBackForWatermark(
          this.#pipeline.windowOperators(),
          idleWatermark,
        );
      }
      if (this.#pipeline.advanceIfIdle(now, this.#plan.idleTimeoutMs, this.#output)) {
        this.#pipeline.record(ctx, 0, 0);
        this.#dirty = true;
        await this.#output.flush(ctx);
      }
      ctx.setTimer(idleCheckTag, this.#idleCheckInterval());
    }
  }

  /** `position`: the next source position to read (the source seeks or skips to it). */
  request(kind: string): unknown {
    if (kind === 'position') return this.#position;
    throw new Error(`unknown request ${kind}`);
  }

  /** Graceful stop (shutdown, revoke): a last checkpoint and a snapshot file, then the store closes. */
  async stop(ctx: ActorContext): Promise<void> {
    ctx.cancelTimer(checkpointTag);
    ctx.cancelTimer(idleCheckTag);
    ctx.cancelTimer(generateTag);
    await this.#output.flush(ctx);
    await this.#checkpoint(ctx, true);
    openStores.delete(this.#plan.checkpoint.dir);
    await this.#checkpoints.close();
  }

  /**
   * Makes everything up to here durable: the sinks write and fsync what the partition
   * handed them, then one atomic commit records state, watermark, position and file
   * lengths. Returns the checkpoint id.
   */
  async #checkpoint(ctx: ActorContext, snapshot = false): Promise<number> {
    for (const sync of this.#syncs) await ctx.emit('sync', sync);
    await this.#twoPhase.prepare(ctx);
    const record = await this.#checkpoints.commit(
      {
        position: this.#position,
        maxEventTime: this.#pipeline.maxEventTime,
        watermark: this.#pipeline.watermark,
        windows: this.#pipeline.windowOperators(),
        filePositions: this.#output.filePositions,
        ended: this.#ended,
        pendingRows: this.#twoPhase.pending(),
      },
      snapshot,
    );
    this.#dirty = false;
    if (this.#output.origin !== null) this.#output.origin.checkpoint = record.id;
    this.#replay.messages = [];
    this.#replay.events = 0;
    // After the replay log is cleared: a failure from here restarts from this checkpoint.
    await this.#twoPhase.committed(ctx, record.id);
    const report: PartitionReport = {
      kind: 'checkpointed',
      source: this.#plan.source,
      partition: this.#plan.partition,
      checkpoint: record.id,
      position: this.#position,
    };
    await ctx.emit('control', report);
    return record.id;
  }

  async #end(ctx: ActorContext): Promise<void> {
    this.#ended = true;
    ctx.cancelTimer(idleCheckTag);
    ctx.cancelTimer(generateTag);
    await this.#checkpoints.windowState.readBackForWatermark(
      this.#pipeline.windowOperators(),
      Number.POSITIVE_INFINITY,
    );
    this.#pipeline.endOfInput(this.#output);
    this.#pipeline.record(ctx, 0, 0);
    await this.#output.flush(ctx);
    await this.#checkpoint(ctx);
    const report: PartitionReport = {
      kind: 'ended',
      source: this.#plan.source,
      partition: this.#plan.partition,
    };
    await ctx.emit('control', report);
  }

  #idleCheckInterval(): number {
    return Math.max(50, Math.min(1000, Math.floor((this.#plan.idleTimeoutMs ?? 1000) / 4)));
  }
}

/** The value at a dotted path (`source.ts_ms`), undefined when a step is missing. */
function readPath(event: SluiceEvent, path: string): unknown {
  let value: unknown = event;
  for (const step of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[step];
  }
  return value;
}

/** A file source's lines decoded whole, each by `decodeJsonEvent` (as `decodeJsonLine` does), in order. */
function decodeLines(message: Extract<PartitionMessage, { kind: 'lines' }>): DecodedBatch {
  const { bytes, bounds, positions } = message;
  const failures = new Map(message.failures);
  const events = new Array<Record<string, unknown> | null>(positions.length);
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < positions.length; i++) {
    events[i] = null;
    if (failures.has(i)) continue;
    const text = buffer.toString('utf8', bounds[2 * i], bounds[2 * i + 1]);
    const decoded = decodeJsonEvent(text);
    if ('event' in decoded) events[i] = decoded.event;
    else failures.set(i, { code: decoded.code, reason: decoded.reason, raw: text });
  }
  return { events, positions, failures: [...failures] };
}
