import { join } from 'node:path';
import { type FsyncPolicy, GroupCommit } from './group-commit.ts';
import { RECORD_HEADER_BYTES } from './log-record.ts';
import { PartitionLog } from './partition-log.ts';

/**
 * The gateway's source partitions on disk: one `PartitionLog` per partition under
 * `<dir>/p<n>`, one group commit over all of them (a commit writes and fsyncs, in
 * parallel, every partition appended to since the last one), and a size limit over all
 * of them. `append` hands back the record index and a promise that resolves once the
 * record is durable; the gateway acks a client batch when every partition it touched
 * resolved. One commit for all partitions means a batch spread over them waits for one
 * commit round, not for the last of several independently timed ones.
 * Durable records are announced to `onDurable` listeners (the feeders that deliver
 * them to the partition actors).
 *
 * `maxBytes` is a refusal threshold, not a cap on one write: `hasRoom()` turns false
 * once the log reaches it and the gateway refuses new batches (503 / close 1013) until
 * checkpoints let old segments be deleted.
 *
 * Threading model: main thread only. Life cycle: `open` → append/sync/read … → `close`.
 */
export interface GatewayLogOptions {
  dir: string;
  partitions: number;
  fsync: FsyncPolicy;
  groupCommitMs: number;
  maxBytes: number;
  segmentBytes: number;
}

export class GatewayLog {
  readonly #partitions: PartitionLog[];
  readonly #commit: GroupCommit;
  /** Partitions appended to since the last commit started. */
  #dirty = new Set<number>();
  readonly #maxBytes: number;
  readonly #listeners = new Set<(partition: number) => void>();
  #bytes: number;

  private constructor(options: GatewayLogOptions) {
    this.#maxBytes = options.maxBytes;
    this.#partitions = [];
    for (let partition = 0; partition < options.partitions; partition++) {
      this.#partitions.push(
        PartitionLog.open(join(options.dir, `p${partition}`), {
          segmentBytes: options.segmentBytes,
          durableOnWrite: options.fsync === 'none',
        }),
      );
    }
    this.#commit = new GroupCommit({
      policy: options.fsync,
      intervalMs: options.groupCommitMs,
      write: () => {
        for (const partition of this.#takeDirty()) {
          this.#partitions[partition].write();
          this.#announce(partition);
        }
      },
      sync: async () => {
        await Promise.all(
          this.#takeDirty().map(async (partition) => {
            await this.#partitions[partition].sync();
            this.#announce(partition);
          }),
        );
      },
    });
    this.#bytes = this.#partitions.reduce((sum, log) => sum + log.bytes, 0);
  }

  static open(options: GatewayLogOptions): GatewayLog {
    return new GatewayLog(options);
  }

  get partitions(): number {
    return this.#partitions.length;
  }

  partition(partition: number): PartitionLog {
    return this.#partitions[partition];
  }

  /** Total bytes of all segments. */
  get bytes(): number {
    return this.#bytes;
  }

  hasRoom(): boolean {
    return this.#bytes < this.#maxBytes;
  }

  /** Appends one record to `partition`; `durable` resolves when it is safe to ack. */
  append(partition: number, payload: Buffer): { offset: number; durable: Promise<void> } {
    const offset = this.#partitions[partition].append(payload);
    this.#bytes += RECORD_HEADER_BYTES + payload.length;
    this.#dirty.add(partition);
    return { offset, durable: this.#commit.request() };
  }

  #takeDirty(): number[] {
    const dirty = [...this.#dirty];
    this.#dirty.clear();
    return dirty;
  }

  /** Calls `listener(partition)` whenever new records of `partition` became durable. */
  onDurable(listener: (partition: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #announce(partition: number): void {
    for (const listener of this.#listeners) listener(partition);
  }

  /** A checkpoint of `partition` covers every record up to `position`: drop the segments below it. */
  checkpointed(partition: number, position: number): void {
    this.#bytes -= this.#partitions[partition].deleteBelow(position + 1);
  }

  async close(): Promise<void> {
    await this.#commit.close();
    for (const log of this.#partitions) log.close();
  }
}
