/**
 * Which actor serves each sink `type` of the topology, and the configuration it gets.
 * A new sink type adds its schema to the topology's sink union and one entry here.
 */
import type { ActorFactory } from '../../runtime/actor.ts';
import type { SinkConfig, Topology } from '../../runtime/topology/topology-schema.ts';
import type { SinkWrite } from '../partition/partition-plan.ts';
import { requireWindowRowShape, windowRowShape } from './batching-row-shape.ts';
import { createBigQuerySink } from './bigquery-sink.ts';
import { createBigQueryStorageSink } from './bigquery-storage-sink.ts';
import { createClickHouseSink } from './clickhouse-sink.ts';
import { createConsoleSink } from './console-sink.ts';
import { createFileSink } from './file-sink.ts';
import { createKafkaSink } from './kafka-sink.ts';
import { createKafkaTransactionalSink } from './kafka-transactional-sink.ts';
import { createNullSink } from './null-sink.ts';

export interface SinkActorSpec {
  factory: ActorFactory<never, SinkWrite>;
  config: unknown;
}

type SinkSpecs = {
  [Type in SinkConfig['type']]: (
    name: string,
    spec: Extract<SinkConfig, { type: Type }>,
    topology: Topology,
  ) => SinkActorSpec;
};

const sinkSpecs: SinkSpecs = {
  file: (name, spec) => ({ factory: createFileSink, config: { name, path: spec.path } }),
  console: (name) => ({ factory: createConsoleSink, config: { name } }),
  null: (name) => ({ factory: createNullSink, config: { name } }),
  clickhouse: (name, { type: _, ...spec }, topology) => ({
    factory: createClickHouseSink,
    config: {
      ...spec,
      name,
      deadLetter: topology.deadLetter ?? null,
      shape: requireWindowRowShape(name, topology),
    },
  }),
  bigquery: (name, { type: _, api, ...spec }, topology) => {
    const config = {
      ...spec,
      name,
      deadLetter: topology.deadLetter ?? null,
      shape: requireWindowRowShape(name, topology),
    };
    return api === 'storage-write'
      ? { factory: createBigQueryStorageSink, config: { ...config, stateDir: topology.state.dir } }
      : { factory: createBigQuerySink, config };
  },
  kafka: (name, { type: _, key, transactional, transactionTimeoutMs, ...spec }, topology) => {
    const config = {
      ...spec,
      name,
      deadLetter: topology.deadLetter ?? null,
      keyFields: key ?? windowRowShape(name, topology)?.groupBy ?? [],
    };
    return transactional
      ? {
          factory: createKafkaTransactionalSink,
          config: { ...config, job: topology.name, transactionTimeoutMs },
        }
      : { factory: createKafkaSink, config };
  },
};

/**
 * The actor factory and configuration for the sink `name` configured as `spec`. The
 * topology supplies what a sink derives from the rest of the file: the dead-letter sink
 * for rows it rejects, and the row shape of the windows writing to it.
 */
export function sinkActorSpec(name: string, spec: SinkConfig, topology: Topology): SinkActorSpec {
  const make = sinkSpecs[spec.type] as (name: string, spec: SinkConfig, topology: Topology) => SinkActorSpec;
  return make(name, spec, topology);
}
