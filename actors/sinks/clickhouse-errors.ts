/**
 * What a ClickHouse failure means for the sink: retry it, blame the rows, or stop.
 * ClickHouse answers errors with a numeric code (`Code: 27, e.displayText() = …` on old
 * servers, the same code in `error.code` on new ones); the lists below name the codes.
 * A failure without a server code is the network (refused, reset, timeout): retriable.
 */
import { type SinkError, sinkError } from './batching-errors.ts';

export type ClickHouseFailure = 'retriable' | 'bad-rows' | 'fatal';

/** Codes that mean "the data of this insert is wrong": parse errors, type mismatches. */
const BAD_DATA_CODES = new Set([
  6, // CANNOT_PARSE_TEXT
  26, // CANNOT_PARSE_QUOTED_STRING
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  32, // ATTEMPT_TO_READ_AFTER_EOF
  33, // CANNOT_READ_ALL_DATA
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  53, // TYPE_MISMATCH
  69, // ARGUMENT_OUT_OF_BOUND
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  117, // INCORRECT_DATA
  131, // TOO_LARGE_STRING_SIZE
  349, // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
]);

/** Codes of a busy or restarting server: the same insert succeeds later. */
const RETRIABLE_CODES = new Set([
  159, // TIMEOUT_EXCEEDED
  164, // READONLY (replica starting)
  202, // TOO_MANY_SIMULTANEOUS_QUERIES
  209, // SOCKET_TIMEOUT
  210, // NETWORK_ERROR
  241, // MEMORY_LIMIT_EXCEEDED
  242, // TABLE_IS_READ_ONLY
  252, // TOO_MANY_PARTS
  285, // TOO_FEW_LIVE_REPLICAS
  319, // UNKNOWN_STATUS_OF_INSERT
]);

/** The server's error code, or undefined when the failure never reached a server. */
export function clickHouseErrorCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^\d+$/.test(code)) return Number(code);
  const match = /Code: (\d+)/.exec((error as Error | null)?.message ?? '');
  return match ? Number(match[1]) : undefined;
}

export function classifyClickHouseError(error: unknown): ClickHouseFailure {
  const code = clickHouseErrorCode(error);
  if (code === undefined) return 'retriable';
  if (BAD_DATA_CODES.has(code)) return 'bad-rows';
  return RETRIABLE_CODES.has(code) ? 'retriable' : 'fatal';
}

/** The server's message without its stack trace, for logs and dead letters. */
export function clickHouseReason(error: unknown): string {
  const message = (error as Error | null)?.message ?? String(error);
  return message.split(/, e\.what\(\)|\n\s*at /)[0]?.trim() ?? message;
}

/** The failure as a SinkError whose `retriable` flag drives the shared retry helper. */
export function toSinkError(sink: string, error: unknown): SinkError {
  const reason = clickHouseReason(error);
  return classifyClickHouseError(error) === 'retriable'
    ? sinkError('SLUICE_ERR_SINK_UNAVAILABLE', [sink, reason], error)
    : sinkError('SLUICE_ERR_SINK_WRITE_FAILED', [sink, reason], error);
}
