/**
 * The file sink: appends JSON lines to files. One sink may write several files — one per
 * source partition when the source has several — each opened once and kept open.
 *
 * Threading model: a main-thread actor; its cell runs one write at a time, so the open
 * handles are touched by one hook at a time only.
 * Life cycle: files open lazily on their first write (parent folders created) and close
 * on stop, after the mailbox has drained.
 */
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Actor, ActorContext, ActorFactory } from '../../runtime/actor.ts';
import type { SinkWrite } from '../partition/partition-plan.ts';
import { countRows } from './sink-metrics.ts';

export interface FileSinkConfig {
  name: string;
  /** The configured path, used when a write names no file of its own. */
  path: string;
}

export const createFileSink: ActorFactory<FileSinkConfig, SinkWrite> = (config) => new FileSink(config);

class FileSink implements Actor<SinkWrite> {
  readonly #config: FileSinkConfig;
  readonly #handles = new Map<string, FileHandle>();

  constructor(config: FileSinkConfig) {
    this.#config = config;
  }

  async receive(write: SinkWrite, ctx: ActorContext): Promise<void> {
    const file = write.file ?? this.#config.path;
    const handle = this.#handles.get(file) ?? (await this.#open(file));
    await handle.write(write.data);
    countRows(ctx.metrics, this.#config.name, write);
  }

  /** `sync`: makes the given files durable (fsync), after every write queued before it. */
  async request(kind: string, payload: unknown): Promise<void> {
    if (kind !== 'sync') throw new Error(`file sink: unknown request ${kind}`);
    for (const file of payload as string[]) await this.#handles.get(file)?.sync();
  }

  async stop(): Promise<void> {
    const handles = [...this.#handles.values()];
    this.#handles.clear();
    for (const handle of handles) {
      await handle.sync();
      await handle.close();
    }
  }

  async #open(file: string): Promise<FileHandle> {
    await mkdir(dirname(file), { recursive: true });
    const handle = await open(file, 'a');
    this.#handles.set(file, handle);
    return handle;
  }
}
