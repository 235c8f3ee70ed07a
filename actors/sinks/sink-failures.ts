/**
 * What every writing sink (the batching ones, the transactional Kafka sink, the BigQuery
 * storage-write sink) does with failure, in one place: retrying an operation with the
 * shared back-off while counting and logging each failed attempt, and sending the rows a
 * target refuses — or that cannot even be encoded for it — to the topology's dead-letter
 * sink, counted by code.
 */
import type { ActorContext } from '../../runtime/actor.ts';
import type { SinkWrite } from '../partition/partition-plan.ts';
import { sinkError } from './batching-errors.ts';
import { defaultRetryPolicy, type RetryPolicy, withRetries } from './batching-retry.ts';
import { type BatchingSinkMetrics, errorCode } from './sink-metrics.ts';

/** A row the target refused, with the target's reason and a stable code. */
export interface RejectedRow {
  line: string;
  code: string;
  reason: string;
}

export interface FailingSink {
  name: string;
  /** The topology's dead-letter sink, or null: rejected rows are then counted and logged only. */
  deadLetter: string | null;
  retry?: RetryPolicy;
}

/**
 * Runs `operation` until it succeeds, retrying retriable errors with back-off (for ever by
 * default: a target that is down holds rows back, it never drops them). Each failed
 * attempt is counted under its code and each retry counted and logged. With `retriable`,
 * the operation's raw errors (client libraries') are first classified into the sink
 * catalogue: SLUICE_ERR_SINK_UNAVAILABLE when it says yes, SLUICE_ERR_SINK_WRITE_FAILED
 * (not retried) when it says no; without it the operation throws sink errors itself.
 */
export function retryingSinkCall<T>(
  ctx: ActorContext,
  sink: FailingSink,
  metrics: BatchingSinkMetrics,
  what: string,
  operation: () => Promise<T>,
  retriable?: (error: unknown) => boolean,
): Promise<T> {
  const attempt = async () => {
    try {
      return await operation();
    } catch (raw) {
      const error =
        retriable === undefined
          ? raw
          : sinkError(
              retriable(raw) ? 'SLUICE_ERR_SINK_UNAVAILABLE' : 'SLUICE_ERR_SINK_WRITE_FAILED',
              [sink.name, (raw as Error).message],
              raw,
            );
      metrics.failed(ctx.metrics, what, errorCode(error));
      throw error;
    }
  };
  return withRetries(`sink ${sink.name} ${what}`, attempt, sink.retry ?? defaultRetryPolicy, {
    onRetry: (error, attemptNumber, delayMs) => {
      metrics.retrying(ctx.metrics, what);
      ctx.log.warn('sink retrying', {
        sink: sink.name,
        operation: what,
        attempt: attemptNumber,
        delayMs,
        error: (error as Error).message,
      });
    },
  });
}

/**
 * Converts each non-empty line of `data` with `convert`; a line it throws on is kept as a
 * rejected row under `code`, with the thrown message as its reason.
 */
export function convertLines<T>(
  data: string,
  code: string,
  convert: (line: string) => T,
): { converted: T[]; rejected: RejectedRow[] } {
  const converted: T[] = [];
  const rejected: RejectedRow[] = [];
  for (const line of data.split('\n')) {
    if (line === '') continue;
    try {
      converted.push(convert(line));
    } catch (error) {
      rejected.push({ line, code, reason: (error as Error).message });
    }
  }
  return { converted, rejected };
}

/**
 * Counts `rejected` (sluice_sink_rows_rejected_total and sluice_dead_letters_total, by
 * code) and sends them to the dead-letter sink as `{reason, code, sink, row}` lines, the
 * row as JSON when it parses, else as its text; without a dead-letter sink, logs them.
 */
export async function deadLetterRows(
  ctx: ActorContext,
  sink: FailingSink,
  metrics: BatchingSinkMetrics,
  rejected: readonly RejectedRow[],
): Promise<void> {
  if (rejected.length === 0) return;
  const byCode = new Map<string, number>();
  for (const row of rejected) byCode.set(row.code, (byCode.get(row.code) ?? 0) + 1);
  for (const [code, count] of byCode) metrics.rejected(ctx.metrics, code, count);
  if (sink.deadLetter === null) {
    ctx.log.warn('sink rejected rows; no deadLetter sink configured', {
      sink: sink.name,
      rows: rejected.length,
      reason: rejected[0].reason,
    });
    return;
  }
  let data = '';
  for (const row of rejected) {
    data += `${JSON.stringify({ reason: row.reason, code: row.code, sink: sink.name, row: parseLine(row.line) })}\n`;
  }
  await ctx.emit('sink', {
    sink: sink.deadLetter,
    file: null,
    data,
    rows: rejected.length,
    outputs: { [sink.name]: rejected.length },
  } satisfies SinkWrite);
}

/** The rejected row as JSON when it parses, else its text, so a dead letter always shows it. */
function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return line;
  }
}
