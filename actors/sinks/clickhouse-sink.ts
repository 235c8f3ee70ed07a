/**
 * The ClickHouse sink: window rows into a ReplacingMergeTree(version) table, inserted as
 * JSONEachRow with HTTP compression both ways. Idempotent on replay: a replayed or
 * re-fired row has the same (key, window_start) and a version at least as high, so
 * `SELECT … FINAL` (or `argMax(col, version)`) reads exactly-once results; see
 * `clickhouse-table.ts`.
 *
 * At start it checks the table: creates it (`create: true`), adds columns of new
 * aggregates (`schema: evolve`), or stops with the difference (`schema: strict`). On
 * servers that know `insert_deduplication_token` (22.2 on, read from `SELECT version()`;
 * see clickhouse-server.ts) the rows of each partition go in their own insert, whose token
 * derives from (partition, checkpoint, part number, rows) — clickhouse-insert-token.ts —
 * so a retried or replayed insert is dropped by the server even before merges. Older
 * servers get no setting; ReplacingMergeTree(version) alone keeps results exact there.
 *
 * An insert the server refuses for its data is split in halves until the refused rows
 * are alone; those go to the dead-letter output with the server's message.
 *
 * Threading model: a main-thread actor (see batching-sink.ts); the client is used by one
 * hook at a time.
 */
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import type { ActorContext } from '../../runtime/actor.ts';
import type { BatchPart } from './batching-buffer.ts';
import { sinkError } from './batching-errors.ts';
import {
  type BatchingSinkConfig,
  type BatchTarget,
  batchingSinkFactory,
  type RejectedRow,
} from './batching-sink.ts';
import {
  classifyClickHouseError,
  clickHouseErrorCode,
  clickHouseReason,
  toSinkError,
} from './clickhouse-errors.ts';
import { insertToken } from './clickhouse-insert-token.ts';
import { type ClickHouseServer, deduplicationWindow, detectServer } from './clickhouse-server.ts';
import {
  addColumnSql,
  type ColumnSpec,
  compareSchema,
  createTableSql,
  quoteIdentifier,
  quoteString,
  type RowShape,
  tableColumns,
  toTableRow,
} from './clickhouse-table.ts';

export interface ClickHouseSinkConfig extends BatchingSinkConfig {
  url: string;
  database: string;
  table: string;
  create: boolean;
  schema: 'evolve' | 'strict';
  username?: string;
  password?: string;
  /** Key fields and aggregates of the windows that write here. */
  shape: RowShape;
}

export type { ClickHouseServer } from './clickhouse-server.ts';

/** The part of `@clickhouse/client` the sink uses; tests hand in a fake server. */
export type ClickHouseConnection = Pick<ClickHouseClient, 'query' | 'command' | 'insert' | 'close'>;

export const createClickHouseSink = batchingSinkFactory<ClickHouseSinkConfig>(
  (config) => new ClickHouseTarget(config),
);

export class ClickHouseTarget implements BatchTarget {
  readonly #config: ClickHouseSinkConfig;
  readonly #columns: ColumnSpec[];
  readonly #client: ClickHouseConnection;
  #server: ClickHouseServer = { version: 'unknown', deduplicationToken: false };

  constructor(config: ClickHouseSinkConfig, client?: ClickHouseConnection) {
    this.#config = config;
    this.#columns = tableColumns(config.shape);
    this.#client =
      client ??
      createClient({
        url: config.url,
        username: config.username ?? 'default',
        password: config.password ?? '',
        database: config.database,
        compression: { request: true, response: true },
        request_timeout: 30_000,
        log: { level: ClickHouseLogLevel.OFF },
      });
  }

  get server(): ClickHouseServer {
    return this.#server;
  }

