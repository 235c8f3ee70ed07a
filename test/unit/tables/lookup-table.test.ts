import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { UNAVAILABLE_VALUE } from '../../../actors/cdc/debezium-envelope.ts';
import { unwrapEnvelope } from '../../../actors/cdc/unwrap-envelope.ts';
import { LookupTable } from '../../../actors/tables/lookup-table.ts';
import { lookupKeyText, tableChange } from '../../../actors/tables/table-change.ts';
import { createLogger } from '../../../runtime/logger.ts';

type Row = Record<string, unknown>;

function envelope(op: 'c' | 'u' | 'd' | 'r', before: Row | null, after: Row | null): Row {
  return {
    before,
    after,
    source: { schema: 'public', table: 'users', lsn: 1, ts_ms: 1 },
    op,
    ts_ms: 1,
    _key: { id: (after ?? before)?.id },
  };
}

async function withTable<T>(run: (open: () => Promise<LookupTable>) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-table-'));
  try {
    return await run(() =>
      LookupTable.open({
        name: 'users',
        dir,
        keyColumn: 'id',
        keep: 2,
        snapshotEvery: 2,
        log: createLogger({ level: 'error' }),
      }),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function contents(table: LookupTable): Promise<Record<string, Row>> {
  const rows: Record<string, Row> = {};
  for await (const [key, row] of table.rows()) rows[key] = row;
  return rows;
}

describe('table changes', () => {
  it('match keys by their text, and refuse values that cannot be keys', () => {
    assert.equal(lookupKeyText(42), '42');
    assert.equal(lookupKeyText('42'), '42');
    assert.equal(lookupKeyText(10n), '10');
    assert.equal(lookupKeyText(true), 'true');
    for (const value of [null, undefined, Number.NaN, { id: 1 }, [1]])
      assert.equal(lookupKeyText(value), null);
  });

  it('read a Debezium envelope and its unwrapped form alike', () => {
    const update = envelope('u', { id: 1, country: 'US' }, { id: 1, country: 'FR' });
    const expected = {
      kind: 'upsert',
      key: '1',
      row: { id: 1, country: 'FR' },
      previousKey: null,
      unchangedToast: [],
    };
    assert.deepEqual(tableChange(update, 'id'), expected);
    assert.deepEqual(tableChange(unwrapEnvelope(update), 'id'), expected);
    const deletion = envelope('d', { id: 1, country: null }, null);
    assert.deepEqual(tableChange(deletion, 'id'), { kind: 'delete', key: '1' });
    assert.deepEqual(tableChange(unwrapEnvelope(deletion), 'id'), { kind: 'delete', key: '1' });
  });

  it('see a key change in an update and name unchanged TOASTed columns', () => {
    const change = tableChange(envelope('u', { id: 1 }, { id: 2, bio: UNAVAILABLE_VALUE }), 'id');
    assert.deepEqual(change, {
      kind: 'upsert',
      key: '2',
      row: { id: 2, bio: UNAVAILABLE_VALUE },
      previousKey: '1',
      unchangedToast: ['bio'],
    });
    assert.equal(tableChange(envelope('c', null, { name: 'x' }), 'id').kind, 'skip');
  });
});

describe('lookup table', () => {
  it('upserts by key and removes on delete, in the order of the changes', async () => {
    await withTable(async (open) => {
      const table = await open();
      const applied = await table.apply(
        [
          envelope('r', null, { id: 1, country: 'US' }),
          envelope('r', null, { id: 2, country: 'DE' }),
          envelope('u', { id: 1 }, { id: 1, country: 'FR' }),
          envelope('d', { id: 2 }, null),
          envelope('c', null, { id: 3, country: 'JP' }),
        ],
        ['snapshot@0/100#0/2', 'snapshot@0/100#1/2', '0/200#0', '0/200#1', '0/300#0'],
      );
      assert.deepEqual(applied, [
        ['1', { id: 1, country: 'US' }],
        ['2', { id: 2, country: 'DE' }],
        ['1', { id: 1, country: 'FR' }],
        ['2', null],
        ['3', { id: 3, country: 'JP' }],
      ]);
      assert.deepEqual(await contents(table), { 1: { id: 1, country: 'FR' }, 3: { id: 3, country: 'JP' } });
      assert.equal(table.position, '0/300#0');
      assert.deepEqual(table.counters, { upserts: 4, deletes: 1, repeated: 0, unusable: 0 });
      await table.close();
    });
  });

  it('restores rows and position from its checkpoint, not the changes after it', async () => {
    await withTable(async (open) => {
      const first = await open();
      await first.apply([envelope('c', null, { id: 1, country: 'US' })], ['0/100#0']);
      assert.equal(await first.checkpoint(), '0/100#0');
      assert.equal(await first.checkpoint(), null, 'nothing new: no checkpoint');
      await first.apply([envelope('u', null, { id: 1, country: 'FR' })], ['0/200#0']);
      await first.close(); // a crash: the change after the checkpoint is not durable

      const second = await open();
      assert.equal(second.checkpointedPosition, '0/100#0');
      assert.deepEqual(await contents(second), { 1: { id: 1, country: 'US' } });
      // The stream resumes at the checkpoint: the change there is skipped, the one after it applied.
      const applied = await second.apply(
        [envelope('c', null, { id: 1, country: 'US' }), envelope('u', null, { id: 1, country: 'FR' })],
        ['0/100#0', '0/200#0'],
      );
      assert.deepEqual(applied, [['1', { id: 1, country: 'FR' }]]);
      assert.equal(second.counters.repeated, 1);
      await second.apply([envelope('d', { id: 1 }, null)], ['0/300#0']);
      await second.checkpoint(true);
      await second.close();

      const third = await open();
      assert.deepEqual(await contents(third), {});
      assert.equal(third.position, '0/300#0');
      await third.close();
    });
  });

  it('keeps the stored value of an unchanged TOASTed column and moves a row whose key changed', async () => {
    await withTable(async (open) => {
      const table = await open();
      await table.apply([envelope('c', null, { id: 1, bio: 'long text', country: 'US' })], ['0/100#0']);
      await table.checkpoint();
      await table.apply(
        [envelope('u', { id: 1 }, { id: 5, bio: UNAVAILABLE_VALUE, country: 'FR' })],
        ['0/200#0'],
      );
      assert.deepEqual(await contents(table), { 5: { id: 5, bio: 'long text', country: 'FR' } });
      await table.close();
    });
  });
});
