import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { unwrapEnvelope } from '../../../actors/cdc/unwrap-envelope.ts';

const source = { schema: 'public', table: 'orders', lsn: 42, ts_ms: 1_700_000_000_000 };

describe('unwrapped CDC events (ExtractNewRecordState)', () => {
  it('an insert or update becomes its new row plus metadata fields', () => {
    const flat = unwrapEnvelope({ before: null, after: { id: 1, user_id: 7 }, source, op: 'c', ts_ms: 5 });
    assert.deepEqual(flat, {
      id: 1,
      user_id: 7,
      __op: 'c',
      __table: 'public.orders',
      __lsn: 42,
      __source_ts_ms: 1_700_000_000_000,
      __deleted: 'false',
    });
  });

  it('a delete becomes the old row marked deleted', () => {
    const flat = unwrapEnvelope({ before: { id: 1, user_id: null }, after: null, source, op: 'd', ts_ms: 5 });
    assert.equal(flat.__deleted, 'true');
    assert.equal(flat.id, 1);
    assert.equal(flat.__op, 'd');
  });
});
