/**
 * Which actor serves each sink `type` of the topology, and the configuration it gets.
 * A new sink type adds its schema to the topology's sink union and one entry here.
 */
import type { ActorFactory } from '../../runtime/actor.ts';
import type { SinkConfig } from '../../runtime/topology/topology-schema.ts';
import type { SinkWrite } from '../partition/partition-plan.ts';
import { createConsoleSink } from './console-sink.ts';
import { createFileSink } from './file-sink.ts';
import { createNullSink } from './null-sink.ts';

export interface SinkActorSpec {
  factory: ActorFactory<never, SinkWrite>;
  config: unknown;
}

type SinkSpecs = {
  [Type in SinkConfig['type']]: (name: string, spec: Extract<SinkConfig, { type: Type }>) => SinkActorSpec;
};

const sinkSpecs: SinkSpecs = {
  file: (name, spec) => ({ factory: createFileSink, config: { name, path: spec.path } }),
  console: (name) => ({ factory: createConsoleSink, config: { name } }),
  null: (name) => ({ factory: createNullSink, config: { name } }),
};

/** The actor factory and configuration for the sink `name` configured as `spec`. */
export function sinkActorSpec(name: string, spec: SinkConfig): SinkActorSpec {
  const make = sinkSpecs[spec.type] as (name: string, spec: SinkConfig) => SinkActorSpec;
  return make(name, spec);
}
