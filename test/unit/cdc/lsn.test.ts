import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  comparePositions,
  formatLsn,
  isSnapshotComplete,
  parseLsn,
  parsePosition,
  snapshotPosition,
  streamPosition,
} from '../../../actors/cdc/lsn.ts';

describe('LSNs and CDC positions', () => {
  it('an LSN round-trips between text and number', () => {
    assert.equal(parseLsn('16/B374D848'), (0x16n << 32n) | 0xb374d848n);
    assert.equal(formatLsn(parseLsn('0/1A')), '0/0000001A');
    assert.equal(formatLsn(parseLsn('16/B374D848')), '16/B374D848');
    assert.throws(() => parseLsn('nope'));
  });

  it('streamed positions order by commit LSN, then by ordinal in the transaction', () => {
    const a = parsePosition(streamPosition(100n, 5));
    const b = parsePosition(streamPosition(101n, 0));
    const c = parsePosition(streamPosition(101n, 1));
    assert.ok(comparePositions(a, b) < 0);
    assert.ok(comparePositions(b, c) < 0);
    assert.equal(comparePositions(c, parsePosition(streamPosition(101n, 1))), 0);
  });

  it('snapshot rows sort before streamed changes at the consistent point', () => {
    const row = parsePosition(snapshotPosition(100n, 9, 10));
    assert.ok(comparePositions(row, parsePosition(streamPosition(100n, 0))) < 0);
    assert.ok(isSnapshotComplete(row));
    assert.equal(isSnapshotComplete(parsePosition(snapshotPosition(100n, 3, 10))), false);
  });
});
