import type { Actor, ActorContext, ActorFactory, SupervisionPolicy } from './actor.ts';
import {
  ActorSpawnError,
  ActorUnavailableError,
  describeError,
  RestartLimitExceededError,
} from './actor-errors.ts';
import { type EmitSender, EmitWindow } from './emit-window.ts';
import type { Logger } from './logger.ts';
import { Mailbox } from './mailbox.ts';
import type { MetricsRecorder } from './metrics-recorder.ts';
import { RestartBudget } from './restart-budget.ts';

type Mail<M> =
  | { kind: 'message'; message: M }
  | { kind: 'timer'; tag: string; id: number }
  | {
      kind: 'request';
      request: string;
      payload: unknown;
      resolve: (value: unknown) => void;
      reject: (error: unknown) => void;
    };

export type CellState = 'NEW' | 'RUNNING' | 'STOPPING' | 'STOPPED' | 'FAILED';

export interface ActorCellOptions<C, M> {
  name: string;
  factory: ActorFactory<C, M>;
  config: C;
  /** Mailbox capacity in (batch) messages. */
  capacity: number;
  supervision: SupervisionPolicy;
  /** Delivers an output to its handler; resolves on acknowledgement. */
  emit: EmitSender;
  emitWindow?: number;
  metrics: MetricsRecorder;
  log: Logger;
  /** Called once when the restart budget is exhausted; the cell is then FAILED for good. */
  onFatal: (error: RestartLimitExceededError) => void;
  /** Called each time an ordinary message leaves the mailbox (cross-thread hosts return a credit). */
  onMessageTaken?: () => void;
  /** When true nothing runs by itself: tests drive the cell with `runStep()`. */
  manual?: boolean;
  now?: () => number;
}

/**
 * Runs one actor over its bounded mailbox, one item at a time, and supervises it.
 *
 * Threading model: everything here runs on the thread that created the cell; hooks are
 * awaited one after another, so the actor never sees concurrent calls. Timers do not call
 * the actor directly: they enqueue a control item, so they are ordered with messages.
 *
 * Life cycle: NEW → RUNNING (`start`) → STOPPING (`stop`: mailbox QUIESCED, drain, then
 * `actor.stop`, then wait for every emit to be acknowledged) → STOPPED. From RUNNING or
 * STOPPING the cell goes to FAILED when its restart budget is exhausted.
 *
 * Supervision: when a hook throws, the failing item is reported (logged; an ask is
 * rejected with the error) and NOT retried. The incarnation is discarded with its timers,
 * the factory is called again with `restarts` + 1 and `lastError`, the new actor is
 * started, and processing continues with the next item. The actor restores its last state
 * in its factory or `start` (e.g. from its last checkpoint, replaying its source from
 * there, which re-delivers the failing input in order). More than `maxRestarts` failures
 * within `withinMs` raise `RestartLimitExceededError` through `onFatal`: the process must
 * stop rather than loop.
 */
export class ActorCell<C = unknown, M = unknown> {
  readonly name: string;
  private readonly options: ActorCellOptions<C, M>;
  private readonly mailbox: Mailbox<Mail<M>>;
  private readonly emits: EmitWindow;
  private readonly budget: RestartBudget;
  private readonly context: ActorContext;
  private readonly timers = new Map<string, { id: number; cancel: () => void }>();
  private readonly now: () => number;
  private actor: Actor<M> | undefined;
  private current: CellState = 'NEW';
  private restartCount = 0;
  private timerSeq = 0;
  private loopDone: Promise<void> = Promise.resolve();
  private stopping: Promise<void> | undefined;

  constructor(options: ActorCellOptions<C, M>) {
    this.options = options;
    this.name = options.name;
    this.now = options.now ?? Date.now;
    const onTaken = options.onMessageTaken;
    this.mailbox = new Mailbox(options.name, options.capacity, (control) => {
      if (!control) onTaken?.();
    });
    this.emits = new EmitWindow(options.emit, options.emitWindow);
    this.budget = new RestartBudget(options.supervision);
    this.context = {
      name: options.name,
      emit: (channel, payload, transfer) => this.emits.emit(channel, payload, transfer),
      setTimer: (tag, delayMs) => this.setTimer(tag, delayMs),
      cancelTimer: (tag) => this.cancelTimer(tag),
      metrics: options.metrics,
      log: options.log,
    };
  }

  get state(): CellState {
    return this.current;
  }

  get depth(): number {
    return this.mailbox.depth;
  }

  get restarts(): number {
    return this.restartCount;
  }

  /** Creates and starts the first incarnation; a failure here is a spawn error, not supervised. */
  async start(): Promise<void> {
    if (this.current !== 'NEW') throw new ActorUnavailableError(this.name, this.current);
    try {
      this.actor = await this.incarnate(undefined);
    } catch (error) {
      this.current = 'FAILED';
      this.mailbox.close();
      throw new ActorSpawnError(this.name, describeError(error), error);
    }
    this.current = 'RUNNING';
    if (!this.options.manual) this.loopDone = this.loop();
  }

  /** Resolves once the message is accepted; waits while the mailbox is full. */
  async tell(message: M): Promise<void> {
    await this.mailbox.put({ kind: 'message', message });
    this.recordDepth();
  }

  /** Accepts the message only if there is room now. */
  offer(message: M): boolean {
    const accepted = this.mailbox.offer({ kind: 'message', message });
    if (accepted) this.recordDepth();
    return accepted;
  }

