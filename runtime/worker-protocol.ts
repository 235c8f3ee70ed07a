import type { SupervisionPolicy } from './actor.ts';
import type { SerializedError } from './actor-errors.ts';
import type { MetricsBatch } from './metrics-recorder.ts';

/**
 * Messages between the main thread and a worker host. Each carries a batch (a tell is one
 * batch message), never a single event, and buffers travel in transfer lists.
 *
 * Flow control: a `tell` is posted only against a credit; the worker returns one credit
 * per message taken from the mailbox. An `emit` is posted only inside the actor's emit
 * window and answered by `emit-ack`. Neither postMessage backlog can grow without bound.
 */
export type ToWorker =
  | {
      type: 'spawn';
      actorId: number;
      name: string;
      module: string;
      exportName: string;
      config: unknown;
      capacity: number;
      supervision: SupervisionPolicy;
      emitWindow: number;
    }
  | { type: 'tell'; actorId: number; message: unknown }
  | { type: 'ask'; actorId: number; requestId: number; kind: string; payload: unknown }
  | { type: 'emit-ack'; actorId: number; seq: number; error?: SerializedError }
  | { type: 'stop'; actorId: number };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'spawned'; actorId: number }
  | { type: 'spawn-failed'; actorId: number; error: SerializedError }
  | { type: 'credit'; actorId: number; count: number }
  | { type: 'reply'; actorId: number; requestId: number; value: unknown }
  | { type: 'reply-error'; actorId: number; requestId: number; error: SerializedError }
  | { type: 'emit'; actorId: number; seq: number; channel: string; payload: unknown }
  | { type: 'stopped'; actorId: number; error?: SerializedError }
  | { type: 'fatal'; actorId: number; error: SerializedError }
  | { type: 'metrics'; batch: MetricsBatch };

/** What the main thread passes in `workerData`. */
export interface WorkerBootData {
  index: number;
}
