import type { PartitionMessage } from '../partition/partition-plan.ts';
import { packLogRecords } from './log-batch.ts';
import type { PartitionLog } from './partition-log.ts';

type LogMessage = Extract<PartitionMessage, { kind: 'log' }>;

/**
 * Delivers one partition's log to its partition actor, in order: first the replay from
 * the position after the actor's checkpoint, then each record as it becomes durable.
 * The log is the buffer: `deliver` waits while the actor's mailbox is full and the
 * feeder simply falls behind on disk, so memory stays bounded whatever the ingest rate.
 * Every event of record `n` carries position `n`; a message holds whole records only,
 * so the actor's position (the last one it processed) always ends a record. Records
 * travel packed, as stored: the actor decodes them on its own thread (`log-batch.ts`).
 *
 * Threading model: main thread; one async loop per partition. Life cycle: `start` →
 * running (woken by `wake`) → `stop` (resolves once the loop has left).
 */
export interface LogFeederOptions {
  log: PartitionLog;
  /** First record index to deliver. */
  from: number;
  /** Payload bytes read per message. */
  readBytes: number;
  deliver(message: LogMessage): Promise<void>;
  onError(error: Error): void;
}

export class LogFeeder {
  readonly #options: LogFeederOptions;
  #next: number;
  #stopped = false;
  #wakeUp: (() => void) | null = null;
  #loop: Promise<void> | null = null;

  constructor(options: LogFeederOptions) {
    this.#options = options;
    this.#next = options.from;
  }

  /** Index of the next record to deliver. */
  get next(): number {
    return this.#next;
  }

  start(): void {
    this.#loop ??= this.#run().catch((error) => this.#options.onError(error as Error));
  }

  /** New durable records may be waiting. */
  wake(): void {
    const wakeUp = this.#wakeUp;
    this.#wakeUp = null;
    wakeUp?.();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.wake();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const { log, readBytes, deliver } = this.#options;
    while (!this.#stopped) {
      if (this.#next >= log.durableEnd) {
        await new Promise<void>((resolve) => {
          this.#wakeUp = resolve;
        });
        continue;
      }
      const first = this.#next;
      const payloads = log.read(first, readBytes);
      await deliver({ kind: 'log', records: packLogRecords(payloads, first) });
      this.#next = first + payloads.length;
    }
  }
}
