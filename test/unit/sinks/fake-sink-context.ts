import type { ActorContext } from '../../../runtime/actor.ts';
import { createLogger } from '../../../runtime/logger.ts';

export interface RecordedContext {
  ctx: ActorContext;
  emits: Array<{ channel: string; payload: unknown }>;
  timers: Map<string, number>;
  counters: Array<{ name: string; labels: Record<string, string | number>; value: number }>;
  /** Every gauge setting, in order. */
  gauges: Array<{ name: string; labels: Record<string, string | number>; value: number }>;
  observations: Array<{ name: string; labels: Record<string, string | number>; value: number }>;
  logs: string[];
}

/** An actor context that records emits, timers, metrics and log lines, for sink unit tests. */
export function recordingContext(): RecordedContext {
  const recorded: Omit<RecordedContext, 'ctx'> = {
    emits: [],
    timers: new Map(),
    counters: [],
    gauges: [],
    observations: [],
    logs: [],
  };
  const ctx: ActorContext = {
    name: 'sink:test',
    async emit(channel, payload) {
      recorded.emits.push({ channel, payload });
    },
    setTimer(tag, delayMs) {
      recorded.timers.set(tag, delayMs);
    },
    cancelTimer(tag) {
      recorded.timers.delete(tag);
    },
    metrics: {
      inc(name, labels, value = 1) {
        recorded.counters.push({ name, labels: { ...labels }, value });
      },
      set(name, labels, value) {
        recorded.gauges.push({ name, labels: { ...labels }, value });
      },
      observe(name, labels, value) {
        recorded.observations.push({ name, labels: { ...labels }, value });
      },
    },
    log: createLogger({ level: 'debug', write: (line) => recorded.logs.push(line) }),
  };
  return { ctx, ...recorded };
}
