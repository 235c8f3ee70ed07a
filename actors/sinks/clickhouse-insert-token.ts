/**
 * The `insert_deduplication_token` of one ClickHouse insert, derived from where its rows
 * come from: the partition, the checkpoint they follow, the number of this part among the
 * partition's parts since that checkpoint (see `BatchPart`), and a digest of the rows.
 *
 * Deterministic: a retried insert sends the same part again, and a partition that crashed
 * restores the same checkpoint and writes the same rows again, numbered from 0 as before,
 * so both carry the first insert's token and the server drops them even before a merge.
 *
 * Why the digest too: the sink cuts batches by size and by time, so after a replay part
 * number n of a checkpoint may hold other rows than the first time (more or fewer). The
 * server drops an insert whose token it has seen without looking at its rows; a token of
 * (partition, checkpoint, number) alone would then drop rows that were never written.
 * With the digest, the token repeats exactly when the rows repeat; otherwise the insert
 * goes through and ReplacingMergeTree(version) absorbs any row written twice.
 */
import { createHash } from 'node:crypto';
import type { WriteOrigin } from '../partition/partition-plan.ts';

export function insertToken(origin: WriteOrigin | null, sequence: number, lines: readonly string[]): string {
  const digest = createHash('sha256');
  for (const line of lines) digest.update(line).update('\n');
  const rows = digest.digest('hex').slice(0, 32);
  const from = origin === null ? 'none' : `${origin.partition}:${origin.checkpoint}`;
  return `${from}:${sequence}:${lines.length}:${rows}`;
}
