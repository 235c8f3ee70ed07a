import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import type { ActorFactory, Transferable } from './actor.ts';
import { ActorCell } from './actor-cell.ts';
import { ActorSpawnError, RemoteError, serializeError } from './actor-errors.ts';
import { createLogger } from './logger.ts';
import { BatchingRecorder } from './metrics-recorder.ts';
import type { FromWorker, ToWorker, WorkerBootData } from './worker-protocol.ts';

/**
 * The worker side of the pool: hosts the actor cells pinned to this thread and speaks
 * `worker-protocol.ts` with the main thread.
 *
 * Threading model: everything runs on this worker's thread; cells are never shared.
 * Life cycle: posts `ready` once loaded; cells are spawned and stopped on request; the
 * main thread terminates the worker after every cell reported `stopped`.
 * Metrics recorded by actors here are batched and flushed every 250 ms and before each
 * `stopped` reply, so the main registry is complete once a stop resolves.
 */
if (!parentPort) throw new Error('worker-host.ts runs only inside a worker thread');
const port = parentPort;
const boot = workerData as WorkerBootData;
const log = createLogger().child({ worker: boot.index });
const cells = new Map<number, ActorCell>();
const emitAcks = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
let emitSeq = 0;

function post(message: FromWorker, transfer?: readonly Transferable[]): void {
  port.postMessage(message, transfer as Transferable[] | undefined);
}

const recorder = new BatchingRecorder((batch) => post({ type: 'metrics', batch }));
setInterval(() => recorder.flush(), 250).unref();

async function spawn(message: Extract<ToWorker, { type: 'spawn' }>): Promise<void> {
  const { actorId, name } = message;
  try {
    const url = message.module.startsWith('file:') ? message.module : pathToFileURL(message.module).href;
    const loaded = (await import(url)) as Record<string, unknown>;
    const factory = loaded[message.exportName];
    if (typeof factory !== 'function') {
      throw new ActorSpawnError(
        name,
        `module ${message.module} has no function export ${message.exportName}`,
      );
    }
    const cell = new ActorCell({
      name,
      factory: factory as ActorFactory,
      config: message.config,
      capacity: message.capacity,
      supervision: message.supervision,
      emitWindow: message.emitWindow,
      emit: (channel, payload, transfer) =>
        new Promise<void>((resolve, reject) => {
          const seq = ++emitSeq;
          emitAcks.set(seq, { resolve, reject });
          post({ type: 'emit', actorId, seq, channel, payload }, transfer);
        }),
      metrics: recorder,
      log: log.child({ actor: name }),
      onFatal: (error) => {
        recorder.flush();
        post({ type: 'fatal', actorId, error: serializeError(error) });
      },
      onMessageTaken: () => post({ type: 'credit', actorId, count: 1 }),
    });
    await cell.start();
    cells.set(actorId, cell);
    post({ type: 'spawned', actorId });
  } catch (error) {
    post({ type: 'spawn-failed', actorId, error: serializeError(error) });
  }
}

function reply(actorId: number, requestId: number, value: unknown): void {
  try {
    post({ type: 'reply', actorId, requestId, value });
  } catch (error) {
    post({ type: 'reply-error', actorId, requestId, error: serializeError(error) });
  }
}

function handle(message: ToWorker): void {
  switch (message.type) {
    case 'spawn':
      void spawn(message);
      return;
    case 'tell': {
      const cell = cells.get(message.actorId);
      if (!cell) return;
      // Credit guarantees room; a refusal means the cell is stopping or failed, which the
      // main thread already knows from `stopped`/`fatal`.
      if (!cell.offer(message.message)) log.warn('message refused by a closed mailbox', { actor: cell.name });
      return;
    }
    case 'ask': {
      const { actorId, requestId } = message;
      const cell = cells.get(actorId);
      if (!cell) return;
      cell.ask(message.kind, message.payload).then(
        (value) => reply(actorId, requestId, value),
        (error: unknown) => post({ type: 'reply-error', actorId, requestId, error: serializeError(error) }),
      );
      return;
    }
    case 'emit-ack': {
      const pending = emitAcks.get(message.seq);
      emitAcks.delete(message.seq);
      if (message.error) pending?.reject(new RemoteError(message.error));
      else pending?.resolve();
      return;
    }
    case 'stop': {
      const { actorId } = message;
      const cell = cells.get(actorId);
      const finish = (error?: unknown) => {
        cells.delete(actorId);
        recorder.flush();
        post({ type: 'stopped', actorId, error: error === undefined ? undefined : serializeError(error) });
      };
      if (!cell) finish();
      else cell.stop().then(() => finish(), finish);
      return;
    }
  }
}

port.on('message', handle);
post({ type: 'ready' });
