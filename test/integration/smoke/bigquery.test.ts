import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BigQuery, type Table } from '@google-cloud/bigquery';
import { bigQueryClientOptions, bigquery, uniqueName } from '../helpers/services.ts';

describe('BigQuery smoke: the emulator through @google-cloud/bigquery', { timeout: 60_000 }, () => {
  const client = new BigQuery(bigQueryClientOptions());
  const tableId = uniqueName('smoke_rows');
  let table: Table;

  before(async () => {
    [table] = await client.dataset(bigquery.dataset).createTable(tableId, {
      schema: {
        fields: [
          { name: 'window_start', type: 'TIMESTAMP', mode: 'REQUIRED' },
          { name: 'key', type: 'STRING', mode: 'REQUIRED' },
          { name: 'clicks', type: 'INT64' },
          { name: 'version', type: 'INT64' },
        ],
      },
    });
  });

  after(async () => {
    await table?.delete().catch(() => {});
  });

  it('finds the dataset that deploy/local created', async () => {
    const [exists] = await client.dataset(bigquery.dataset).exists();
    assert.equal(exists, true);
  });

  it('returns rows streamed with insertAll to a query job', async () => {
    await table.insert(
      [
        {
          insertId: 'w0-a-1',
          json: { window_start: '2024-01-01T00:00:00Z', key: 'a', clicks: 3, version: 1 },
        },
        {
          insertId: 'w0-b-1',
          json: { window_start: '2024-01-01T00:00:00Z', key: 'b', clicks: 5, version: 1 },
        },
      ],
      { raw: true },
    );
    const [job] = await client.createQueryJob({
      query: `SELECT key, clicks, version FROM \`${bigquery.projectId}.${bigquery.dataset}.${tableId}\` ORDER BY key`,
    });
    const [rows] = await job.getQueryResults();
    assert.deepEqual(rows, [
      { key: 'a', clicks: 3, version: 1 },
      { key: 'b', clicks: 5, version: 1 },
    ]);
  });

  it('counts those rows with a parameterised jobs.query', async () => {
    const [rows] = await client.query({
      query: `SELECT COUNT(*) AS n FROM \`${bigquery.dataset}.${tableId}\` WHERE clicks >= @least`,
      params: { least: 4 },
    });
    assert.deepEqual(rows, [{ n: 1 }]);
  });
});
