import { SluiceError } from './errors.ts';

/**
 * Error catalogue of the actor runtime. Every error carries a stable `code` and a
 * `retriable` flag (from the root `SluiceError`) so callers decide on codes, never on
 * message text.
 */
export class ActorRuntimeError extends SluiceError {}

/** A message was offered to a mailbox that no longer accepts it (quiesced or closed). */
export class MailboxClosedError extends ActorRuntimeError {
  constructor(mailbox: string, state: string) {
    super('SLUICE_ERR_MAILBOX_CLOSED', `mailbox of ${mailbox} is ${state} and accepts no new messages`);
  }
}

/** An actor failed more often than its supervision policy allows; the process must stop. */
export class RestartLimitExceededError extends ActorRuntimeError {
  readonly actor: string;
  readonly restarts: number;
  readonly withinMs: number;

  constructor(actor: string, failures: number, withinMs: number, lastError: unknown) {
    super(
      'SLUICE_ERR_RESTART_LIMIT_EXCEEDED',
      `actor ${actor} failed ${failures} times within ${withinMs} ms, more than its supervision allows; ` +
        `last error: ${describeError(lastError)}`,
      { cause: lastError },
    );
    this.actor = actor;
    this.restarts = failures;
    this.withinMs = withinMs;
  }
}

/** A worker thread died outside actor supervision (uncaught error or unexpected exit). */
export class WorkerFailedError extends ActorRuntimeError {
  readonly worker: number;

  constructor(worker: number, reason: string, cause?: unknown) {
    super('SLUICE_ERR_WORKER_FAILED', `worker ${worker} failed: ${reason}`, { cause });
    this.worker = worker;
  }
}

/** The actor is stopping, stopped or failed, so the request cannot be served. */
export class ActorUnavailableError extends ActorRuntimeError {
  constructor(actor: string, state: string) {
    super('SLUICE_ERR_ACTOR_UNAVAILABLE', `actor ${actor} is ${state}`);
  }
}

/** Spawning an actor failed: its module, factory export or first start threw. */
export class ActorSpawnError extends ActorRuntimeError {
  constructor(actor: string, reason: string, cause?: unknown) {
    super('SLUICE_ERR_ACTOR_SPAWN', `cannot spawn actor ${actor}: ${reason}`, { cause });
  }
}

/** An error raised in another thread, rebuilt on this side with its name, code and stack. */
export class RemoteError extends ActorRuntimeError {
  constructor(serialized: SerializedError) {
    super(serialized.code ?? 'SLUICE_ERR_REMOTE', serialized.message, {
      retriable: serialized.retriable ?? false,
    });
    this.name = serialized.name;
    if (serialized.stack) this.stack = serialized.stack;
  }
}

/** A metric name that is not in the catalogue or was registered twice. */
export class MetricError extends ActorRuntimeError {
  constructor(message: string) {
    super('SLUICE_ERR_METRIC', message);
  }
}

/** Plain-data form of an error, for postMessage (structured clone drops custom fields). */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  retriable?: boolean;
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const fields = error as Error & { code?: unknown; retriable?: unknown };
    return {
      name: error.name,
      message: error.message,
      stack: error.stack,
      code: typeof fields.code === 'string' ? fields.code : undefined,
      retriable: typeof fields.retriable === 'boolean' ? fields.retriable : undefined,
    };
  }
  return { name: 'Error', message: describeError(error) };
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
