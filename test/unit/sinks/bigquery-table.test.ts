import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isRetriableBigQueryError } from '../../../actors/sinks/bigquery-sink.ts';
import { bigQueryFields, insertIdOf, toBigQueryRow } from '../../../actors/sinks/bigquery-table.ts';

const shape = {
  groupBy: ['user_id'],
  aggregates: [
    { name: 'events', fn: 'count' as const },
    { name: 'amount', fn: 'avg' as const, field: 'amount' },
    { name: 'last_page', fn: 'last' as const, field: 'page' },
  ],
};

describe('bigquery table', () => {
  it('derives a schema with TIMESTAMP window bounds and typed aggregates', () => {
    assert.deepEqual(
      bigQueryFields(shape).map((field) => `${field.name}:${field.type}:${field.mode}`),
      [
        'window_start:TIMESTAMP:REQUIRED',
        'window_end:TIMESTAMP:REQUIRED',
        'user_id:STRING:NULLABLE',
        'events:INT64:REQUIRED',
        'amount:FLOAT64:NULLABLE',
        'last_page:STRING:NULLABLE',
        'version:INT64:REQUIRED',
      ],
    );
  });

  it('writes window bounds as ISO timestamps and key values as text', () => {
    const row = toBigQueryRow(bigQueryFields(shape), {
      window_start: Date.UTC(2026, 0, 1),
      window_end: Date.UTC(2026, 0, 1, 0, 0, 10),
      user_id: 7,
      events: 2,
      amount: null,
      last_page: '/a',
      version: 1,
    });
    assert.deepEqual(row, {
      window_start: '2026-01-01T00:00:00.000Z',
      window_end: '2026-01-01T00:00:10.000Z',
      user_id: '7',
      events: 2,
      amount: null,
      last_page: '/a',
      version: 1,
    });
  });

  it('gives a replayed firing the same insertId and another version or key a different one', () => {
    const row = { window_start: 1000, user_id: 'u1', events: 3, version: 1 };
    const id = insertIdOf(row, ['user_id'], 'ignored');
    assert.equal(insertIdOf({ ...row }, ['user_id'], 'other text'), id);
    assert.notEqual(insertIdOf({ ...row, version: 2 }, ['user_id'], ''), id);
    assert.notEqual(insertIdOf({ ...row, user_id: 'u2' }, ['user_id'], ''), id);
    assert.ok(id.length <= 128);
  });

  it('retries 429, 5xx and network failures but not other 4xx', () => {
    assert.equal(isRetriableBigQueryError({ code: 503 }), true);
    assert.equal(isRetriableBigQueryError({ code: 429 }), true);
    assert.equal(isRetriableBigQueryError(new Error('ECONNREFUSED')), true);
    assert.equal(isRetriableBigQueryError({ code: 404 }), false);
  });
});
