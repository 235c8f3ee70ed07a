/**
 * A running job: the topology made into actors. Sinks run on the main thread, partition
 * actors on the worker pool (partition p on worker p mod size, so a source's partitions
 * spread over the workers), file sources as readers on the main thread feeding their
 * partitions, Kafka sources as consumer-group members that spawn a partition actor for
 * every partition the group assigns and stop it (checkpointed) on revoke.
 *
 * Threading model: main thread only.
 * Life cycle: `Job.start()` → running → either every partition of a bounded job reports
 * the end of its input (`finished` resolves) or `stop()` is called (sources stop, the
 * partitions drain and take a last checkpoint, sinks flush and close). A fatal error
 * (restart limit, dead worker, unreadable file, broker gone) rejects `finished`.
 */
import { fileURLToPath } from 'node:url';
import { describeNativePath } from '../../native/index.ts';
import type { ActorFactory, ActorRef, EmitHandler, SupervisionPolicy } from '../../runtime/actor.ts';
import { spawnLocal } from '../../runtime/local-host.ts';
import type { Logger } from '../../runtime/logger.ts';
import type { Metrics } from '../../runtime/metrics.ts';
import type {
  CdcSourceConfig,
  GatewaySourceConfig,
  KafkaSourceConfig,
  Topology,
} from '../../runtime/topology/topology-schema.ts';
import { WorkerPool } from '../../runtime/worker-pool.ts';
import { type CdcSource, startCdcSource } from '../cdc/cdc-source.ts';
import { forwardedKafkaSource } from '../gateway/forwarded-source.ts';
import { type GatewaySource, startGatewaySource } from '../gateway/gateway-source.ts';
import { kafkaBatchTransfer } from '../kafka/kafka-batch.ts';
import { createKafkaClient } from '../kafka/kafka-client.ts';
import { type KafkaSource, startKafkaSource } from '../kafka/kafka-source.ts';
import type {
  PartitionMessage,
  PartitionPlan,
  PartitionReport,
  SinkSync,
  SinkWrite,
  SourcePosition,
} from '../partition/partition-plan.ts';
import {
  SINK_HOOK_CHANNEL,
  type SinkHook,
  type SinkHookReply,
  sinkHookRefused,
} from '../partition/sink-hooks.ts';
import { sinkActorSpec } from '../sinks/sink-factories.ts';
import { readFileSource } from '../sources/file-reader.ts';
import { LookupTables } from '../tables/lookup-tables.ts';
import { resolveTableColumns } from '../tables/table-columns.ts';
import { partitionPlan, partitionPlans } from './partition-plans.ts';

const partitionActorModule = fileURLToPath(new URL('../partition/partition-actor.ts', import.meta.url));

export interface JobOptions {
  metrics: Metrics;
  log: Logger;
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

export class Job {
  readonly #topology: Topology;
  readonly #options: JobOptions;
  readonly #pool: WorkerPool;
  readonly #sinks = new Map<string, ActorRef<SinkWrite>>();
  /** Live partition actors, by source and partition. */
  readonly #partitions = new Map<string, Map<number, ActorRef<PartitionMessage>>>();
  readonly #kafka = new Map<string, KafkaSource>();
  readonly #gateways = new Map<string, GatewaySource>();
  readonly #cdc = new Map<string, CdcSource>();
  #tables: LookupTables | null = null;
  readonly #finished = deferred();
  readonly #readers = new AbortController();
  readonly #running: Promise<void>[] = [];
  readonly #ended = new Set<string>();
  #stopStep: string | null = null;
  #expectedPartitions = 0;
  #stopping: Promise<void> | null = null;

