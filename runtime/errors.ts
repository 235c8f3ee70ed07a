/**
 * Root of every sluice error, and the catalogue of the runtime layer's codes.
 *
 * Callers decide on `code` and `retriable`, never on message text, so codes are
 * stable API: once released a code keeps its meaning. Other layers (actors, state)
 * keep their own catalogue file whose classes extend `SluiceError`.
 */
export class SluiceError extends Error {
  /** Stable identifier, `SLUICE_ERR_<AREA>_<WHAT>`. */
  readonly code: string;
  /** True when the same operation may succeed if tried again (a broker hiccup, not bad config). */
  readonly retriable: boolean;

  constructor(code: string, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/**
 * The runtime layer's codes with their message templates, in the style of fastify's
 * error catalogue. Classes below cover the errors that carry extra fields; the rest
 * are built by `runtimeError(code, ...args)`.
 */
export const RUNTIME_ERRORS = {
  SLUICE_ERR_TOPOLOGY_INVALID: {
    retriable: false,
    message: (file: string, count: number) =>
      `topology ${file} has ${count} problem${count === 1 ? '' : 's'}`,
  },
  SLUICE_ERR_TOPOLOGY_UNREADABLE: {
    retriable: false,
    message: (file: string, reason: string) => `cannot read topology ${file}: ${reason}`,
  },
  SLUICE_ERR_CLI_UNKNOWN_COMMAND: {
    retriable: false,
    message: (command: string, known: string) => `unknown command '${command}'; commands are ${known}`,
  },
  SLUICE_ERR_CLI_COMMAND_UNAVAILABLE: {
    retriable: false,
    message: (command: string) => `command '${command}' is not available in this build`,
  },
  SLUICE_ERR_CLI_ARGUMENT: {
    retriable: false,
    message: (command: string, reason: string) => `${command}: ${reason}`,
  },
  SLUICE_ERR_RESTART_LIMIT_EXCEEDED: {
    retriable: false,
    message: (actor: string, failures: number, withinMs: number) =>
      `actor ${actor} failed ${failures} times within ${withinMs} ms, more than its supervision allows`,
  },
  SLUICE_ERR_ACTOR_FAILED: {
    retriable: false,
    message: (actor: string, reason: string) => `actor ${actor} failed: ${reason}`,
  },
  SLUICE_ERR_SHUTDOWN_TIMEOUT: {
    retriable: false,
    message: (timeoutMs: number, pending: string) =>
      `shutdown did not finish within ${timeoutMs} ms; still busy: ${pending}`,
  },
  SLUICE_ERR_WORKER_FAILED: {
    retriable: false,
    message: (worker: number, reason: string) => `worker ${worker} failed: ${reason}`,
  },
} as const;

export type RuntimeErrorCode = keyof typeof RUNTIME_ERRORS;

type TemplateArgs<Code extends RuntimeErrorCode> = Parameters<(typeof RUNTIME_ERRORS)[Code]['message']>;

/** Builds a `SluiceError` from the catalogue: `runtimeError('SLUICE_ERR_ACTOR_FAILED', ['sink:out', 'EIO'])`. */
export function runtimeError<Code extends RuntimeErrorCode>(
  code: Code,
  args: TemplateArgs<Code>,
  cause?: unknown,
): SluiceError {
  const entry = RUNTIME_ERRORS[code];
  const message = (entry.message as (...values: unknown[]) => string)(...args);
  return new SluiceError(code, message, { retriable: entry.retriable, cause });
}

/** One thing wrong with a topology file, located as precisely as the file allows. */
export interface TopologyProblem {
  /** Dotted path of the offending field, e.g. `windows.per_user.window.size`; `(topology)` for the root. */
  path: string;
  /** What the field should have held. */
  expected: string;
  /** The full one-line reason shown to the user (mentions what was expected). */
  message: string;
  /** 1-based line in the file, when the field or its parent exists there. */
  line?: number;
  /** 1-based column in the file. */
  column?: number;
}

/** A topology file that does not parse or validate; lists every problem at once. */
export class TopologyError extends SluiceError {
  readonly file: string;
  readonly problems: readonly TopologyProblem[];

  constructor(file: string, problems: readonly TopologyProblem[]) {
    super('SLUICE_ERR_TOPOLOGY_INVALID', problems.map((problem) => formatProblem(file, problem)).join('\n'));
    this.file = file;
    this.problems = problems;
  }

  /** One-line summary (`topology x.yaml has 3 problems`), for places that show a single line. */
  get summary(): string {
    return RUNTIME_ERRORS.SLUICE_ERR_TOPOLOGY_INVALID.message(this.file, this.problems.length);
  }
}

/** `file:line:col  path  message`, the line form of a problem (compilers' convention, so editors link it). */
export function formatProblem(file: string, problem: TopologyProblem): string {
  const where = problem.line === undefined ? file : `${file}:${problem.line}:${problem.column ?? 1}`;
  return `${where}  ${problem.path}  ${problem.message}`;
}

/** The topology file could not be read at all (missing, unreadable, a directory). */
export class TopologyFileUnreadableError extends SluiceError {
  readonly file: string;

  constructor(file: string, cause: unknown) {
    const reason = (cause as NodeJS.ErrnoException)?.code ?? (cause as Error)?.message ?? String(cause);
    super(
      'SLUICE_ERR_TOPOLOGY_UNREADABLE',
      RUNTIME_ERRORS.SLUICE_ERR_TOPOLOGY_UNREADABLE.message(file, reason),
      {
        cause,
      },
    );
    this.file = file;
  }
}

/** The CLI was called with a command it does not know. Exit code 2, like other usage errors. */
export class UnknownCommandError extends SluiceError {
  constructor(command: string, known: readonly string[]) {
    super(
      'SLUICE_ERR_CLI_UNKNOWN_COMMAND',
      RUNTIME_ERRORS.SLUICE_ERR_CLI_UNKNOWN_COMMAND.message(command, known.join(', ')),
    );
  }
}

/** A command got an option or argument it cannot use. Exit code 2. */
export class CliArgumentError extends SluiceError {
  readonly command: string;

  constructor(command: string, reason: string) {
    super('SLUICE_ERR_CLI_ARGUMENT', RUNTIME_ERRORS.SLUICE_ERR_CLI_ARGUMENT.message(command, reason));
    this.command = command;
  }
}

/** True for errors that mean "you called it wrong" rather than "it failed". */
export function isUsageError(error: unknown): boolean {
  return error instanceof UnknownCommandError || error instanceof CliArgumentError;
}
