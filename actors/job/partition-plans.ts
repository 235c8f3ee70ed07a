/**
 * Turns a loaded topology into the plans of its partition actors: which windows and
 * streams each source partition runs, and the exact file each output is appended to.
 *
 * File outputs are split so that every file has exactly one writer, the partition that
 * owns it: a sink fed by one source with several partitions writes `out.p3.jsonl` for
 * partition 3; a sink fed by several sources adds the source name (`out.events.p3.jsonl`).
 * One writer per file is what lets a partition own its output and, with checkpoints,
 * truncate it to a known position after a crash.
 */
import { basename, dirname, extname, join } from 'node:path';
import type { SourceConfig, Topology, WindowConfig } from '../../runtime/topology/topology-schema.ts';
import { FORWARD_FORMAT } from '../gateway/forwarded-source.ts';
import type { OutputTarget, PartitionInput, PartitionPlan } from '../partition/partition-plan.ts';
import type { EnrichPlan } from '../tables/enricher.ts';
import type { WindowOperatorConfig } from '../windows/index.ts';

/** The file a source partition writes for a file sink configured with `path`. */
export function partitionFile(path: string, suffix: string): string {
  if (suffix === '') return path;
  const extension = extname(path);
  return join(dirname(path), `${basename(path, extension)}${suffix}${extension}`);
}

/** Which sources write to each sink (windows, lateness, streams, dead letters). */
function writersBySink(topology: Topology): Map<string, Set<string>> {
  const writers = new Map<string, Set<string>>();
  const add = (sink: string, source: string) => {
    const set = writers.get(sink) ?? new Set<string>();
    set.add(source);
    writers.set(sink, set);
  };
  for (const window of Object.values(topology.windows)) {
    for (const sink of window.to) add(sink, window.from);
    if (window.late) add(window.late, window.from);
  }
  for (const stream of Object.values(topology.streams)) for (const sink of stream.to) add(sink, stream.from);
  if (topology.deadLetter)
    for (const source of Object.keys(topology.sources)) add(topology.deadLetter, source);
  return writers;
}

function inputOf(source: SourceConfig): PartitionInput {
  // A forwarding gateway is read back from its Kafka topic (actors/gateway/forwarded-source.ts).
  if (source.type === 'gateway' && source.forward !== undefined) {
    return { kind: 'kafka', topic: source.forward.topic, format: FORWARD_FORMAT };
  }
  if (source.type === 'file') return { kind: 'pushed', format: 'json', lines: true };
  if (source.type === 'gateway' || source.type === 'cdc') return { kind: 'pushed', format: 'json' };
  if (source.type === 'kafka') return { kind: 'kafka', topic: source.topic, format: source.format };
  return {
    kind: 'generator',
    keys: source.keys,
    skew: source.skew,
    seed: source.seed,
    startTime: source.startTimeMs ?? null,
    rate: source.rate,
    count: source.count ?? null,
    outOfOrder: source.outOfOrder,
    late: source.late,
    clock: source.startTimeMs === undefined ? 'wall' : 'synthetic',
  };
}

/**
 * Partitions a source has before it runs: its `partitions` setting, or null for a Kafka
 * source (or a gateway that forwards to Kafka), whose partitions are known only when the
 * group assigns them (its files always carry the partition number).
 */
export function staticPartitionCount(source: SourceConfig): number | null {
  if (source.type === 'kafka') return null;
  if (source.type === 'gateway' && source.forward !== undefined) return null;
  return source.partitions;
}

/** Sinks that commit a partition's rows with its checkpoints (actors/partition/sink-hooks.ts). */
function transactionalSinks(topology: Topology): string[] {
  return Object.entries(topology.sinks)
    .filter(
      ([, sink]) =>
        (sink.type === 'kafka' && sink.transactional) ||
        (sink.type === 'bigquery' && sink.api === 'storage-write'),
    )
    .map(([name]) => name);
}

/**
 * The enrich steps of a window or stream of `source`; their columns are resolved when the
 * job starts (`resolveTableColumns`). Events wait for a table to be loaded unless they come
 * from the table's own cdc source, which delivers the table's snapshot in the same stream
 * (waiting there would stop the very stream that loads the table).
 */
function enrichOf(
  topology: Topology,
  source: string,
  steps: WindowConfig['enrich'],
): { enrich?: EnrichPlan[] } {
  if (steps === undefined) return {};
  return {
    enrich: steps.map(({ fields, ...step }) => {
      if (fields === undefined) throw new Error(`enrich ${step.table}: columns not resolved before planning`);
      return { ...step, fields, awaitTable: topology.tables[step.table]?.from !== source };
    }),
  };
}

/** The plan of partition `partition` of source `sourceName`. */
export function partitionPlan(topology: Topology, sourceName: string, partition: number): PartitionPlan {
  const writers = writersBySink(topology);
  const source = topology.sources[sourceName];
  const partitions = staticPartitionCount(source);
  const target = (sink: string): OutputTarget => {
    const spec = topology.sinks[sink];
    if (spec.type !== 'file') return { sink, file: null };
    const shared = (writers.get(sink)?.size ?? 1) > 1;
    const suffix = (shared ? `.${sourceName}` : '') + (partitions === 1 ? '' : `.p${partition}`);
    return { sink, file: partitionFile(spec.path, suffix) };
  };
  const windows = Object.entries(topology.windows)
    .filter(([, window]) => window.from === sourceName)
    .map(([name, window]) => {
      const { allowedLatenessMs, ...shape } = window.window;
      const operator: WindowOperatorConfig = {
        window: shape,
        allowedLatenessMs,
        maxOutOfOrderMs: source.time.maxOutOfOrderMs,
        groupBy: window.groupBy,
        aggregates: window.aggregate,
      };
      return {
        name,
        operator,
        to: window.to.map(target),
        late: window.late ? target(window.late) : null,
        ...enrichOf(topology, sourceName, window.enrich),
        transform: window.transform ?? null,
      };
    });
  const streams = Object.entries(topology.streams)
    .filter(([, stream]) => stream.from === sourceName)
    .map(([name, stream]) => ({
      name,
      to: stream.to.map(target),
      ...enrichOf(topology, sourceName, stream.enrich),
      transform: stream.transform ?? null,
    }));
  return {
    source: sourceName,
    partition,
    partitions: partitions ?? 0,
    keyField: source.key,
    timeField: source.time.field,
    maxOutOfOrderMs: source.time.maxOutOfOrderMs,
    idleTimeoutMs: source.time.idleTimeoutMs ?? null,
    batchSize: topology.batch.size,
    input: inputOf(source),
    windows,
    streams,
    deadLetter: topology.deadLetter ? target(topology.deadLetter) : null,
    checkpoint: {
      dir: join(topology.state.dir, sourceName, String(partition)),
      intervalMs: topology.checkpoint.intervalMs,
      keep: topology.checkpoint.keep,
      snapshotEvery: topology.checkpoint.snapshotEvery,
      twoPhaseSinks: transactionalSinks(topology),
      memoryBytes: Math.floor(topology.state.memory / topology.workers),
    },
  };
}

/** The plans of every partition known before the job runs (file and generator sources). */
export function partitionPlans(topology: Topology): PartitionPlan[] {
  const plans: PartitionPlan[] = [];
  for (const [sourceName, source] of Object.entries(topology.sources)) {
    const partitions = staticPartitionCount(source);
    if (partitions === null) continue;
    for (let partition = 0; partition < partitions; partition++) {
      plans.push(partitionPlan(topology, sourceName, partition));
    }
  }
  return plans;
}
