/**
 * A tiny leveled logger writing one line per record to stderr, so stdout stays free
 * for data (console sink, CLI output). The level comes from `SLUICE_LOG`
 * (debug | info | warn | error, default info).
 *
 * Threading model: stateless apart from its bindings; safe to create in any thread.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger whose lines carry these bindings in addition to the parent's. */
  child(bindings: LogFields): Logger;
}

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  level?: LogLevel;
  bindings?: LogFields;
  /** Where finished lines go; stderr by default. */
  write?: (line: string) => void;
}

export function parseLogLevel(value: string | undefined): LogLevel {
  if (value === 'debug' || value === 'info' || value === 'warn' || value === 'error') return value;
  return 'info';
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? parseLogLevel(process.env.SLUICE_LOG);
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const bindings = options.bindings ?? {};
  const threshold = rank[level];
  const log = (at: LogLevel, message: string, fields?: LogFields) => {
    if (rank[at] < threshold) return;
    write(formatLogLine(new Date(), at, message, { ...bindings, ...fields }));
  };
  return {
    debug: (message, fields) => log('debug', message, fields),
    info: (message, fields) => log('info', message, fields),
    warn: (message, fields) => log('warn', message, fields),
    error: (message, fields) => log('error', message, fields),
    child: (more) => createLogger({ level, write, bindings: { ...bindings, ...more } }),
  };
}

/** `2024-01-01T00:00:00.000Z INFO message key=value …` with values JSON-encoded when not plain. */
export function formatLogLine(at: Date, level: LogLevel, message: string, fields: LogFields): string {
  let line = `${at.toISOString()} ${level.toUpperCase()} ${message}`;
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    line += ` ${key}=${formatValue(value)}`;
  }
  return `${line}\n`;
}

function formatValue(value: unknown): string {
  if (value instanceof Error) return JSON.stringify(`${value.name}: ${value.message}`);
  if (typeof value === 'string') return /^[\w.:/@-]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
