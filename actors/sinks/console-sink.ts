/**
 * The console sink: writes JSON lines to standard output, waiting for the stream to
 * drain when the terminal or pipe is slow, so a slow reader slows the job instead of
 * growing a buffer.
 *
 * Threading model: a main-thread actor; one write at a time.
 */
import type { Actor, ActorContext, ActorFactory } from '../../runtime/actor.ts';
import type { SinkWrite } from '../partition/partition-plan.ts';
import { countRows } from './sink-metrics.ts';

export interface ConsoleSinkConfig {
  name: string;
  stream?: NodeJS.WritableStream;
}

export const createConsoleSink: ActorFactory<ConsoleSinkConfig, SinkWrite> = (config) =>
  new ConsoleSink(config);

class ConsoleSink implements Actor<SinkWrite> {
  readonly #name: string;
  readonly #stream: NodeJS.WritableStream;

  constructor(config: ConsoleSinkConfig) {
    this.#name = config.name;
    this.#stream = config.stream ?? process.stdout;
  }

  async receive(write: SinkWrite, ctx: ActorContext): Promise<void> {
    if (!this.#stream.write(write.data)) {
      await new Promise<void>((resolve) => this.#stream.once('drain', () => resolve()));
    }
    countRows(ctx.metrics, this.#name, write);
  }

  /** `sync`: nothing is buffered here, so everything handed over is already written. */
  request(kind: string): void {
    if (kind !== 'sync') throw new Error(`unknown request ${kind}`);
  }
}
