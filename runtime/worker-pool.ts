import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import {
  type ActorRef,
  defaultEmitWindow,
  type EmitHandler,
  type SupervisionPolicy,
  type Transferable,
} from './actor.ts';
import { ActorSpawnError, describeError, RemoteError, WorkerFailedError } from './actor-errors.ts';
import { createLogger, type Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import { RemoteActorRef } from './remote-actor-ref.ts';
import type { FromWorker, ToWorker, WorkerBootData } from './worker-protocol.ts';

export interface WorkerPoolOptions {
  /** Worker threads; one per core by default. */
  size?: number;
  supervision: SupervisionPolicy;
  /** An actor exhausted its restarts, or a worker died: the process must stop. Called once per failure. */
  onFatal(error: Error): void;
  /** Registry that receives the workers' metric batches. */
  metrics?: Metrics;
  emitWindow?: number;
  log?: Logger;
}

export interface SpawnOptions<C = unknown> {
  /** Index of the worker (0 ≤ worker < size) the actor is pinned to for life. */
  worker: number;
  name: string;
  /** Absolute path or file URL of the module exporting the factory. */
  module: string;
  /** Name of the factory export, e.g. 'createPartitionActor'. */
  exportName: string;
  /** Structured-cloneable configuration passed to the factory. */
  config: C;
  capacity: number;
  onEmit: EmitHandler;
}

interface Slot {
  index: number;
  worker: Worker;
  refs: Map<number, RemoteActorRef>;
  spawns: Map<number, { ref: RemoteActorRef; resolve: () => void; reject: (error: Error) => void }>;
  failed: boolean;
}

/**
 * A fixed pool of worker threads hosting actors (see `worker-host.ts`).
 *
 * Threading model: this object lives on the main thread. Each actor is pinned to the
 * worker it was spawned on; its state never crosses threads.
 * Life cycle: `start()` boots the workers → `spawn()` actors → `stop()` stops every actor
 * gracefully (drain, actor.stop, emits acknowledged, metrics flushed), then terminates the
 * workers; `terminate()` ends them at once. An uncaught error or unexpected exit of a worker
 * fails its actors and is reported through `onFatal` as `WorkerFailedError`.
 */
export class WorkerPool {
  readonly size: number;
  private readonly options: WorkerPoolOptions;
  private readonly log: Logger;
  private slots: Slot[] = [];
  private actorSeq = 0;
  private terminating = false;

  constructor(options: WorkerPoolOptions) {
    this.options = options;
    this.size = options.size ?? availableParallelism();
    if (!Number.isInteger(this.size) || this.size < 1)
      throw new RangeError(`pool size must be ≥ 1, got ${this.size}`);
    this.log = options.log ?? createLogger();
  }

  /** Boots every worker; resolves once each has loaded the host. */
  async start(): Promise<void> {
    if (this.slots.length > 0) throw new Error('worker pool already started');
    const booting: Promise<void>[] = [];
    for (let index = 0; index < this.size; index++) {
      const boot: WorkerBootData = { index };
      const worker = new Worker(new URL('./worker-entry.js', import.meta.url), { workerData: boot });
      const slot: Slot = { index, worker, refs: new Map(), spawns: new Map(), failed: false };
      this.slots.push(slot);
      booting.push(
        new Promise((resolve, reject) => {
          const onBootError = (error: unknown) =>
            reject(new WorkerFailedError(index, 'failed to boot', error));
          worker.once('error', onBootError);
          worker.on('message', (message: FromWorker) => {
            if (message.type === 'ready') {
              worker.off('error', onBootError);
              resolve();
            } else this.dispatch(slot, message);
          });
        }),
      );
      worker.on('error', (error) =>
        this.workerFailed(slot, `uncaught error: ${describeError(error)}`, error),
      );
      worker.on('messageerror', (error) =>
        this.workerFailed(slot, `unreadable message: ${error.message}`, error),
      );
      worker.on('exit', (code) => {
        if (!this.terminating) this.workerFailed(slot, `exited unexpectedly with code ${code}`);
      });
    }
    await Promise.all(booting);
  }

  /** Spawns an actor on the given worker; resolves once its first incarnation has started. */
  spawn<M = unknown, C = unknown>(options: SpawnOptions<C>): Promise<ActorRef<M>> {
    const slot = this.slots[options.worker];
    if (!slot) {
      return Promise.reject(
        new ActorSpawnError(options.name, `no worker ${options.worker} in a pool of ${this.slots.length}`),
      );
    }
    if (slot.failed)
      return Promise.reject(new ActorSpawnError(options.name, `worker ${slot.index} has failed`));
    const actorId = ++this.actorSeq;
    const ref = new RemoteActorRef<M>({
      name: options.name,
      actorId,
      capacity: options.capacity,
      post: (message, transfer) => this.post(slot, message, transfer),
      onEmit: options.onEmit,
    });
    return new Promise((resolve, reject) => {
      slot.spawns.set(actorId, { ref: ref as RemoteActorRef, resolve: () => resolve(ref), reject });
      // Registered at once: an actor may emit (and be answered) while its start hook runs.
      slot.refs.set(actorId, ref as RemoteActorRef);
      this.post(slot, {
        type: 'spawn',
        actorId,
        name: options.name,
        module: options.module,
        exportName: options.exportName,
        config: options.config,
        capacity: options.capacity,
        supervision: this.options.supervision,
        emitWindow: this.options.emitWindow ?? defaultEmitWindow,
      });
    });
  }

  /** Stops every actor gracefully, then terminates the workers. Rejects with the first stop failure. */
  async stop(): Promise<void> {
    const refs = this.slots.flatMap((slot) => [...slot.refs.values()]);
    const results = await Promise.allSettled(refs.map((ref) => ref.stop()));
    await this.terminate();
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw (failure as PromiseRejectedResult).reason;
  }

  /** Ends every worker at once; whatever was in flight is lost. */
  async terminate(): Promise<void> {
    this.terminating = true;
    const error = new WorkerFailedError(-1, 'pool terminated');
    for (const slot of this.slots) for (const ref of slot.refs.values()) ref.fail(error);
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  private post(slot: Slot, message: ToWorker, transfer?: readonly Transferable[]): void {
    slot.worker.postMessage(message, transfer as Transferable[] | undefined);
  }

  private dispatch(slot: Slot, message: FromWorker): void {
    if (message.type === 'metrics') {
      this.options.metrics?.apply(message.batch);
      return;
    }
    if (message.type === 'ready') return;
    if (message.type === 'spawned' || message.type === 'spawn-failed') {
      const spawn = slot.spawns.get(message.actorId);
      slot.spawns.delete(message.actorId);
      if (!spawn) return;
      if (message.type === 'spawned') spawn.resolve();
      else {
        slot.refs.delete(message.actorId);
        spawn.reject(new RemoteError(message.error));
      }
      return;
    }
    const ref = slot.refs.get(message.actorId);
    if (!ref) return;
    switch (message.type) {
      case 'credit':
        ref.handleCredit(message.count);
        return;
      case 'reply':
        ref.handleReply(message.requestId, message.value);
        return;
      case 'reply-error':
        ref.handleReply(message.requestId, undefined, message.error);
        return;
      case 'emit':
        ref.handleEmit(message.seq, message.channel, message.payload);
        return;
      case 'stopped':
        slot.refs.delete(message.actorId);
        ref.handleStopped(message.error);
        return;
      case 'fatal': {
        const error = new RemoteError(message.error);
        slot.refs.delete(message.actorId);
        ref.fail(error);
        this.log.error('actor failed permanently', { actor: ref.name, error: error.message });
        this.options.onFatal(error);
        return;
      }
    }
  }

  private workerFailed(slot: Slot, reason: string, cause?: unknown): void {
    if (slot.failed) return;
    slot.failed = true;
    const error = new WorkerFailedError(slot.index, reason, cause);
    for (const ref of slot.refs.values()) ref.fail(error);
    for (const spawn of slot.spawns.values()) spawn.reject(error);
    slot.refs.clear();
    slot.spawns.clear();
    this.log.error('worker failed', { worker: slot.index, reason });
    this.options.onFatal(error);
  }
}
