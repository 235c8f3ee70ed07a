import type { TransferListItem } from 'node:worker_threads';
import type { Logger } from './logger.ts';
import type { MetricsRecorder } from './metrics-recorder.ts';

export type { Logger } from './logger.ts';
export type { MetricsRecorder } from './metrics-recorder.ts';

/** Something moved (not copied) to another thread with a message: ArrayBuffer, MessagePort, … */
export type Transferable = TransferListItem;

/**
 * What an actor sees of the runtime. One context per actor cell; it survives restarts
 * (timers of a failed incarnation are cancelled, emits in flight still complete).
 */
export interface ActorContext {
  readonly name: string;
  /**
   * Send an output to the main thread's handler for this actor (see spawn's onEmit).
   * Resolves when the handler has accepted it; at most `emitWindow` (default 8) emits are
   * unacknowledged at once, so a slow consumer slows the actor.
   */
  emit(channel: string, payload: unknown, transfer?: readonly Transferable[]): Promise<void>;
  /** One-shot; delivers actor.timer(tag) through the mailbox (ordered with messages). Re-setting a tag replaces it. */
  setTimer(tag: string, delayMs: number): void;
  cancelTimer(tag: string): void;
  readonly metrics: MetricsRecorder;
  readonly log: Logger;
}

/**
 * The actor contract. Every hook is optional (a missing hook is a no-op) and may be async;
 * the cell awaits each hook before it takes the next mailbox item, so hooks never overlap.
 * A hook that throws crashes this incarnation of the actor; its supervisor decides.
 */
export interface Actor<M = unknown> {
  start?(ctx: ActorContext): void | Promise<void>;
  /** One batch message. */
  receive?(message: M, ctx: ActorContext): void | Promise<void>;
  timer?(tag: string, ctx: ActorContext): void | Promise<void>;
  /** Ordered with messages; the result is the reply to `ask`. */
  request?(kind: string, payload: unknown, ctx: ActorContext): unknown | Promise<unknown>;
  /** After the mailbox has drained on graceful stop. */
  stop?(ctx: ActorContext): void | Promise<void>;
}

/**
 * Creates an actor incarnation. Called once at spawn (`restarts` 0) and again after every
 * supervised failure with `restarts` incremented and `lastError` set: this is where an actor
 * restores its last state (e.g. its last checkpoint).
 */
export type ActorFactory<C = unknown, M = unknown> = (
  config: C,
  info: { name: string; restarts: number; lastError?: unknown },
) => Actor<M> | Promise<Actor<M>>;

/** A handle on an actor that hides whether it lives on this thread or in a worker. */
export interface ActorRef<M = unknown> {
  readonly name: string;
  /** Resolves when the message is accepted into the bounded mailbox; waits while it is full (credit-based across threads). */
  tell(message: M, transfer?: readonly Transferable[]): Promise<void>;
  /** Ordered with tell(); NOT blocked by capacity (control messages must get through a full mailbox). */
  ask<R = unknown>(kind: string, payload?: unknown): Promise<R>;
  /** Messages accepted and not yet processed. */
  readonly depth: number;
  /** Graceful: stop accepting, drain, call actor.stop, resolve. */
  stop(): Promise<void>;
}

/** More than `maxRestarts` failures within `withinMs` is fatal for the process. */
export interface SupervisionPolicy {
  maxRestarts: number;
  withinMs: number;
}

/** Handler on the main thread for an actor's outputs; its promise is the acknowledgement. */
export type EmitHandler = (channel: string, payload: unknown) => void | Promise<void>;

export const defaultEmitWindow = 8;
