/**
 * The null sink: counts what it is given and keeps nothing. For benchmarks, where the
 * cost of a real sink would hide the cost of the pipeline.
 *
 * Threading model: a main-thread actor.
 */
import type { Actor, ActorContext, ActorFactory } from '../../runtime/actor.ts';
import type { SinkWrite } from '../partition/partition-plan.ts';
import { countRows } from './sink-metrics.ts';

export interface NullSinkConfig {
  name: string;
}

export const createNullSink: ActorFactory<NullSinkConfig, SinkWrite> = (config) => new NullSink(config.name);

class NullSink implements Actor<SinkWrite> {
  readonly #name: string;

  constructor(name: string) {
    this.#name = name;
  }

  receive(write: SinkWrite, ctx: ActorContext): void {
    countRows(ctx.metrics, this.#name, write);
  }

  /** `sync`: nothing is buffered here, so everything handed over is already written. */
  request(kind: string): void {
    if (kind !== 'sync') throw new Error(`unknown request ${kind}`);
  }
}
