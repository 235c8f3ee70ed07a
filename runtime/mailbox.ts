import { MailboxClosedError } from './actor-errors.ts';

export type MailboxState = 'OPEN' | 'QUIESCED' | 'CLOSED';

interface Entry<T> {
  item: T;
  control: boolean;
}

interface PendingPut<T> {
  item: T;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * A bounded FIFO mailbox for one actor.
 *
 * Threading model: owned by one thread (the actor's). Producers in other threads reach
 * it only through their host, which turns cross-thread credits into `offer` calls;
 * nothing here is shared memory.
 *
 * Capacity counts ordinary messages only. Control items (timers, asks, acknowledgements)
 * bypass it so they get through a full mailbox, yet they keep their place in the one
 * FIFO order, so an ask still observes every message told before it.
 *
 * Life cycle: OPEN → QUIESCED → CLOSED.
 * - OPEN: `put`, `offer` and `putControl` accept items; `put` waits while full.
 * - QUIESCED (`quiesce()`): nothing new is accepted, waiting puts are rejected, and the
 *   consumer drains what was accepted; `take` resolves `undefined` once empty.
 * - CLOSED (`close()`): returns the items never delivered; waiting puts are rejected.
 */
export class Mailbox<T> {
  readonly name: string;
  readonly capacity: number;
  private queue: Entry<T>[] = [];
  private head = 0;
  private ordinary = 0;
  private current: MailboxState = 'OPEN';
  private putters: PendingPut<T>[] = [];
  private taker: ((entry: Entry<T> | undefined) => void) | undefined;
  private readonly onTaken: ((control: boolean) => void) | undefined;

  /** `onTaken` runs each time an item leaves the mailbox (hosts turn it into credit). */
  constructor(name: string, capacity: number, onTaken?: (control: boolean) => void) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`mailbox capacity must be a positive integer, got ${capacity}`);
    }
    this.name = name;
    this.capacity = capacity;
    this.onTaken = onTaken;
  }

  get state(): MailboxState {
    return this.current;
  }

  /** Items accepted and not yet taken, control items included. */
  get depth(): number {
    return this.queue.length - this.head;
  }

  /** Producers waiting in `put` for space. */
  get waitingPuts(): number {
    return this.putters.length;
  }

  /** Accepts the message, waiting while the mailbox is full; rejects unless OPEN. */
  put(item: T): Promise<void> {
    if (this.offer(item)) return Promise.resolve();
    if (this.current !== 'OPEN') return Promise.reject(new MailboxClosedError(this.name, this.current));
    return new Promise((resolve, reject) => this.putters.push({ item, resolve, reject }));
  }

  /** Accepts the message only if there is room now (and nobody is queued ahead). */
  offer(item: T): boolean {
    if (this.current !== 'OPEN' || this.ordinary >= this.capacity || this.putters.length > 0) return false;
    this.append({ item, control: false });
    return true;
  }

  /** Accepts a control item regardless of capacity, behind everything already queued. */
  putControl(item: T): void {
    if (this.current !== 'OPEN') throw new MailboxClosedError(this.name, this.current);
    this.append({ item, control: true });
  }

  /** The next item, or `undefined` at once if empty. */
  tryTake(): T | undefined {
    const entry = this.shift();
    return entry?.item;
  }

  /** The next item; waits while empty and OPEN; `undefined` once drained after quiesce/close. */
  take(): Promise<T | undefined> {
    const entry = this.shift();
    if (entry || this.current !== 'OPEN') return Promise.resolve(entry?.item);
    if (this.taker) throw new Error(`mailbox ${this.name} has a single consumer`);
    return new Promise((resolve) => {
      this.taker = (next) => resolve(next?.item);
    });
  }

  /** Stops accepting; what was accepted stays to be drained. */
  quiesce(): void {
    if (this.current !== 'OPEN') return;
    this.current = 'QUIESCED';
    this.rejectPutters();
    if (this.depth === 0) this.wakeTaker(undefined);
  }

  /** Stops everything and hands back the items that were accepted but never taken. */
  close(): T[] {
    this.current = 'CLOSED';
    this.rejectPutters();
    const undelivered = this.queue.slice(this.head).map((entry) => entry.item);
    this.queue = [];
    this.head = 0;
    this.ordinary = 0;
    this.wakeTaker(undefined);
    return undelivered;
  }

  private append(entry: Entry<T>): void {
    if (!entry.control) this.ordinary++;
    if (this.taker && this.depth === 0) {
      this.deliver(entry);
      return;
    }
    this.queue.push(entry);
  }

  private shift(): Entry<T> | undefined {
    if (this.head >= this.queue.length) return undefined;
    const entry = this.queue[this.head]!;
    this.queue[this.head] = undefined as unknown as Entry<T>;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.taken(entry);
    return entry;
  }

  private deliver(entry: Entry<T>): void {
    const taker = this.taker!;
    this.taker = undefined;
    this.taken(entry);
    taker(entry);
  }

  private taken(entry: Entry<T>): void {
    if (!entry.control) {
      this.ordinary--;
      this.admitPutters();
    }
    this.onTaken?.(entry.control);
  }

  private admitPutters(): void {
    while (this.putters.length > 0 && this.ordinary < this.capacity && this.current === 'OPEN') {
      const next = this.putters.shift()!;
      this.append({ item: next.item, control: false });
      next.resolve();
    }
  }

  private wakeTaker(entry: Entry<T> | undefined): void {
    const taker = this.taker;
    this.taker = undefined;
    taker?.(entry);
  }

  private rejectPutters(): void {
    const putters = this.putters;
    this.putters = [];
    for (const putter of putters) putter.reject(new MailboxClosedError(this.name, this.current));
  }
}
