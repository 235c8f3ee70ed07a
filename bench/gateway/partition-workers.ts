import { Worker } from 'node:worker_threads';
import type { PackedLogRecords } from '../../actors/gateway/log-batch.ts';
import type { LatencyPercentiles } from '../lib/figures.ts';

/**
 * The main-thread side of the gateway bench's partition stand-in (partition-stand-in.ts):
 * `deliver` transfers a feeder's records to the thread and resolves once they are
 * applied, so a feeder has one message in flight, as with a full mailbox.
 */
export interface StandInData {
  partitions: number;
  windows: boolean;
}

export type StandInRequest =
  | { type: 'records'; seq: number; partition: number; records: PackedLogRecords }
  | { type: 'finish' };

export type StandInReply =
  | { type: 'ready' }
  | { type: 'applied'; seq: number; delivered: number }
  | {
      type: 'finished';
      delivered: number;
      counted: number | null;
      late: number;
      applied: LatencyPercentiles | null;
    };

export type StandInTotals = Omit<Extract<StandInReply, { type: 'finished' }>, 'type'>;

interface Pending<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

export class PartitionStandIn {
  readonly #worker: Worker;
  readonly #waiting = new Map<number, Pending<void>>();
  #finished: Pending<StandInTotals> | null = null;
  /** Set once the thread failed: every wait then rejects with it (the run fails, never hangs). */
  #failure: Error | null = null;
  /** Resolves once the thread has loaded its code, so that its start-up is not measured. */
  readonly ready: Promise<void>;
  #seq = 0;
  /** Events the stand-in decoded so far. */
  delivered = 0;

  constructor(data: StandInData) {
    this.#worker = new Worker(new URL('./partition-stand-in.js', import.meta.url), { workerData: data });
    let loaded: Pending<void> | null = null;
    this.ready = new Promise((resolve, reject) => {
      loaded = { resolve, reject };
    });
    const fail = (error: Error) => {
      this.#failure ??= error;
      loaded?.reject(this.#failure);
      for (const pending of this.#waiting.values()) pending.reject(this.#failure);
      this.#waiting.clear();
      this.#finished?.reject(this.#failure);
    };
    this.#worker.once('error', fail);
    this.#worker.once('exit', (code) => fail(new Error(`the partition stand-in exited with ${code}`)));
    this.#worker.on('message', (reply: StandInReply) => {
      if (reply.type === 'ready') loaded?.resolve();
      else if (reply.type === 'applied') {
        this.delivered = reply.delivered;
        this.#waiting.get(reply.seq)?.resolve();
        this.#waiting.delete(reply.seq);
      } else {
        const { type: _, ...totals } = reply;
        this.#finished?.resolve(totals);
      }
    });
  }

  deliver(partition: number, records: PackedLogRecords): Promise<void> {
    if (this.#failure !== null) return Promise.reject(this.#failure);
    const seq = this.#seq++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(seq, { resolve, reject });
      this.#worker.postMessage({ type: 'records', seq, partition, records } satisfies StandInRequest, [
        records.buffer,
      ]);
    });
  }

  /** Fires the windows, ends the thread; the totals over the run. */
  async finish(): Promise<StandInTotals> {
    if (this.#failure !== null) throw this.#failure;
    const totals = await new Promise<StandInTotals>((resolve, reject) => {
      this.#finished = { resolve, reject };
      this.#worker.postMessage({ type: 'finish' } satisfies StandInRequest);
    });
    this.#worker.removeAllListeners('exit');
    await this.#worker.terminate();
    return totals;
  }
}
