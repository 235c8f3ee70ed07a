import { SluiceError } from '../../runtime/errors.ts';

/**
 * The sink layer's error catalogue (ClickHouse, BigQuery, Kafka sinks and their shared
 * batching). Callers decide on `code` and `retriable`; messages are for people.
 */
export const SINK_ERRORS = {
  /** The target could not be reached or answered "try later" (network, overload, 5xx). */
  SLUICE_ERR_SINK_UNAVAILABLE: {
    retriable: true,
    message: (sink: string, reason: string) => `sink ${sink}: target unavailable: ${reason}`,
  },
  /** A retriable failure kept failing for longer than the retry policy allows. */
  SLUICE_ERR_SINK_RETRIES_EXHAUSTED: {
    retriable: false,
    message: (operation: string, attempts: number, reason: string) =>
      `${operation} failed after ${attempts} attempts; last error: ${reason}`,
  },
  /** The target refused specific rows (bad value, wrong type); they go to the dead-letter output. */
  SLUICE_ERR_SINK_ROW_REJECTED: {
    retriable: false,
    message: (sink: string, reason: string) => `sink ${sink}: row rejected: ${reason}`,
  },
  /** The sink's configuration does not fit the topology (several window shapes, no window rows). */
  SLUICE_ERR_SINK_CONFIG: {
    retriable: false,
    message: (sink: string, reason: string) => `sink ${sink}: ${reason}`,
  },
  /** The existing target table does not match what the topology writes. */
  SLUICE_ERR_SINK_SCHEMA_MISMATCH: {
    retriable: false,
    message: (sink: string, table: string, reason: string) =>
      `sink ${sink}: table ${table} does not match the topology: ${reason}`,
  },
  /** The target failed in a way a retry will not fix (auth, missing table, bad SQL). */
  SLUICE_ERR_SINK_WRITE_FAILED: {
    retriable: false,
    message: (sink: string, reason: string) => `sink ${sink}: write failed: ${reason}`,
  },
} as const;

export type SinkErrorCode = keyof typeof SINK_ERRORS;

type TemplateArgs<Code extends SinkErrorCode> = Parameters<(typeof SINK_ERRORS)[Code]['message']>;

export class SinkError extends SluiceError {}

/** Builds a `SinkError` from the catalogue: `sinkError('SLUICE_ERR_SINK_CONFIG', ['ch', 'why'])`. */
export function sinkError<Code extends SinkErrorCode>(
  code: Code,
  args: TemplateArgs<Code>,
  cause?: unknown,
): SinkError {
  const entry = SINK_ERRORS[code];
  const message = (entry.message as (...values: unknown[]) => string)(...args);
  return new SinkError(code, message, { retriable: entry.retriable, cause });
}

/** True when `error` says the same call may succeed later (the `retriable` flag of SluiceError). */
export function isRetriable(error: unknown): boolean {
  return (error as { retriable?: unknown } | null)?.retriable === true;
}
