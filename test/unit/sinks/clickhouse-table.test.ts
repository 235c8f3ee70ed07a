import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addColumnSql,
  compareSchema,
  createTableSql,
  quoteString,
  tableColumns,
  toTableRow,
} from '../../../actors/sinks/clickhouse-table.ts';

const shape = {
  groupBy: ['user_id', 'geo.country'],
  aggregates: [
    { name: 'events', fn: 'count' as const },
    { name: 'amount', fn: 'sum' as const, field: 'amount' },
    { name: 'pages', fn: 'count_distinct' as const, field: 'page' },
    { name: 'first_page', fn: 'first' as const, field: 'page' },
  ],
};

describe('clickhouse table', () => {
  it('derives column types from the key fields and aggregates', () => {
    assert.deepEqual(
      tableColumns(shape).map((column) => [column.name, column.type]),
      [
        ['window_start', 'UInt64'],
        ['window_end', 'UInt64'],
        ['user_id', 'String'],
        ['geo.country', 'String'],
        ['events', 'UInt64'],
        ['amount', 'Nullable(Float64)'],
        ['pages', 'UInt64'],
        ['first_page', 'Nullable(String)'],
        ['version', 'UInt64'],
      ],
    );
  });

  it('creates a ReplacingMergeTree on version, ordered by key then window_start, partitioned by day', () => {
    const sql = createTableSql('default', 'clicks', shape);
    assert.match(sql, /^CREATE TABLE IF NOT EXISTS `default`\.`clicks` \(`window_start` UInt64, /);
    assert.match(sql, /ENGINE = ReplacingMergeTree\(version\)/);
    assert.match(sql, /PARTITION BY toYYYYMMDD\(toDateTime\(intDiv\(window_start, 1000\)\)\)/);
    assert.match(sql, /ORDER BY \(`user_id`, `geo\.country`, window_start\)$/);
  });

  it('finds missing and mistyped columns and ignores extra ones', () => {
    const existing = new Map([
      ['window_start', 'UInt64'],
      ['window_end', 'UInt64'],
      ['user_id', 'String'],
      ['geo.country', 'String'],
      ['events', 'UInt32'],
      ['pages', 'UInt64'],
      ['version', 'UInt64'],
      ['removed_aggregate', 'UInt64'],
    ]);
    const difference = compareSchema(existing, tableColumns(shape));
    assert.deepEqual(
      difference.missing.map((column) => column.name),
      ['amount', 'first_page'],
    );
    assert.deepEqual(difference.mistyped, [{ name: 'events', expected: 'UInt64', actual: 'UInt32' }]);
  });

  it('adds a column with its derived type', () => {
    const [amount] = tableColumns(shape).filter((column) => column.name === 'amount');
    assert.equal(
      addColumnSql('default', 'clicks', amount as never),
      'ALTER TABLE `default`.`clicks` ADD COLUMN `amount` Nullable(Float64)',
    );
  });

  it('converts key values to text, keeps null aggregates null and counts numeric', () => {
    const row = toTableRow(tableColumns(shape), {
      window_start: 1000,
      window_end: 2000,
      user_id: 42,
      'geo.country': null,
      events: 3,
      amount: null,
      pages: 2,
      first_page: 7,
      version: 1,
    });
    assert.deepEqual(row, {
      window_start: 1000,
      window_end: 2000,
      user_id: '42',
      'geo.country': '',
      events: 3,
      amount: null,
      pages: 2,
      first_page: '7',
      version: 1,
    });
  });

  it('quotes string literals so a name cannot end the literal', () => {
    assert.equal(quoteString("it's"), "'it\\'s'");
    assert.equal(quoteString('a\\b'), "'a\\\\b'");
  });
});
