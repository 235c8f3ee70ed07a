import type { ActorRef, EmitHandler, Transferable } from './actor.ts';
import { ActorUnavailableError, RemoteError, type SerializedError, serializeError } from './actor-errors.ts';
import type { ToWorker } from './worker-protocol.ts';

type Post = (message: ToWorker, transfer?: readonly Transferable[]) => void;

interface WaitingTell {
  message: unknown;
  transfer: readonly Transferable[] | undefined;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * The main thread's handle on an actor living in a worker.
 *
 * Threading model: main thread only; the worker side is reached through `post`.
 * Back-pressure is credit based: the ref starts with `capacity` credits (the worker
 * mailbox's size), spends one per posted tell and gets one back per message the worker
 * takes from the mailbox. Without credit, `tell` waits here, so the worker's mailbox never
 * overflows and the postMessage queue never holds more than `capacity` tells.
 *
 * Life cycle: OPEN → STOPPING (`stop()`: tells waiting for credit are rejected, the worker
 * drains what was posted) → STOPPED; or FAILED when the actor or its worker died.
 */
export class RemoteActorRef<M = unknown> implements ActorRef<M> {
  readonly name: string;
  readonly actorId: number;
  private readonly capacity: number;
  private readonly post: Post;
  private readonly onEmit: EmitHandler;
  private credits: number;
  private waiting: WaitingTell[] = [];
  private requests = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private requestSeq = 0;
  private state: 'OPEN' | 'STOPPING' | 'STOPPED' | 'FAILED' = 'OPEN';
  private stopped:
    | { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void }
    | undefined;
  private failure: Error | undefined;

  constructor(options: { name: string; actorId: number; capacity: number; post: Post; onEmit: EmitHandler }) {
    this.name = options.name;
    this.actorId = options.actorId;
    this.capacity = options.capacity;
    this.credits = options.capacity;
    this.post = options.post;
    this.onEmit = options.onEmit;
  }

  /** Messages posted whose credit has not come back, plus tells waiting for credit. */
  get depth(): number {
    return this.capacity - this.credits + this.waiting.length;
  }

  tell(message: M, transfer?: readonly Transferable[]): Promise<void> {
    if (this.state !== 'OPEN') return Promise.reject(this.unavailable());
    if (this.credits > 0 && this.waiting.length === 0) {
      this.send(message, transfer);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.waiting.push({ message, transfer, resolve, reject }));
  }

  ask<R = unknown>(kind: string, payload?: unknown): Promise<R> {
    if (this.state !== 'OPEN') return Promise.reject(this.unavailable());
    const requestId = ++this.requestSeq;
    return new Promise<R>((resolve, reject) => {
      this.requests.set(requestId, { resolve: resolve as (value: unknown) => void, reject });
      this.post({ type: 'ask', actorId: this.actorId, requestId, kind, payload });
    });
  }

  stop(): Promise<void> {
    if (this.state === 'FAILED') return Promise.resolve();
    if (!this.stopped) {
      let resolve!: () => void;
      let reject!: (error: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.stopped = { promise, resolve, reject };
      this.state = 'STOPPING';
      this.rejectWaiting(this.unavailable());
      this.post({ type: 'stop', actorId: this.actorId });
    }
    return this.stopped.promise;
  }

  /** The worker took `count` messages out of the mailbox. */
  handleCredit(count: number): void {
    this.credits += count;
    while (this.credits > 0 && this.waiting.length > 0) {
      const next = this.waiting.shift()!;
      this.send(next.message as M, next.transfer);
      next.resolve();
    }
  }

  handleReply(requestId: number, value: unknown, error?: SerializedError): void {
    const request = this.requests.get(requestId);
    if (!request) return;
    this.requests.delete(requestId);
    if (error) request.reject(new RemoteError(error));
    else request.resolve(value);
  }

  /** Runs the main-thread handler, then acknowledges so the actor's emit window moves on. */
  handleEmit(seq: number, channel: string, payload: unknown): void {
    const ack = (error?: SerializedError) => {
      if (this.state !== 'FAILED') this.post({ type: 'emit-ack', actorId: this.actorId, seq, error });
    };
    Promise.resolve()
      .then(() => this.onEmit(channel, payload))
      .then(
        () => ack(),
        (error: unknown) => ack(serializeError(error)),
      );
  }

  handleStopped(error?: SerializedError): void {
    this.state = 'STOPPED';
    this.rejectRequests(this.unavailable());
    if (error) this.stopped?.reject(new RemoteError(error));
    else this.stopped?.resolve();
  }

  /** The actor or its worker is gone: everything pending fails with `error`. */
  fail(error: Error): void {
    if (this.state === 'FAILED' || this.state === 'STOPPED') return;
    this.state = 'FAILED';
    this.failure = error;
    this.rejectWaiting(error);
    this.rejectRequests(error);
    this.stopped?.resolve();
  }

  private send(message: M, transfer: readonly Transferable[] | undefined): void {
    this.credits--;
    this.post({ type: 'tell', actorId: this.actorId, message }, transfer);
  }

  private unavailable(): Error {
    return this.failure ?? new ActorUnavailableError(this.name, this.state);
  }

  private rejectWaiting(error: Error): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const tell of waiting) tell.reject(error);
  }

  private rejectRequests(error: Error): void {
    const requests = this.requests;
    this.requests = new Map();
    for (const request of requests.values()) request.reject(error);
  }
}