  get #qualifiedTable(): string {
    return `${quoteIdentifier(this.#config.database)}.${quoteIdentifier(this.#config.table)}`;
  }

  async open(ctx: ActorContext): Promise<void> {
    this.#server = await detectServer((query) => this.#select(query));
    await this.#ensureTable(ctx);
    ctx.log.info('clickhouse sink ready', {
      sink: this.#config.name,
      table: this.#qualifiedTable,
      server: this.#server.version,
      deduplicationToken: this.#server.deduplicationToken,
    });
  }

  /**
   * Writes the batch: one insert in all on servers without the token; one insert per
   * part (partition and checkpoint) where each carries its own token. Without `parts`
   * (benchmarks), the lines are one part of no origin.
   */
  async write(
    lines: readonly string[],
    _ctx?: ActorContext,
    parts: readonly BatchPart[] = [{ origin: null, sequence: 0, lines: [...lines] }],
  ): Promise<RejectedRow[]> {
    const rejected: RejectedRow[] = [];
    if (!this.#server.deduplicationToken) {
      await this.#writePart({ origin: null, sequence: 0, lines: [...lines] }, rejected);
      return rejected;
    }
    for (const part of parts) await this.#writePart(part, rejected);
    return rejected;
  }

  async close(): Promise<void> {
    await this.#client.close();
  }

  async #writePart(part: BatchPart, rejected: RejectedRow[]): Promise<void> {
    const rows: Array<Record<string, unknown>> = [];
    const accepted: string[] = [];
    for (const line of part.lines) {
      try {
        rows.push(toTableRow(this.#columns, JSON.parse(line)));
        accepted.push(line);
      } catch (error) {
        rejected.push({ line, code: 'SINK_BAD_JSON', reason: (error as Error).message });
      }
    }
    if (rows.length > 0) await this.#insertOrSplit(part, accepted, rows, rejected);
  }

  /** Halves of a refused insert are inserts of their own, each with the token of its rows. */
  async #insertOrSplit(
    part: BatchPart,
    lines: string[],
    rows: Array<Record<string, unknown>>,
    rejected: RejectedRow[],
  ): Promise<void> {
    try {
      await this.#insert(part, lines, rows);
    } catch (error) {
      if (classifyClickHouseError(error) !== 'bad-rows') throw toSinkError(this.#config.name, error);
      if (rows.length === 1) {
        rejected.push({
          line: lines[0] as string,
          code: `CLICKHOUSE_${clickHouseErrorCode(error)}`,
          reason: clickHouseReason(error),
        });
        return;
      }
      const half = Math.ceil(rows.length / 2);
      await this.#insertOrSplit(part, lines.slice(0, half), rows.slice(0, half), rejected);
      await this.#insertOrSplit(part, lines.slice(half), rows.slice(half), rejected);
    }
  }

  async #insert(
    part: BatchPart,
    lines: readonly string[],
    rows: Array<Record<string, unknown>>,
  ): Promise<void> {
    const settings: Record<string, string> = {};
    if (this.#server.deduplicationToken) {
      settings.insert_deduplication_token = insertToken(part.origin, part.sequence, lines);
    }
    await this.#client.insert({
      table: this.#qualifiedTable,
      values: rows,
      format: 'JSONEachRow',
      clickhouse_settings: settings,
    });
  }

  async #ensureTable(ctx: ActorContext): Promise<void> {
    const { name, database, table } = this.#config;
    const existing = await this.#select<{ name: string; type: string }>(
      // Literals, not query parameters: 18.16 predates {name:Type} parameters.
      `SELECT name, type FROM system.columns WHERE database = ${quoteString(database)} AND table = ${quoteString(table)}`,
    );
    if (existing.length === 0) {
      if (!this.#config.create) {
        throw sinkError('SLUICE_ERR_SINK_SCHEMA_MISMATCH', [
          name,
          `${database}.${table}`,
          'it does not exist and create is false',
        ]);
      }
      const window = this.#server.deduplicationToken ? deduplicationWindow : 0;
      await this.#command(createTableSql(database, table, this.#config.shape, window));
      return;
    }
    const difference = compareSchema(
      new Map(existing.map((column) => [column.name, column.type])),
      this.#columns,
    );
    if (difference.mistyped.length > 0) {
      const list = difference.mistyped.map(
        (column) => `${column.name} is ${column.actual}, expected ${column.expected}`,
      );
      throw sinkError('SLUICE_ERR_SINK_SCHEMA_MISMATCH', [name, `${database}.${table}`, list.join('; ')]);
    }
    if (difference.missing.length === 0) return;
    const missing = difference.missing.map((column) => column.name).join(', ');
    if (this.#config.schema !== 'evolve') {
      throw sinkError('SLUICE_ERR_SINK_SCHEMA_MISMATCH', [
        name,
        `${database}.${table}`,
        `missing column(s) ${missing}; set schema: evolve to add them`,
      ]);
    }
    for (const column of difference.missing) await this.#command(addColumnSql(database, table, column));
    ctx.log.info('clickhouse sink added columns', {
      sink: name,
      table: `${database}.${table}`,
      columns: missing,
    });
  }

  async #select<Row>(query: string): Promise<Row[]> {
    try {
      const result = await this.#client.query({ query, format: 'JSONEachRow' });
      return await result.json<Row>();
    } catch (error) {
      throw toSinkError(this.#config.name, error);
    }
  }

  async #command(query: string): Promise<void> {
    try {
      await this.#client.command({ query });
    } catch (error) {
      throw toSinkError(this.#config.name, error);
    }
  }
}
