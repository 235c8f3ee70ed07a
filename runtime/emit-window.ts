import { defaultEmitWindow, type Transferable } from './actor.ts';

export type EmitSender = (
  channel: string,
  payload: unknown,
  transfer?: readonly Transferable[],
) => Promise<void>;

interface Waiting {
  channel: string;
  payload: unknown;
  transfer: readonly Transferable[] | undefined;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Credit window for an actor's outputs: at most `size` emits are unacknowledged at once;
 * further emits wait their turn (in order) until an acknowledgement frees a slot.
 *
 * Threading model: owned by the actor's thread. `send` resolves when the receiving
 * handler accepted the output (across threads: when its ack came back).
 * An emit that fails is remembered so the cell can fail the hook that produced it even
 * if the actor did not await the promise.
 */
export class EmitWindow {
  private readonly size: number;
  private readonly send: EmitSender;
  private unacknowledged = 0;
  private waiting: Waiting[] = [];
  private idleWaiters: Array<() => void> = [];
  private failure: { error: unknown } | undefined;

  constructor(send: EmitSender, size = defaultEmitWindow) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`emit window must be ≥ 1, got ${size}`);
    this.send = send;
    this.size = size;
  }

  get inFlight(): number {
    return this.unacknowledged;
  }

  /** Emits queued behind a full window. */
  get queued(): number {
    return this.waiting.length;
  }

  emit(channel: string, payload: unknown, transfer?: readonly Transferable[]): Promise<void> {
    const promise = new Promise<void>((resolve, reject) => {
      this.waiting.push({ channel, payload, transfer, resolve, reject });
    });
    promise.catch(() => {});
    this.pump();
    return promise;
  }

  /** The first failure since the last call, if any (and forgets it). */
  takeFailure(): { error: unknown } | undefined {
    const failure = this.failure;
    this.failure = undefined;
    return failure;
  }

  /** Resolves once nothing waits behind the window (the next hook may run). */
  whenNotQueued(): Promise<void> {
    return this.until(() => this.waiting.length === 0);
  }

  /** Resolves once every emit has been acknowledged. */
  whenIdle(): Promise<void> {
    return this.until(() => this.waiting.length === 0 && this.unacknowledged === 0);
  }

  private until(condition: () => boolean): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (condition()) resolve();
        else this.idleWaiters.push(check);
      };
      this.idleWaiters.push(check);
    });
  }

  private pump(): void {
    while (this.unacknowledged < this.size && this.waiting.length > 0) {
      const next = this.waiting.shift()!;
      this.unacknowledged++;
      let sent: Promise<void>;
      try {
        sent = this.send(next.channel, next.payload, next.transfer);
      } catch (error) {
        sent = Promise.reject(error);
      }
      sent.then(
        () => this.settle(next.resolve),
        (error: unknown) => {
          this.failure ??= { error };
          this.settle(() => next.reject(error));
        },
      );
    }
  }

  private settle(finish: () => void): void {
    this.unacknowledged--;
    finish();
    this.pump();
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const check of waiters) check();
  }
}
