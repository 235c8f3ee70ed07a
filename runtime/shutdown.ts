import { runtimeError } from './errors.ts';
import { createLogger, type Logger } from './logger.ts';

export type ShutdownSignal = 'SIGINT' | 'SIGTERM';

const signalExitCode: Record<ShutdownSignal, number> = { SIGINT: 130, SIGTERM: 143 };

export interface ShutdownOptions {
  /** Exit the process with 0 once `graceful` resolved (1 if it threw). Default true. */
  exitWhenDone?: boolean;
  log?: Logger;
  /** Injected in tests; `process.exit` by default. */
  exit?: (code: number) => void;
  /**
   * A graceful step still running this long after the signal exits the process with 1
   * and a one-line SLUICE_ERR_SHUTDOWN_TIMEOUT reason on stderr, whatever `exitWhenDone`
   * says. Absent: no limit.
   */
  timeoutMs?: number;
  /** Names what the graceful step is still waiting for, for that reason line. */
  pending?: () => string;
  /** Where the reason line goes; stderr by default. */
  writeReason?: (line: string) => void;
}

/**
 * Graceful shutdown on SIGINT/SIGTERM: the first signal runs `graceful` (stop sources,
 * drain mailboxes, flush sinks) and then exits 0; a second signal while it runs exits at
 * once with 128 + signal number (130 for SIGINT, 143 for SIGTERM), for the operator who
 * does not want to wait. A graceful step that outlasts `timeoutMs` exits 1 with a reason
 * naming what did not finish: a shutdown never hangs silently. Returns a disposer that
 * removes the handlers.
 *
 * Threading model: main thread only (signals are delivered there).
 */
export function onShutdownSignal(
  graceful: (signal: ShutdownSignal) => Promise<void>,
  options: ShutdownOptions = {},
): () => void {
  const log = options.log ?? createLogger();
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const exitWhenDone = options.exitWhenDone ?? true;
  const writeReason = options.writeReason ?? ((line: string) => process.stderr.write(line));
  let shuttingDown = false;

  const handler = (signal: ShutdownSignal) => {
    if (shuttingDown) {
      log.warn('second signal; exiting at once', { signal });
      exit(signalExitCode[signal]);
      return;
    }
    shuttingDown = true;
    log.info('shutting down gracefully; send the signal again to exit at once', { signal });
    let timer: NodeJS.Timeout | undefined;
    if (options.timeoutMs !== undefined) {
      const timeoutMs = options.timeoutMs;
      timer = setTimeout(() => {
        const pending = options.pending?.() || 'the graceful shutdown step';
        const error = runtimeError('SLUICE_ERR_SHUTDOWN_TIMEOUT', [timeoutMs, pending]);
        writeReason(`sluice: ${error.message}\n`);
        exit(1);
      }, timeoutMs);
    }
    graceful(signal).then(
      () => {
        clearTimeout(timer);
        if (exitWhenDone) exit(0);
      },
      (error: unknown) => {
        clearTimeout(timer);
        log.error('graceful shutdown failed', { error });
        if (exitWhenDone) exit(1);
      },
    );
  };
  const onInt = () => handler('SIGINT');
  const onTerm = () => handler('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return () => {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  };
}
