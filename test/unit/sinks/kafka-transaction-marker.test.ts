import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  markerOf,
  pendingOutcome,
  RowDigest,
  transactionIdentity,
} from '../../../actors/sinks/kafka-transaction-marker.ts';

const rows =
  '{"window_start":0,"user_id":"u1","events":3,"version":1}\n{"window_start":0,"user_id":"u2","events":1,"version":1}\n';

describe('kafka transaction marker', () => {
  it('gives each (job, sink, source partition) its own transactional id and marker group', () => {
    const one = transactionIdentity('clicks', 'out', 'events/3');
    assert.deepEqual(one, {
      transactionalId: 'sluice.clicks.out.events.3',
      markerGroup: 'sluice.clicks.out.events.3.txn',
    });
    assert.notEqual(transactionIdentity('clicks', 'out', 'events/4').transactionalId, one.transactionalId);
    assert.notEqual(transactionIdentity('clicks', 'other', 'events/3').transactionalId, one.transactionalId);
    assert.notEqual(transactionIdentity('views', 'out', 'events/3').transactionalId, one.transactionalId);
  });

  it('digests rows fed in pieces exactly like the same rows recorded whole by the checkpoint', () => {
    const digest = new RowDigest();
    assert.equal(digest.empty, true);
    const [first, second] = rows.split(/(?<=\n)/);
    digest.add(first);
    digest.add(second);
    assert.equal(digest.empty, false);
    assert.deepEqual(digest.marker(7), markerOf({ checkpoint: 7, rows }));
    assert.equal(digest.empty, true, 'a marker starts the next transaction afresh');
  });

  it('puts the checkpoint id in the offset and a digest of the rows in the metadata', () => {
    const marker = markerOf({ checkpoint: 12, rows });
    assert.equal(marker.offset, '12');
    assert.match(marker.metadata, /^\d+:[A-Za-z0-9_-]{43}$/);
    assert.notEqual(
      markerOf({ checkpoint: 12, rows: rows.replace('"events":3', '"events":4') }).metadata,
      marker.metadata,
    );
  });

  it('drops the recorded rows when the marker group holds exactly their marker (the transaction committed)', () => {
    const pending = { checkpoint: 5, rows };
    assert.equal(pendingOutcome(markerOf(pending), pending), 'committed');
  });

  it('resends the recorded rows when their transaction did not commit', () => {
    const pending = { checkpoint: 5, rows };
    assert.equal(pendingOutcome(null, pending), 'resend', 'nothing ever committed');
    assert.equal(
      pendingOutcome(markerOf({ checkpoint: 4, rows: 'x\n' }), pending),
      'resend',
      'the previous checkpoint committed, this one aborted',
    );
    assert.equal(
      pendingOutcome(
        { offset: '5', metadata: markerOf({ checkpoint: 5, rows: 'other\n' }).metadata },
        pending,
      ),
      'resend',
      'the same checkpoint id with other rows: another run (state wiped) committed it',
    );
    assert.equal(pendingOutcome({ offset: '5', metadata: null }, pending), 'resend');
  });
});
