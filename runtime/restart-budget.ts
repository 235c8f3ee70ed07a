import type { SupervisionPolicy } from './actor.ts';

/**
 * Pure sliding-window count of failures for one actor: more than `maxRestarts` failures
 * within `withinMs` exhausts the budget. The clock is passed in, so tests need no timers.
 */
export class RestartBudget {
  private readonly policy: SupervisionPolicy;
  private failures: number[] = [];

  constructor(policy: SupervisionPolicy) {
    if (!Number.isInteger(policy.maxRestarts) || policy.maxRestarts < 0) {
      throw new RangeError(`maxRestarts must be a non-negative integer, got ${policy.maxRestarts}`);
    }
    if (!(policy.withinMs > 0)) throw new RangeError(`withinMs must be positive, got ${policy.withinMs}`);
    this.policy = policy;
  }

  /** Records a failure at `now`; returns how many fall in the window and whether a restart is allowed. */
  recordFailure(now: number): { failures: number; allowed: boolean } {
    const horizon = now - this.policy.withinMs;
    this.failures = this.failures.filter((at) => at > horizon);
    this.failures.push(now);
    return { failures: this.failures.length, allowed: this.failures.length <= this.policy.maxRestarts };
  }
}
