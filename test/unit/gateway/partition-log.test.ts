import assert from 'node:assert/strict';
import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { encodeRecord, scanRecords } from '../../../actors/gateway/log-record.ts';
import { PartitionLog } from '../../../actors/gateway/partition-log.ts';

const root = mkdtempSync(join(tmpdir(), 'sluice-partition-log-'));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshDir = () => join(root, `log${counter++}`);
const text = (buffers: Buffer[]) => buffers.map((buffer) => buffer.toString());

describe('log records', () => {
  it('scan back what was encoded and stop at a torn or corrupt record', () => {
    const whole = Buffer.concat([encodeRecord(Buffer.from('one')), encodeRecord(Buffer.from('two'))]);
    assert.deepEqual(text(scanRecords(whole).payloads), ['one', 'two']);
    const torn = scanRecords(whole.subarray(0, whole.length - 1));
    assert.deepEqual([text(torn.payloads), torn.stop], [['one'], 'short']);
    const flipped = Buffer.from(whole);
    flipped[flipped.length - 1] ^= 1;
    const corrupt = scanRecords(flipped);
    assert.deepEqual([text(corrupt.payloads), corrupt.stop], [['one'], 'crc']);
  });
});

describe('PartitionLog', () => {
  it('numbers records from 0 and reads only what a sync made durable', async () => {
    const log = PartitionLog.open(freshDir(), { segmentBytes: 1 << 20, durableOnWrite: false });
    assert.equal(log.append(Buffer.from('a')), 0);
    assert.equal(log.append(Buffer.from('b')), 1);
    assert.deepEqual(log.read(0, 1 << 20), []);
    await log.sync();
    assert.equal(log.durableEnd, 2);
    assert.deepEqual(text(log.read(0, 1 << 20)), ['a', 'b']);
    assert.deepEqual(text(log.read(1, 1 << 20)), ['b']);
    log.close();
  });

  it('cuts a torn tail off when it opens and keeps numbering after the last whole record', async () => {
    const dir = freshDir();
    const log = PartitionLog.open(dir, { segmentBytes: 1 << 20, durableOnWrite: false });
    for (const value of ['a', 'b', 'c']) log.append(Buffer.from(value));
    await log.sync();
    log.close();
    const segment = join(dir, readdirSync(dir)[0]);
    truncateSync(segment, statSync(segment).size - 2);
    appendFileSync(segment, Buffer.from([1, 2]));
    const reopened = PartitionLog.open(dir, { segmentBytes: 1 << 20, durableOnWrite: false });
    assert.ok(reopened.truncatedBytes > 0);
    assert.equal(reopened.end, 2);
    assert.equal(reopened.append(Buffer.from('c2')), 2);
    await reopened.sync();
    assert.deepEqual(text(reopened.read(0, 1 << 20)), ['a', 'b', 'c2']);
    reopened.close();
  });

  it('hands appended records to the OS only on write, all in one piece, and counts them durable then with durableOnWrite', () => {
    const dir = freshDir();
    const log = PartitionLog.open(dir, { segmentBytes: 1 << 20, durableOnWrite: true });
    log.append(Buffer.from('a'));
    log.append(Buffer.from('b'));
    const segment = join(dir, readdirSync(dir)[0]);
    assert.equal(statSync(segment).size, 0);
    assert.equal(log.durableEnd, 0);
    log.write();
    assert.deepEqual(text(scanRecords(readFileSync(segment)).payloads), ['a', 'b']);
    assert.equal(log.durableEnd, 2);
    log.close();
  });

  it('reads the same records from memory as from disk, whether the reader keeps up or falls behind', async () => {
    const dir = freshDir();
    // A tail of 40 bytes holds the newest few records only.
    const log = PartitionLog.open(dir, { segmentBytes: 64, durableOnWrite: false, tailBytes: 40 });
    const written: string[] = [];
    const read: string[] = [];
    let next = 0;
    for (let round = 0; round < 12; round++) {
      for (let index = 0; index < (round % 4) + 1; index++) {
        written.push(`r${round}-${index}`);
        log.append(Buffer.from(written.at(-1) as string));
      }
      await log.sync();
      // Every third round the reader lags and reads two rounds at once, partly from disk.
      if (round % 3 === 1) continue;
      while (next < log.durableEnd) {
        const payloads = log.read(next, 16);
        read.push(...text(payloads));
        next += payloads.length;
      }
    }
    assert.deepEqual(read, written);
    log.close();
    const reopened = PartitionLog.open(dir, { segmentBytes: 64, durableOnWrite: false });
    assert.deepEqual(text(reopened.read(0, 1 << 20)), written);
    reopened.close();
  });

  it('rolls segments, reads across them and deletes only segments wholly below an offset', async () => {
    const dir = freshDir();
    const log = PartitionLog.open(dir, { segmentBytes: 20, durableOnWrite: true });
    for (let index = 0; index < 10; index++) log.append(Buffer.from(`record-${index}`));
    log.write();
    const segments = readdirSync(dir).length;
    assert.ok(segments >= 5, `expected several segments, got ${segments}`);
    assert.deepEqual(text(log.read(3, 10)), ['record-3']);
    assert.equal(log.read(0, 1 << 20).length, 10);
    log.deleteBelow(5);
    assert.ok(log.start <= 5 && log.start > 0);
    assert.deepEqual(text(log.read(5, 1 << 20)).at(-1), 'record-9');
    assert.throws(() => log.read(0, 10), /deleted/);
    log.close();
    const reopened = PartitionLog.open(dir, { segmentBytes: 20, durableOnWrite: true });
    assert.equal(reopened.end, 10);
    assert.deepEqual(text(reopened.read(7, 1 << 20)), ['record-7', 'record-8', 'record-9']);
    reopened.close();
  });
});
