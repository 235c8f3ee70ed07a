/**
 * The one cross-field rule of the Kafka sink: with `transactional: true` a transaction
 * stays open from the first row after a checkpoint until the next checkpoint commits it,
 * so the broker must not abort it before then. A timeout shorter than the checkpoint
 * interval plus an allowance for a slow checkpoint or a restart that replays since the
 * last checkpoint would make every checkpoint fail; such a file is refused at start.
 * Works on the raw file contents, like cross-references.ts, so the problem is reported
 * with every other one; values the schema refuses are left to the schema.
 */
import type { ReferenceProblem } from '../cross-references.ts';
import { parseDuration } from '../units.ts';

/** Time a transaction may need beyond one checkpoint interval: a slow checkpoint, a restart's replay. */
export const TRANSACTION_RESTART_ALLOWANCE_MS = 30_000;
/** kafkajs's default transaction timeout, also the schema's default. */
const DEFAULT_TRANSACTION_TIMEOUT_MS = 60_000;
/** The topology's default checkpoint interval (see topology-schema.ts). */
const DEFAULT_CHECKPOINT_INTERVAL_MS = 10_000;

export function checkKafkaTransactionTimeouts(raw: unknown): ReferenceProblem[] {
  if (!isRecord(raw) || !isRecord(raw.sinks)) return [];
  const checkpoint = isRecord(raw.checkpoint) ? raw.checkpoint.interval : undefined;
  const intervalMs = checkpoint === undefined ? DEFAULT_CHECKPOINT_INTERVAL_MS : durationOf(checkpoint);
  if (intervalMs === undefined) return [];
  const problems: ReferenceProblem[] = [];
  for (const [name, sink] of Object.entries(raw.sinks)) {
    if (!isRecord(sink) || sink.type !== 'kafka' || sink.transactional !== true) continue;
    const written = sink.transactionTimeout;
    const timeoutMs = written === undefined ? DEFAULT_TRANSACTION_TIMEOUT_MS : durationOf(written);
    const neededMs = intervalMs + TRANSACTION_RESTART_ALLOWANCE_MS;
    if (timeoutMs === undefined || timeoutMs >= neededMs) continue;
    const expected = `a transaction timeout of at least ${neededMs}ms (checkpoint.interval ${intervalMs}ms + ${TRANSACTION_RESTART_ALLOWANCE_MS}ms for a slow checkpoint or a restart)`;
    problems.push({
      path: written === undefined ? ['sinks', name, 'transactional'] : ['sinks', name, 'transactionTimeout'],
      expected,
      message:
        `expected ${expected}, got ${timeoutMs}ms${written === undefined ? ' (the default)' : ''}; ` +
        'the broker would abort every transaction before its checkpoint commits it — raise transactionTimeout or shorten checkpoint.interval',
    });
  }
  return problems;
}

function durationOf(value: unknown): number | undefined {
  return typeof value === 'string' || typeof value === 'number' ? parseDuration(value) : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
