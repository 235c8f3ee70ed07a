import type { ActorFactory, ActorRef, EmitHandler, SupervisionPolicy } from './actor.ts';
import { ActorCell } from './actor-cell.ts';
import type { RestartLimitExceededError } from './actor-errors.ts';
import { createLogger, type Logger } from './logger.ts';
import { discardingRecorder, type MetricsRecorder } from './metrics-recorder.ts';

export interface SpawnLocalOptions<C, M> {
  name: string;
  factory: ActorFactory<C, M>;
  config: C;
  capacity: number;
  supervision: SupervisionPolicy;
  /** Receives the actor's emits; the actor's emit resolves when this returns/resolves. */
  onEmit: EmitHandler;
  /** The restart budget was exhausted: stop the process with this error. */
  onFatal: (error: RestartLimitExceededError) => void;
  /** Usually the process's `Metrics`; without it restarts and depth are not recorded. */
  metrics?: MetricsRecorder;
  log?: Logger;
  emitWindow?: number;
}

/**
 * Spawns an actor on the calling (main) thread — where sinks live — and returns its ref
 * once the first incarnation has started. Messages are passed by reference, never copied.
 */
export async function spawnLocal<C, M>(options: SpawnLocalOptions<C, M>): Promise<ActorRef<M>> {
  const { onEmit } = options;
  const cell = new ActorCell<C, M>({
    name: options.name,
    factory: options.factory,
    config: options.config,
    capacity: options.capacity,
    supervision: options.supervision,
    emit: async (channel, payload) => {
      await onEmit(channel, payload);
    },
    emitWindow: options.emitWindow,
    metrics: options.metrics ?? discardingRecorder,
    log: (options.log ?? createLogger()).child({ actor: options.name }),
    onFatal: options.onFatal,
  });
  await cell.start();
  return {
    name: options.name,
    tell: (message) => cell.tell(message),
    ask: <R>(kind: string, payload?: unknown) => cell.ask(kind, payload) as Promise<R>,
    get depth() {
      return cell.depth;
    },
    stop: () => cell.stop(),
  };
}
