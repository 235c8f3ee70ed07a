/**
 * The ClickHouse table of a window's rows, derived from the window's shape: columns and
 * types, the CREATE TABLE statement, the comparison with an existing table, and the
 * conversion of an output row to a row of that table. Pure (no I/O).
 *
 * Reading final results: the table is a ReplacingMergeTree on `version`, so a replayed
 * or re-fired window is a second copy of its row until a merge keeps the highest version.
 * Read with `SELECT … FROM t FINAL`, or aggregate with
 * `argMax(col, version) … GROUP BY <key fields>, window_start`.
 *
 * Window bounds are UInt64 milliseconds since the epoch: the server this project targets
 * (18.16) has no DateTime64, and one encoding everywhere keeps rows identical across
 * server versions. Partitions are days of window_start.
 */
import type { Aggregate } from '../../runtime/topology/aggregate-expression.ts';

/** What a window writes: its key fields and aggregates, in output order. */
export interface RowShape {
  groupBy: readonly string[];
  aggregates: readonly Aggregate[];
}

export interface ColumnSpec {
  name: string;
  type: string;
  /** Converts the row's JSON value into what the column accepts in JSONEachRow. */
  convert: (value: unknown) => unknown;
}

const asString = (value: unknown): string =>
  value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
const asNullableString = (value: unknown): string | null =>
  value === null || value === undefined ? null : typeof value === 'string' ? value : JSON.stringify(value);
const asNumber = (value: unknown): unknown => value ?? 0;
const asNullable = (value: unknown): unknown => value ?? null;

/** The type each aggregate's column gets: counts are exact integers, the rest may be null. */
function aggregateColumn(aggregate: Aggregate): ColumnSpec {
  switch (aggregate.fn) {
    case 'count':
    case 'count_distinct':
      return { name: aggregate.name, type: 'UInt64', convert: asNumber };
    case 'sum':
    case 'min':
    case 'max':
    case 'avg':
      return { name: aggregate.name, type: 'Nullable(Float64)', convert: asNullable };
    case 'first':
    case 'last':
      // Any scalar (string, number, boolean): kept as text, numbers and booleans as JSON.
      return { name: aggregate.name, type: 'Nullable(String)', convert: asNullableString };
  }
}

/**
 * All columns in row order. Key fields are String (numbers as their JSON text, null as
 * ''): they are part of the sorting key, where old servers allow no Nullable.
 */
export function tableColumns(shape: RowShape): ColumnSpec[] {
  return [
    { name: 'window_start', type: 'UInt64', convert: asNumber },
    { name: 'window_end', type: 'UInt64', convert: asNumber },
    ...shape.groupBy.map((field) => ({ name: field, type: 'String', convert: asString })),
    ...shape.aggregates.map(aggregateColumn),
    { name: 'version', type: 'UInt64', convert: asNumber },
  ];
}

/** `name` quoted for ClickHouse SQL (dotted key paths stay one column). */
export function quoteIdentifier(name: string): string {
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

/** `text` as a ClickHouse string literal. */
export function quoteString(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * `deduplicationWindow` > 0 keeps the ids of that many last inserts, so inserts that
 * repeat an `insert_deduplication_token` are dropped (servers that have the setting only).
 */
export function createTableSql(
  database: string,
  table: string,
  shape: RowShape,
  deduplicationWindow = 0,
): string {
  const columns = tableColumns(shape)
    .map((column) => `${quoteIdentifier(column.name)} ${column.type}`)
    .join(', ');
  const orderBy = [...shape.groupBy.map(quoteIdentifier), 'window_start'].join(', ');
  return (
    `CREATE TABLE IF NOT EXISTS ${quoteIdentifier(database)}.${quoteIdentifier(table)} (${columns}) ` +
    'ENGINE = ReplacingMergeTree(version) ' +
    'PARTITION BY toYYYYMMDD(toDateTime(intDiv(window_start, 1000))) ' +
    `ORDER BY (${orderBy})` +
    (deduplicationWindow > 0 ? ` SETTINGS non_replicated_deduplication_window = ${deduplicationWindow}` : '')
  );
}

export function addColumnSql(database: string, table: string, column: ColumnSpec): string {
  return `ALTER TABLE ${quoteIdentifier(database)}.${quoteIdentifier(table)} ADD COLUMN ${quoteIdentifier(column.name)} ${column.type}`;
}

/** How an existing table differs from the wanted columns. Extra table columns are fine. */
export interface SchemaDifference {
  missing: ColumnSpec[];
  /** Columns present with another type: no mode fixes these automatically. */
  mistyped: Array<{ name: string; expected: string; actual: string }>;
}

export function compareSchema(
  existing: ReadonlyMap<string, string>,
  wanted: readonly ColumnSpec[],
): SchemaDifference {
  const difference: SchemaDifference = { missing: [], mistyped: [] };
  for (const column of wanted) {
    const actual = existing.get(column.name);
    if (actual === undefined) difference.missing.push(column);
    else if (actual !== column.type)
      difference.mistyped.push({ name: column.name, expected: column.type, actual });
  }
  return difference;
}

/** One output row (a parsed JSON line) as a JSONEachRow object of the table's columns. */
export function toTableRow(
  columns: readonly ColumnSpec[],
  row: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const column of columns) out[column.name] = column.convert(row[column.name]);
  return out;
}
