/**
 * The one retry helper of the sinks, in the manner of kafkajs's retrier: it retries only
 * errors flagged `retriable`, waits an exponentially growing, jittered delay between
 * attempts, and wraps exhaustion in its own error (SLUICE_ERR_SINK_RETRIES_EXHAUSTED)
 * that keeps the last failure as its cause. Anything not retriable is rethrown at once.
 *
 * Sinks retry without an attempt limit by default: a target that is down must hold the
 * rows back (and, through the full mailbox, the sources) rather than drop them.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';
import { isRetriable, sinkError } from './batching-errors.ts';

export interface RetryPolicy {
  /** Delay before the first retry. */
  initialDelayMs: number;
  /** Upper bound of any delay. */
  maxDelayMs: number;
  /** Growth of the delay per attempt. */
  multiplier: number;
  /** Attempts in all (the first one included); Infinity retries for ever. */
  maxAttempts: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  initialDelayMs: 100,
  maxDelayMs: 5000,
  multiplier: 2,
  maxAttempts: Number.POSITIVE_INFINITY,
};

export interface RetryHooks {
  /** Called before each wait, for logs and metrics. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Injected in tests: a wait that returns at once, a fixed random. */
  sleep?: (ms: number) => Promise<unknown>;
  random?: () => number;
}

/**
 * The wait before retry number `attempt` (1-based): "full jitter" over an exponential
 * ceiling, so many sinks retrying the same server spread out instead of stampeding.
 * Never below a tenth of the ceiling, so a retry never spins.
 */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** (attempt - 1));
  return Math.round(ceiling * (0.1 + 0.9 * random));
}

/** Runs `operation` until it succeeds, throws a non-retriable error, or runs out of attempts. */
export async function withRetries<T>(
  operationName: string,
  operation: (attempt: number) => Promise<T>,
  policy: RetryPolicy = defaultRetryPolicy,
  hooks: RetryHooks = {},
): Promise<T> {
  const sleep = hooks.sleep ?? sleepFor;
  const random = hooks.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (!isRetriable(error)) throw error;
      if (attempt >= policy.maxAttempts) {
        throw sinkError(
          'SLUICE_ERR_SINK_RETRIES_EXHAUSTED',
          [operationName, attempt, (error as Error).message],
          error,
        );
      }
      const delayMs = backoffDelay(policy, attempt, random());
      hooks.onRetry?.(error, attempt, delayMs);
      await sleep(delayMs);
    }
  }
}
