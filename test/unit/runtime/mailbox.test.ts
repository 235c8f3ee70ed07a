import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MailboxClosedError } from '../../../runtime/actor-errors.ts';
import { Mailbox } from '../../../runtime/mailbox.ts';

describe('Mailbox', () => {
  it('delivers messages in the order they were put', async () => {
    const mailbox = new Mailbox<number>('m', 10);
    for (let i = 0; i < 5; i++) await mailbox.put(i);
    const taken = [];
    for (let i = 0; i < 5; i++) taken.push(await mailbox.take());
    assert.deepEqual(taken, [0, 1, 2, 3, 4]);
  });

  it('refuses offers when full and makes put wait until space frees', async () => {
    const mailbox = new Mailbox<string>('m', 2);
    assert.equal(mailbox.offer('a'), true);
    assert.equal(mailbox.offer('b'), true);
    assert.equal(mailbox.offer('c'), false);
    let accepted = false;
    const put = mailbox.put('c').then(() => {
      accepted = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(accepted, false);
    assert.equal(mailbox.depth, 2);
    assert.equal(mailbox.tryTake(), 'a');
    await put;
    assert.equal(accepted, true);
    assert.deepEqual([mailbox.tryTake(), mailbox.tryTake()], ['b', 'c']);
  });

  it('never holds more ordinary messages than its capacity', async () => {
    const mailbox = new Mailbox<number>('m', 3);
    const puts = Array.from({ length: 20 }, (_, i) => mailbox.put(i));
    let maxDepth = 0;
    const taken: number[] = [];
    while (taken.length < 20) {
      maxDepth = Math.max(maxDepth, mailbox.depth);
      taken.push((await mailbox.take())!);
    }
    await Promise.all(puts);
    assert.ok(maxDepth <= 3);
    assert.deepEqual(
      taken,
      Array.from({ length: 20 }, (_, i) => i),
    );
  });

  it('lets control items through a full mailbox while keeping their place in order', () => {
    const mailbox = new Mailbox<string>('m', 1);
    assert.equal(mailbox.offer('message'), true);
    mailbox.putControl('control');
    assert.equal(mailbox.depth, 2);
    assert.equal(mailbox.offer('other'), false);
    assert.deepEqual([mailbox.tryTake(), mailbox.tryTake()], ['message', 'control']);
  });

  it('wakes a waiting consumer when an item arrives', async () => {
    const mailbox = new Mailbox<string>('m', 1);
    const taking = mailbox.take();
    mailbox.putControl('x');
    assert.equal(await taking, 'x');
  });

  it('accepts nothing once quiesced but drains what it holds, then reports the end', async () => {
    const mailbox = new Mailbox<string>('m', 1);
    await mailbox.put('kept');
    const waiting = mailbox.put('refused');
    mailbox.quiesce();
    assert.equal(mailbox.state, 'QUIESCED');
    await assert.rejects(waiting, MailboxClosedError);
    assert.equal(mailbox.offer('late'), false);
    assert.throws(() => mailbox.putControl('late'), MailboxClosedError);
    assert.equal(await mailbox.take(), 'kept');
    assert.equal(await mailbox.take(), undefined);
  });

  it('releases a consumer waiting on an empty mailbox when quiesced', async () => {
    const mailbox = new Mailbox<string>('m', 1);
    const taking = mailbox.take();
    mailbox.quiesce();
    assert.equal(await taking, undefined);
  });

  it('hands back undelivered items on close and rejects waiting producers', async () => {
    const mailbox = new Mailbox<string>('m', 2);
    await mailbox.put('a');
    mailbox.putControl('ctl');
    await mailbox.put('b');
    const waiting = mailbox.put('c');
    assert.equal(mailbox.tryTake(), 'a');
    await waiting;
    const blocked = mailbox.put('d');
    assert.deepEqual(mailbox.close(), ['ctl', 'b', 'c']);
    assert.equal(mailbox.state, 'CLOSED');
    assert.equal(mailbox.depth, 0);
    await assert.rejects(blocked, MailboxClosedError);
    await assert.rejects(mailbox.put('e'), MailboxClosedError);
  });

  it('reports each item taken so hosts can return credit', () => {
    const taken: boolean[] = [];
    const mailbox = new Mailbox<string>('m', 2, (control) => taken.push(control));
    mailbox.offer('a');
    mailbox.putControl('b');
    mailbox.tryTake();
    mailbox.tryTake();
    assert.deepEqual(taken, [false, true]);
  });

  it('rejects a capacity that is not a positive integer', () => {
    assert.throws(() => new Mailbox('m', 0), RangeError);
  });
});
