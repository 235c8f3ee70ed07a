/**
 * The BigQuery sink: window rows through the streaming insertAll API, each row with an
 * insertId derived from its window identity and version (`bigquery-table.ts`).
 *
 * Delivery guarantee, honestly: insertId deduplication is best-effort (BigQuery keeps
 * ids about a minute), so a replay long after a crash may store a row twice, with the
 * same version. Read final results as the highest version per (key, window_start), e.g.
 * `QUALIFY ROW_NUMBER() OVER (PARTITION BY key, window_start ORDER BY version DESC) = 1`
 * — duplicates of one version are identical. The local emulator ignores insertId.
 *
 * Invalid rows are skipped by the API (`skipInvalidRows`) and reported per row; they go
 * to the dead-letter output with the API's reason. 429, 5xx and network failures are
 * retried with backoff.
 *
 * Exactly-once instead: `api: storage-write` (bigquery-storage-sink.ts).
 *
 * Threading model: a main-thread actor (see batching-sink.ts).
 */
import { BigQuery, type Table } from '@google-cloud/bigquery';
import type { ActorContext } from '../../runtime/actor.ts';
import { sinkError } from './batching-errors.ts';
import {
  type BatchingSinkConfig,
  type BatchTarget,
  batchingSinkFactory,
  type RejectedRow,
} from './batching-sink.ts';
import { type BigQueryField, bigQueryFields, insertIdOf, toBigQueryRow } from './bigquery-table.ts';
import type { RowShape } from './clickhouse-table.ts';

export interface BigQuerySinkConfig extends BatchingSinkConfig {
  projectId: string;
  dataset: string;
  table: string;
  apiEndpoint?: string;
  create: boolean;
  shape: RowShape;
}

export const createBigQuerySink = batchingSinkFactory<BigQuerySinkConfig>(
  (config) => new BigQueryTarget(config),
);

interface InsertFailure {
  row?: { insertId?: string };
  errors?: Array<{ reason?: string; message?: string }>;
}

/** HTTP 408/429/5xx and failures without a status (network) are worth retrying. */
export function isRetriableBigQueryError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'number') return code === 408 || code === 429 || code >= 500;
  return true;
}

export class BigQueryTarget implements BatchTarget {
  readonly #config: BigQuerySinkConfig;
  readonly #fields: BigQueryField[];
  readonly #table: Table;

  constructor(config: BigQuerySinkConfig) {
    this.#config = config;
    this.#fields = bigQueryFields(config.shape);
    if (config.apiEndpoint !== undefined) process.env.METADATA_SERVER_DETECTION ??= 'none';
    const client = new BigQuery({
      projectId: config.projectId,
      ...(config.apiEndpoint === undefined ? {} : { apiEndpoint: config.apiEndpoint }),
    });
    this.#table = client.dataset(config.dataset).table(config.table);
  }

  async open(ctx: ActorContext): Promise<void> {
    const [exists] = await this.#call(() => this.#table.exists());
    if (exists) return;
    const where = `${this.#config.dataset}.${this.#config.table}`;
    if (!this.#config.create) {
      throw sinkError('SLUICE_ERR_SINK_SCHEMA_MISMATCH', [
        this.#config.name,
        where,
        'it does not exist and create is false',
      ]);
    }
    await this.#call(() =>
      this.#table.create({
        schema: { fields: this.#fields },
        timePartitioning: { type: 'DAY', field: 'window_start' },
      }),
    );
    ctx.log.info('bigquery sink created its table', { sink: this.#config.name, table: where });
  }

  async write(lines: readonly string[]): Promise<RejectedRow[]> {
    const rejected: RejectedRow[] = [];
    const rows: Array<{ insertId: string; json: Record<string, unknown> }> = [];
    const lineById = new Map<string, string>();
    for (const line of lines) {
      try {
        const row = JSON.parse(line) as Record<string, unknown>;
        const insertId = insertIdOf(row, this.#config.shape.groupBy, line);
        rows.push({ insertId, json: toBigQueryRow(this.#fields, row) });
        lineById.set(insertId, line);
      } catch (error) {
        rejected.push({ line, code: 'SINK_BAD_JSON', reason: (error as Error).message });
      }
    }
    if (rows.length === 0) return rejected;
    try {
      await this.#table.insert(rows, { raw: true, skipInvalidRows: true });
    } catch (error) {
      if ((error as Error).name !== 'PartialFailureError') throw this.#asSinkError(error);
      for (const failure of (error as { errors?: InsertFailure[] }).errors ?? []) {
        const first = failure.errors?.[0];
        const line = lineById.get(failure.row?.insertId ?? '') ?? JSON.stringify(failure.row ?? null);
        rejected.push({
          line,
          code: `BIGQUERY_${(first?.reason ?? 'invalid').toUpperCase()}`,
          reason: first?.message ?? 'rejected by BigQuery',
        });
      }
    }
    return rejected;
  }

  async #call<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw this.#asSinkError(error);
    }
  }

  #asSinkError(error: unknown) {
    const reason = (error as Error).message;
    return isRetriableBigQueryError(error)
      ? sinkError('SLUICE_ERR_SINK_UNAVAILABLE', [this.#config.name, reason], error)
      : sinkError('SLUICE_ERR_SINK_WRITE_FAILED', [this.#config.name, reason], error);
  }
}