  private constructor(topology: Topology, options: JobOptions) {
    this.#topology = topology;
    this.#options = options;
    this.#pool = new WorkerPool({
      size: topology.workers,
      supervision: this.#supervision,
      metrics: options.metrics,
      log: options.log,
      onFatal: (error) => this.#fail(error),
    });
  }

  /** Builds and starts every actor of the topology; resolves once all are running. */
  static async start(topology: Topology, options: JobOptions): Promise<Job> {
    // Lookup tables' keys and columns are checked against the database before anything starts.
    const job = new Job(await resolveTableColumns(topology), options);
    try {
      await job.#start();
    } catch (error) {
      await job.terminate().catch(() => {});
      throw error;
    }
    return job;
  }

  /** Resolves when every source is bounded and every partition has ended its input. */
  get finished(): Promise<void> {
    return this.#finished.promise;
  }

  get #supervision(): SupervisionPolicy {
    return this.#topology.supervision;
  }

  async #start(): Promise<void> {
    const { metrics, log } = this.#options;
    await this.#pool.start();
    for (const [name, spec] of Object.entries(this.#topology.sinks)) {
      const common = {
        name: `sink:${name}`,
        capacity: this.#topology.mailbox.capacity,
        supervision: this.#supervision,
        // A sink emits only rows it must reject, to the dead-letter sink.
        onEmit: this.#partitionOutput,
        onFatal: (error: Error) => this.#fail(error),
        metrics,
        log,
      };
      const { factory, config } = sinkActorSpec(name, spec, this.#topology);
      const ref = await spawnLocal<unknown, SinkWrite>({
        ...common,
        factory: factory as ActorFactory<unknown, SinkWrite>,
        config,
      });
      this.#sinks.set(name, ref);
    }
    if (Object.keys(this.#topology.tables).length > 0) {
      this.#tables = await LookupTables.start({
        topology: this.#topology,
        pool: this.#pool,
        metrics,
        log,
        onFatal: (error) => this.#fail(error),
      });
    }
    const plans = partitionPlans(this.#topology);
    this.#expectedPartitions = plans.length;
    for (const plan of plans) await this.#spawnPartition(plan);
    for (const [name, source] of Object.entries(this.#topology.sources)) {
      if (source.type === 'file') {
        const refs = [...(this.#partitions.get(name)?.values() ?? [])];
        const resumeAfter = await Promise.all(refs.map((ref) => ref.ask<SourcePosition | null>('position')));
        const reading = readFileSource({
          path: source.path,
          keyField: source.key,
          batchSize: this.#topology.batch.size,
          partitions: refs,
          resumeAfter: resumeAfter.map((position) => (typeof position === 'number' ? position : null)),
          signal: this.#readers.signal,
        }).catch((error) =>
          this.#fail(new Error(`source ${name}: ${(error as Error).message}`, { cause: error })),
        );
        this.#running.push(reading);
      } else if (source.type === 'kafka') {
        await this.#startKafka(name, source);
      } else if (source.type === 'gateway') {
        await this.#startGateway(name, source);
      } else if (source.type === 'cdc') {
        await this.#startCdc(name, source);
      }
    }
    log.info('job started', {
      name: this.#topology.name,
      workers: this.#pool.size,
      partitions: plans.length,
      sinks: this.#sinks.size,
      native: describeNativePath(),
    });
  }

  async #spawnPartition(plan: PartitionPlan): Promise<ActorRef<PartitionMessage>> {
    const ref = await this.#pool.spawn<PartitionMessage, PartitionPlan>({
      worker: plan.partition % this.#pool.size,
      name: `${plan.source}/${plan.partition}`,
      module: partitionActorModule,
      exportName: 'createPartitionActor',
      config: plan,
      capacity: this.#topology.mailbox.capacity,
      onEmit: this.#partitionOutput,
    });
    const refs = this.#partitions.get(plan.source) ?? new Map<number, ActorRef<PartitionMessage>>();
    refs.set(plan.partition, ref);
    this.#partitions.set(plan.source, refs);
    return ref;
  }

  async #startKafka(name: string, source: KafkaSourceConfig): Promise<void> {
    const { log } = this.#options;
    if (source.bounded === 'latest') this.#expectedPartitions += await this.#topicPartitionCount(source);
    const refOf = (partition: number) => {
      const ref = this.#partitions.get(name)?.get(partition);
      if (ref === undefined) throw new Error(`source ${name}: no actor for partition ${partition}`);
      return ref;
    };
    const kafka = await startKafkaSource({
      brokers: source.brokers,
      topic: source.topic,
      group: source.group,
      clientId: `sluice-${this.#topology.name}`,
      bounded: source.bounded ?? null,
      brokerTimeoutMs: source.brokerTimeoutMs,
      sessionTimeoutMs: source.sessionTimeoutMs,
      heartbeatIntervalMs: Math.max(100, Math.min(3000, Math.floor(source.sessionTimeoutMs / 3))),
      fromBeginning: source.startFrom === 'earliest',
      log: log.child({ source: name }),
      onAssign: async (partitions) => {
        const positions = new Map<number, string | null>();
        for (const partition of partitions) {
          const ref =
            this.#partitions.get(name)?.get(partition) ??
            (await this.#spawnPartition(partitionPlan(this.#topology, name, partition)));
          const position = await ref.ask<SourcePosition | null>('position');
          positions.set(partition, typeof position === 'string' ? position : null);
        }
        return positions;
      },
      onRevoke: async (partitions) => {
        for (const partition of partitions) {
          const ref = this.#partitions.get(name)?.get(partition);
          if (ref === undefined) continue;
          this.#partitions.get(name)?.delete(partition);
          await ref.stop();
        }
      },
      deliver: (partition, batch) =>
        refOf(partition).tell({ kind: 'kafka', batch }, kafkaBatchTransfer(batch)),
      onPartitionEnd: (partition) => refOf(partition).tell({ kind: 'end' }),
      onFatal: (error) => this.#fail(error),
    });
    this.#kafka.set(name, kafka);
  }

  /** A CDC source: one partition per table, positions `<commit LSN>#<n>` (see actors/cdc). */
  async #startCdc(name: string, source: CdcSourceConfig): Promise<void> {
    const refOf = (partition: number) => {
      const ref = this.#partitions.get(name)?.get(partition);
      if (ref === undefined) throw new Error(`source ${name}: no actor for partition ${partition}`);
      return ref;
    };
    const hooks = {
      deliver: (partition: number, message: PartitionMessage) => refOf(partition).tell(message),
      resumeFrom: async (partition: number) => {
        const position = await refOf(partition).ask<SourcePosition | null>('position');
        return typeof position === 'string' ? position : null;
      },
    };
    const cdc = await startCdcSource({
      config: source,
      log: this.#options.log.child({ source: name }),
      // A table partition also feeds its lookup tables (actors/tables).
      ...(this.#tables?.cdcHooks(name, hooks) ?? hooks),
      onFatal: (error) => this.#fail(error),
      metrics: { recorder: this.#options.metrics, source: name },
    });
    this.#cdc.set(name, cdc);
    await this.#tables?.sourceStarted(name, cdc);
  }

  /**
   * A gateway source feeds the partition actors spawned up front from its log; with
   * `forward: kafka` it writes a topic that a kafka source of its name reads (`actors/gateway`).
   */
  async #startGateway(name: string, source: GatewaySourceConfig): Promise<void> {
    const refOf = (partition: number) => {
      const ref = this.#partitions.get(name)?.get(partition);
      if (ref === undefined) throw new Error(`source ${name}: no actor for partition ${partition}`);
      return ref;
    };
    const gateway = await startGatewaySource({
      name,
      config: source,
      log: this.#options.log.child({ source: name }),
      metrics: this.#options.metrics,
      deliver: (partition, message) => refOf(partition).tell(message, [message.records.buffer]),
      resumeFrom: async (partition) => {
        const position = await refOf(partition).ask<SourcePosition | null>('position');
        return typeof position === 'number' ? position : null;
      },
      onFatal: (error) => this.#fail(error),
    });
    this.#gateways.set(name, gateway);
    // `forward: kafka`: the job reads the topic back through a kafka source of the same name.
    const forwarded = forwardedKafkaSource(this.#topology.name, name, source);
    if (forwarded !== null) await this.#startKafka(name, forwarded);
  }

  async #topicPartitionCount(source: KafkaSourceConfig): Promise<number> {
    const client = createKafkaClient({
      brokers: source.brokers,
      clientId: `sluice-${this.#topology.name}-admin`,
      log: this.#options.log,
    });
    const admin = client.kafka.admin();
    await admin.connect();
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [source.topic] });
      return metadata.topics[0]?.partitions.length ?? 0;
    } finally {
      await admin.disconnect();
    }
  }

  readonly #partitionOutput: EmitHandler = (channel, payload) => {
    if (channel === 'sink') {
      const write = payload as SinkWrite;
      return this.#sink(write.sink).tell(write);
    }
    if (channel === 'sync') {
      const sync = payload as SinkSync;
      return this.#sink(sync.sink).ask('sync', sync.files) as Promise<void>;
    }
    if (channel === SINK_HOOK_CHANNEL) {
      const hook = payload as SinkHook;
      return this.#sink(hook.sink)
        .ask<SinkHookReply>(hook.kind, hook)
        .then((refusal) => {
          if (refusal !== null) throw sinkHookRefused(hook, refusal);
        });
    }
    if (channel === 'control') return this.#report(payload as PartitionReport);
  };

  #sink(name: string): ActorRef<SinkWrite> {
    const sink = this.#sinks.get(name);
    if (sink === undefined) throw new Error(`no sink named ${name}`);
    return sink;
  }

  async #report(report: PartitionReport): Promise<void> {
    if (report.kind === 'checkpointed') {
      // Group offsets follow checkpoints, for lag monitoring; the checkpoint is the truth.
      const cdc = this.#cdc.get(report.source);
      const tablePartition =
        typeof report.position === 'string' &&
        this.#tables?.partitionCheckpointed(report.source, report.partition, report.position) === true;
      // A table partition's slot position is confirmed by the tables, once every consumer has it.
      if (cdc !== undefined && typeof report.position === 'string' && !tablePartition) {
        cdc.onCheckpointed(report.partition, report.position);
      }
      const kafka = this.#kafka.get(report.source);
      if (kafka !== undefined && typeof report.position === 'string') {
        await kafka.commitOffsets(new Map([[report.partition, report.position]]));
      }
      const gateway = this.#gateways.get(report.source);
      if (gateway !== undefined && typeof report.position === 'number') {
        gateway.onCheckpointed(report.partition, report.position);
      }
      return;
    }
    this.#ended.add(`${report.source}/${report.partition}`);
    if (this.#ended.size === this.#expectedPartitions) this.#finished.resolve();
  }

  #fail(error: unknown): void {
    this.#options.log.error('job failed', { error: (error as Error).message });
    this.#finished.reject(error);
  }

  /**
   * Graceful stop: sources stop reading, partition mailboxes drain (their rows reach the
   * sinks) and each partition takes a last checkpoint, then sinks drain and close their
   * files. Safe to call more than once.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  /** While a graceful stop runs: the step it waits for (for a shutdown time-out's reason); else null. */
  get stopPending(): string | null {
    return this.#stopStep;
  }

  async #stop(): Promise<void> {
    this.#stopStep = 'sources reading';
    this.#readers.abort();
    await Promise.allSettled(this.#running);
    for (const [name, kafka] of this.#kafka) {
      this.#stopStep = `kafka source ${name}`;
      await kafka.stop();
    }
    for (const [name, gateway] of this.#gateways) {
      this.#stopStep = `gateway source ${name}`;
      await gateway.stop();
    }
    for (const [name, cdc] of this.#cdc) {
      this.#stopStep = `cdc source ${name}`;
      await cdc.stop();
    }
    this.#stopStep = 'lookup tables';
    await this.#tables?.stop();
    this.#stopStep = 'partitions (draining mailboxes, last checkpoints)';
    await this.#pool.stop();
    for (const [name, sink] of this.#sinks) {
      this.#stopStep = `sink ${name} (flush)`;
      await sink.stop();
    }
    this.#stopStep = null;
  }

  /** Ends everything at once (second signal, failed start). */
  async terminate(): Promise<void> {
    this.#readers.abort();
    await Promise.allSettled([...this.#kafka.values()].map((kafka) => kafka.stop()));
    await Promise.allSettled([...this.#gateways.values()].map((gateway) => gateway.stop()));
    await Promise.allSettled([...this.#cdc.values()].map((cdc) => cdc.stop()));
    await this.#tables?.terminate().catch(() => {});
    await this.#pool.terminate();
  }
}