  /** Ordered with messages, not blocked by capacity; resolves with the actor's reply. */
  ask(request: string, payload?: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.mailbox.state !== 'OPEN') {
        reject(new ActorUnavailableError(this.name, this.current));
        return;
      }
      this.mailbox.putControl({ kind: 'request', request, payload, resolve, reject });
    });
  }

  /** Processes one mailbox item if there is one (manual mode); false when the mailbox is empty. */
  async runStep(): Promise<boolean> {
    if (this.current === 'FAILED') return false;
    const mail = this.mailbox.tryTake();
    if (mail === undefined) return false;
    await this.process(mail);
    return true;
  }

  /** Graceful stop: accept nothing new, drain, `actor.stop`, wait for emits to be acknowledged. */
  stop(): Promise<void> {
    this.stopping ??= this.drainAndStop();
    return this.stopping;
  }

  private async drainAndStop(): Promise<void> {
    if (this.current === 'FAILED' || this.current === 'STOPPED') return;
    const wasStarted = this.current === 'RUNNING';
    this.current = 'STOPPING';
    this.cancelAllTimers();
    this.mailbox.quiesce();
    if (!wasStarted) {
      this.mailbox.close();
      this.current = 'STOPPED';
      return;
    }
    if (this.options.manual) while (await this.runStep());
    else await this.loopDone;
    if ((this.current as CellState) === 'FAILED') return;
    try {
      await this.actor?.stop?.(this.context);
      await this.emits.whenIdle();
    } finally {
      this.mailbox.close();
      this.current = 'STOPPED';
      this.recordDepth();
    }
  }

  private async loop(): Promise<void> {
    for (;;) {
      const mail = await this.mailbox.take();
      if (mail === undefined || this.current === 'FAILED') return;
      await this.process(mail);
    }
  }

  private async process(mail: Mail<M>): Promise<void> {
    const actor = this.actor!;
    try {
      let reply: unknown;
      if (mail.kind === 'message') await actor.receive?.(mail.message, this.context);
      else if (mail.kind === 'timer') {
        if (this.timers.get(mail.tag)?.id !== mail.id) return;
        this.timers.delete(mail.tag);
        await actor.timer?.(mail.tag, this.context);
      } else reply = await actor.request?.(mail.request, mail.payload, this.context);
      const emitFailure = this.emits.takeFailure();
      if (emitFailure) throw emitFailure.error;
      if (mail.kind === 'request') mail.resolve(reply);
    } catch (error) {
      if (mail.kind === 'request') mail.reject(error);
      await this.recover(error, mail.kind);
    }
    await this.emits.whenNotQueued();
    this.recordDepth();
  }

  private async recover(error: unknown, during: Mail<M>['kind']): Promise<void> {
    let lastError = error;
    for (;;) {
      const { failures, allowed } = this.budget.recordFailure(this.now());
      if (!allowed) {
        this.fail(
          new RestartLimitExceededError(this.name, failures, this.options.supervision.withinMs, lastError),
        );
        return;
      }
      this.options.log.error('actor failed; restarting it', {
        actor: this.name,
        during,
        error: describeError(lastError),
        restarts: this.restartCount + 1,
      });
      this.cancelAllTimers();
      this.restartCount++;
      this.options.metrics.inc('sluice_actor_restarts_total', { actor: this.name });
      try {
        this.actor = await this.incarnate(lastError);
        return;
      } catch (restartError) {
        lastError = restartError;
      }
    }
  }

  private async incarnate(lastError: unknown): Promise<Actor<M>> {
    const info = { name: this.name, restarts: this.restartCount, lastError };
    const actor = await this.options.factory(this.options.config, info);
    await actor.start?.(this.context);
    return actor;
  }

  private fail(error: RestartLimitExceededError): void {
    this.current = 'FAILED';
    this.cancelAllTimers();
    for (const mail of this.mailbox.close()) if (mail.kind === 'request') mail.reject(error);
    this.recordDepth();
    this.options.log.error('actor exceeded its restart limit', { actor: this.name, error: error.message });
    this.options.onFatal(error);
  }

  private setTimer(tag: string, delayMs: number): void {
    this.cancelTimer(tag);
    if (this.current !== 'RUNNING' && this.current !== 'NEW') return;
    const id = ++this.timerSeq;
    const fire = () => {
      if (this.mailbox.state === 'OPEN') this.mailbox.putControl({ kind: 'timer', tag, id });
    };
    // setTimeout(0) waits at least 1 ms; an actor that reschedules itself at once (a
    // generator running flat out) would spend most of its time asleep.
    if (delayMs <= 0) {
      const immediate = setImmediate(fire);
      this.timers.set(tag, { id, cancel: () => clearImmediate(immediate) });
    } else {
      const timeout = setTimeout(fire, delayMs);
      this.timers.set(tag, { id, cancel: () => clearTimeout(timeout) });
    }
  }

  private cancelTimer(tag: string): void {
    const timer = this.timers.get(tag);
    if (!timer) return;
    timer.cancel();
    this.timers.delete(tag);
  }

  private cancelAllTimers(): void {
    for (const tag of [...this.timers.keys()]) this.cancelTimer(tag);
  }

  private recordDepth(): void {
    this.options.metrics.set('sluice_mailbox_depth', { actor: this.name }, this.mailbox.depth);
  }
}
