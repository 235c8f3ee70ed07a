/**
 * Drives the synthetic generator for one partition inside its actor: this partition's
 * share of the source's rate and count, and batches sized so that a rate-limited source
 * sleeps between batches instead of spinning.
 *
 * Each partition generates only keys that the source's partitioner (murmur2, as Kafka's
 * default) assigns to it, so a generator with `partitions: N` is keyed exactly as a
 * producer writing to N Kafka partitions would be.
 *
 * Threading model: owned by one partition actor on its worker thread.
 */
import { createGenerator, type EventGenerator } from '../generator/index.ts';
import type { SluiceEvent } from '../windows/index.ts';
import type { PartitionInput, PartitionPlan } from './partition-plan.ts';

type GeneratorInput = Extract<PartitionInput, { kind: 'generator' }>;

export interface GeneratedBatch {
  events: SluiceEvent[];
  times: Float64Array;
  firstSequence: number;
}

const empty: GeneratedBatch = { events: [], times: new Float64Array(0), firstSequence: 0 };

function shareOf(total: number, partition: number, partitions: number): number {
  return Math.floor(total / partitions) + (partition < total % partitions ? 1 : 0);
}

export class GeneratorDriver {
  readonly #generator: EventGenerator;
  readonly #batchSize: number;
  readonly #limit: number;
  readonly #rate: number;
  #startedAt: number | null = null;
  #produced = 0;
  /** Events produced before this run started pacing (skipped on restore). */
  #resumedAt = 0;

  constructor(plan: PartitionPlan, input: GeneratorInput) {
    this.#rate = input.rate / plan.partitions;
    // Rate-limited: about 10 ms worth of events per batch, so output keeps flowing.
    this.#batchSize =
      this.#rate > 0 ? Math.max(1, Math.min(plan.batchSize, Math.floor(this.#rate / 100))) : plan.batchSize;
    this.#limit =
      input.count === null ? Number.POSITIVE_INFINITY : shareOf(input.count, plan.partition, plan.partitions);
    this.#generator = createGenerator({
      keyField: plan.keyField,
      timeField: plan.timeField,
      keys: input.keys,
      skew: input.skew,
      seed: input.seed,
      startTime: input.startTime ?? Date.now(),
      eventsPerSecond: this.#rate,
      outOfOrder: input.outOfOrder,
      maxOutOfOrderMs: plan.maxOutOfOrderMs,
      late: input.late,
      lateByMs: Math.max(1000, plan.maxOutOfOrderMs),
      clock: input.clock,
      partition: { index: plan.partition, count: plan.partitions },
    });
  }

  get exhausted(): boolean {
    return this.#produced >= this.#limit;
  }

  /** The next batch this partition may produce at wall time `now` (empty while the rate forbids more). */
  next(now: number): GeneratedBatch {
    this.#startedAt ??= now;
    let size = Math.min(this.#batchSize, this.#limit - this.#produced);
    if (this.#rate > 0) {
      const allowed =
        Math.floor(((now - this.#startedAt) * this.#rate) / 1000) - (this.#produced - this.#resumedAt);
      size = Math.min(size, allowed);
    }
    if (size <= 0) return empty;
    const firstSequence = this.#produced;
    const batch = this.#generator.nextBatch(size);
    this.#produced += batch.events.length;
    return { events: batch.events, times: batch.times, firstSequence };
  }

  /**
   * Resumes after a checkpoint taken at `position` events: the generator is
   * deterministic, so it regenerates and drops what was already produced.
   */
  skipTo(position: number): void {
    const target = Math.min(position, this.#limit);
    while (this.#produced < target) {
      this.#produced += this.#generator.nextBatch(Math.min(65_536, target - this.#produced)).events.length;
    }
    this.#resumedAt = this.#produced;
  }

  /** Milliseconds to wait before a full batch is allowed (0 when not rate-limited). */
  delayUntilNext(now: number): number {
    if (this.#rate <= 0 || this.#startedAt === null) return 0;
    const nextSize = Math.min(this.#batchSize, this.#limit - this.#produced);
    const dueAt = this.#startedAt + ((this.#produced - this.#resumedAt + nextSize) * 1000) / this.#rate;
    return Math.max(0, Math.ceil(dueAt - now));
  }
}
