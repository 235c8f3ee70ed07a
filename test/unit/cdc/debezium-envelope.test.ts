import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildEnvelope,
  type Change,
  DEBEZIUM_VERSION,
  type TableShape,
  UNAVAILABLE_VALUE,
} from '../../../actors/cdc/debezium-envelope.ts';

const shape: TableShape = {
  schema: 'public',
  table: 'users',
  columns: [
    { name: 'id', typeOid: 23, typeMod: -1 },
    { name: 'name', typeOid: 25, typeMod: -1 },
    { name: 'bio', typeOid: 25, typeMod: -1 },
  ],
  keyColumns: ['id'],
  version: 2,
};
const context = { name: 'shop', db: 'sluice_test', nowMs: 1_000 };

function change(overrides: Partial<Change>): Change {
  return {
    op: 'c',
    shape,
    before: null,
    keyOnly: false,
    after: { id: '1', name: 'ann', bio: null },
    txId: 77,
    lsn: 500n,
    lastCommitLsn: 400n,
    commitTimeMs: 900,
    snapshot: 'false',
    ...overrides,
  };
}

describe('Debezium envelopes', () => {
  it('an insert carries after, source, op c, ts_ms, the key and the schema version', () => {
    const envelope = buildEnvelope(change({}), context);
    assert.deepEqual(envelope, {
      before: null,
      after: { id: 1, name: 'ann', bio: null },
      source: {
        version: DEBEZIUM_VERSION,
        connector: 'postgresql',
        name: 'shop',
        ts_ms: 900,
        snapshot: 'false',
        db: 'sluice_test',
        sequence: '["400","500"]',
        schema: 'public',
        table: 'users',
        txId: 77,
        lsn: 500,
        xmin: null,
      },
      op: 'c',
      ts_ms: 1_000,
      transaction: null,
      _key: { id: 1 },
      _schemaVersion: 2,
    });
  });

  it('a delete without REPLICA IDENTITY FULL has the key columns in before and nulls elsewhere', () => {
    const envelope = buildEnvelope(
      change({ op: 'd', before: { id: '1' }, keyOnly: true, after: null }),
      context,
    );
    assert.deepEqual(envelope.before, { id: 1, name: null, bio: null });
    assert.equal(envelope.after, null);
    assert.deepEqual(envelope._key, { id: 1 });
  });

  it('an unchanged TOASTed value is marked unavailable, never null', () => {
    const envelope = buildEnvelope(
      change({ op: 'u', after: { id: '1', name: 'bob', bio: undefined } }),
      context,
    );
    assert.deepEqual(envelope.after, { id: 1, name: 'bob', bio: UNAVAILABLE_VALUE });
  });

  it('a snapshot read is op r with no previous commit in its sequence', () => {
    const envelope = buildEnvelope(
      change({ op: 'r', snapshot: 'true', lastCommitLsn: null, txId: null }),
      context,
    );
    assert.equal(envelope.op, 'r');
    assert.equal((envelope.source as Record<string, unknown>).sequence, '[null,"500"]');
  });

  it('a table without a primary key has a null key', () => {
    const envelope = buildEnvelope(change({ shape: { ...shape, keyColumns: [] } }), context);
    assert.equal(envelope._key, null);
  });
});
