/**
 * Drives a sink outside a job, for the sink benchmarks: a bare actor context, and a
 * serial driver that runs the sink's hooks (its own timers included) one after another,
 * as an actor cell would.
 */
import type { Actor, ActorContext } from '../../runtime/actor.ts';
import { createLogger } from '../../runtime/logger.ts';
import { discardingRecorder } from '../../runtime/metrics-recorder.ts';
import { type BenchFigures, LatencyRecorder, measureProcess } from '../lib/figures.ts';

const log = createLogger({ level: 'warn' });

/** A context whose emits and timers go nowhere. */
export function benchContext(): ActorContext {
  return {
    name: 'bench',
    emit: async () => {},
    setTimer() {},
    cancelTimer() {},
    metrics: discardingRecorder,
    log,
  };
}

/** Runs `sink`'s hooks in order; `run(hook)` queues one behind the others, timers included. */
export function serialDriver(sink: Actor<never>): {
  ctx: ActorContext;
  run(hook: () => unknown): Promise<unknown>;
} {
  let queue: Promise<unknown> = Promise.resolve();
  const run = (hook: () => unknown) => {
    queue = queue.then(hook);
    return queue;
  };
  const timers = new Map<string, NodeJS.Timeout>();
  const ctx: ActorContext = {
    ...benchContext(),
    setTimer(tag, delayMs) {
      clearTimeout(timers.get(tag));
      timers.set(
        tag,
        setTimeout(() => void run(() => sink.timer?.(tag, ctx)), delayMs),
      );
    },
    cancelTimer(tag) {
      clearTimeout(timers.get(tag));
      timers.delete(tag);
    },
  };
  return { ctx, run };
}

/**
 * Inserts `batches` one after another through `insert`: rows/s over the whole run, the
 * latency of each insert (sent → acknowledged), CPU time and peak RSS of this process.
 */
export async function timedBatches(
  scenario: string,
  batches: readonly string[][],
  insert: (batch: string[]) => Promise<unknown>,
): Promise<Omit<BenchFigures, 'latencyOf'>> {
  const latency = new LatencyRecorder();
  let rows = 0;
  const measure = measureProcess();
  for (const batch of batches) {
    const sent = performance.now();
    await insert(batch);
    latency.record((performance.now() - sent) * 1000);
    rows += batch.length;
  }
  const usage = measure.stop();
  return {
    scenario,
    events: rows,
    ...usage,
    eventsPerSecond: rows / (usage.wallMs / 1000),
    latencyUs: latency.percentiles(),
  };
}
