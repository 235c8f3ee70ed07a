/**
 * The partition actor: owns one source partition and runs, for every event of it,
 * decode → event time → (transform) → window operators and raw streams, writing rows,
 * late records and dead letters to its outputs.
 *
 * Threading model: lives on one worker thread for life; every field is touched only by
 * the actor cell that runs it, one hook at a time.
 * Life cycle: start (load transforms, start the generator or wait for pushed batches)
 * → receive/timer … → end of input (watermark to +∞, every window fires, `ended` report)
 * → stop.
 */
import type { Actor, ActorContext, ActorFactory } from '../../runtime/actor.ts';
import { parseEventTime } from '../codecs/event-time.ts';
import { GeneratorDriver } from './generator-driver.ts';
import { OutputBuffer } from './output-buffer.ts';
import { PartitionPipeline } from './partition-pipeline.ts';
import type { PartitionMessage, PartitionPlan, PartitionReport } from './partition-plan.ts';

const idleCheckTag = 'idle';
const generateTag = 'generate';

export const createPartitionActor: ActorFactory<PartitionPlan, PartitionMessage> = async (plan) => {
  const pipeline = await PartitionPipeline.create(plan);
  return new PartitionActor(plan, pipeline);
};

class PartitionActor implements Actor<PartitionMessage> {
  readonly #plan: PartitionPlan;
  readonly #pipeline: PartitionPipeline;
  readonly #output = new OutputBuffer();
  readonly #generator: GeneratorDriver | null;
  #ended = false;

  constructor(plan: PartitionPlan, pipeline: PartitionPipeline) {
    this.#plan = plan;
    this.#pipeline = pipeline;
    this.#generator = plan.input.kind === 'generator' ? new GeneratorDriver(plan, plan.input) : null;
  }

  start(ctx: ActorContext): void {
    ctx.log.debug('partition started', { source: this.#plan.source, partition: this.#plan.partition });
    if (this.#generator) ctx.setTimer(generateTag, 0);
    if (this.#plan.idleTimeoutMs !== null) ctx.setTimer(idleCheckTag, this.#idleCheckInterval());
  }

  async receive(message: PartitionMessage, ctx: ActorContext): Promise<void> {
    if (this.#ended) return;
    if (message.kind === 'end') {
      await this.#end(ctx);
      return;
    }
    const began = performance.now();
    const { events, positions } = message;
    const failures = new Map(message.failures);
    const times = new Float64Array(events.length);
    const timeField = this.#plan.timeField;
    for (let index = 0; index < events.length; index++) {
      const event = events[index];
      if (event === null) continue;
      const time = parseEventTime(event[timeField]);
      if (time === undefined) {
        const reason = `field ${timeField}: missing or not a time (ms since the epoch or ISO-8601)`;
        failures.set(index, { code: 'TIME_INVALID', reason, raw: JSON.stringify(event) });
        continue;
      }
      times[index] = time;
    }
    this.#pipeline.process(events, times, positions, this.#output, 0, failures.size > 0 ? failures : null);
    this.#pipeline.record(ctx, events.length, performance.now() - began);
    await this.#output.flush(ctx);
  }

  async timer(tag: string, ctx: ActorContext): Promise<void> {
    if (this.#ended) return;
    if (tag === generateTag && this.#generator) {
      const began = performance.now();
      const batch = this.#generator.next(Date.now());
      if (batch.events.length > 0) {
        this.#pipeline.process(batch.events, batch.times, null, this.#output, batch.firstSequence);
        this.#pipeline.record(ctx, batch.events.length, performance.now() - began);
        await this.#output.flush(ctx);
      }
      if (this.#generator.exhausted) await this.#end(ctx);
      else ctx.setTimer(generateTag, this.#generator.delayUntilNext(Date.now()));
      return;
    }
    if (tag === idleCheckTag && this.#plan.idleTimeoutMs !== null) {
      if (this.#pipeline.advanceIfIdle(Date.now(), this.#plan.idleTimeoutMs, this.#output)) {
        this.#pipeline.record(ctx, 0, 0);
        await this.#output.flush(ctx);
      }
      ctx.setTimer(idleCheckTag, this.#idleCheckInterval());
    }
  }

  request(kind: string): unknown {
    if (kind === 'stats') return this.#pipeline.stats();
    throw new Error(`unknown request ${kind}`);
  }

  async #end(ctx: ActorContext): Promise<void> {
    this.#ended = true;
    ctx.cancelTimer(idleCheckTag);
    ctx.cancelTimer(generateTag);
    this.#pipeline.endOfInput(this.#output);
    this.#pipeline.record(ctx, 0, 0);
    await this.#output.flush(ctx);
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
