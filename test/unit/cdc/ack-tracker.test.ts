import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AckTracker } from '../../../actors/cdc/ack-tracker.ts';
import { streamPosition } from '../../../actors/cdc/lsn.ts';

describe('the slot confirms only what every table partition checkpointed', () => {
  it('with nothing pending, the end of the last handled transaction is confirmed', () => {
    const tracker = new AckTracker(2, 50n);
    assert.equal(tracker.safeLsn(), 50n);
    tracker.transactionHandled(120n);
    assert.equal(tracker.safeLsn(), 120n);
  });

  it('a pending batch holds the slot at its commit LSN until checkpointed', () => {
    const tracker = new AckTracker(2, 50n);
    tracker.delivered(0, streamPosition(100n, 0));
    tracker.transactionHandled(110n);
    tracker.delivered(1, streamPosition(200n, 3));
    tracker.transactionHandled(210n);
    assert.equal(tracker.safeLsn(), 100n);
    tracker.checkpointed(0, streamPosition(100n, 0));
    assert.equal(tracker.safeLsn(), 200n);
    tracker.checkpointed(1, streamPosition(200n, 3));
    assert.equal(tracker.safeLsn(), 210n);
    assert.equal(tracker.pendingBatches(), 0);
  });

  it('a checkpoint in the middle of a transaction keeps the slot before that transaction', () => {
    const tracker = new AckTracker(1, 0n);
    tracker.delivered(0, streamPosition(300n, 499));
    tracker.delivered(0, streamPosition(300n, 999));
    tracker.transactionHandled(310n);
    tracker.checkpointed(0, streamPosition(300n, 499));
    assert.equal(tracker.safeLsn(), 300n);
    tracker.checkpointed(0, streamPosition(300n, 999));
    assert.equal(tracker.safeLsn(), 310n);
  });

  it('a quiet partition holds nothing back', () => {
    const tracker = new AckTracker(3, 0n);
    tracker.delivered(2, streamPosition(10n, 0));
    tracker.transactionHandled(11n);
    tracker.checkpointed(2, streamPosition(10n, 0));
    tracker.transactionHandled(40n);
    assert.equal(tracker.safeLsn(), 40n);
  });
});
