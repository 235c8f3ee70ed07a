/**
 * A running job: the topology made into actors. Sinks run on the main thread, partition
 * actors on the worker pool (partition i of the job's partitions on worker i mod size),
 * file sources as readers on the main thread feeding their partitions.
 *
 * Threading model: main thread only.
 * Life cycle: `Job.start()` → running → either every partition of a bounded job reports
 * the end of its input (`finished` resolves) or `stop()` is called (sources stop, the
 * partition mailboxes drain, sinks flush and close). A fatal error (restart limit, dead
 * worker, unreadable file) rejects `finished`.
 */
import { fileURLToPath } from 'node:url';
import type { ActorRef, EmitHandler, SupervisionPolicy } from '../../runtime/actor.ts';
import { spawnLocal } from '../../runtime/local-host.ts';
import type { Logger } from '../../runtime/logger.ts';
import type { Metrics } from '../../runtime/metrics.ts';
import type { Topology } from '../../runtime/topology/topology-schema.ts';
import { WorkerPool } from '../../runtime/worker-pool.ts';
import type {
  PartitionMessage,
  PartitionPlan,
  PartitionReport,
  SinkWrite,
} from '../partition/partition-plan.ts';
import { createConsoleSink } from '../sinks/console-sink.ts';
import { createFileSink } from '../sinks/file-sink.ts';
import { createNullSink } from '../sinks/null-sink.ts';
import { readFileSource } from '../sources/file-reader.ts';
import { partitionPlans } from './partition-plans.ts';

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
  readonly #partitions = new Map<string, ActorRef<PartitionMessage>[]>();
  readonly #finished = deferred();
  readonly #readers = new AbortController();
  readonly #running: Promise<void>[] = [];
  #endedPartitions = 0;
  #totalPartitions = 0;
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
    const job = new Job(topology, options);
    try {
      await job.#start();
    } catch (error) {
      await job.#pool.terminate().catch(() => {});
      throw error;
    }
    return job;
  }

  /** Resolves when every source is bounded and every partition has ended its input. */
  get finished(): Promise<void> {
    return this.#finished.promise;
  }

  /** Whether every source ends by itself (file, generator with `count`). */
  get bounded(): boolean {
    return Object.values(this.#topology.sources).every(
      (source) => source.type === 'file' || source.count !== undefined,
    );
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
        onEmit: () => {},
        onFatal: (error: Error) => this.#fail(error),
        metrics,
        log,
      };
      const ref =
        spec.type === 'file'
          ? await spawnLocal({ ...common, factory: createFileSink, config: { name, path: spec.path } })
          : spec.type === 'console'
            ? await spawnLocal({ ...common, factory: createConsoleSink, config: { name } })
            : await spawnLocal({ ...common, factory: createNullSink, config: { name } });
      this.#sinks.set(name, ref);
    }
    const plans = partitionPlans(this.#topology);
    this.#totalPartitions = plans.length;
    for (const [index, plan] of plans.entries()) {
      const ref = await this.#pool.spawn<PartitionMessage, PartitionPlan>({
        worker: index % this.#pool.size,
        name: `${plan.source}/${plan.partition}`,
        module: partitionActorModule,
        exportName: 'createPartitionActor',
        config: plan,
        capacity: this.#topology.mailbox.capacity,
        onEmit: this.#partitionOutput,
      });
      const refs = this.#partitions.get(plan.source) ?? [];
      refs.push(ref);
      this.#partitions.set(plan.source, refs);
    }
    for (const [name, source] of Object.entries(this.#topology.sources)) {
      if (source.type !== 'file') continue;
      const reading = readFileSource({
        path: source.path,
        keyField: source.key,
        batchSize: this.#topology.batch.size,
        partitions: this.#partitions.get(name) ?? [],
        signal: this.#readers.signal,
      }).catch((error) =>
        this.#fail(new Error(`source ${name}: ${(error as Error).message}`, { cause: error })),
      );
      this.#running.push(reading);
    }
    log.info('job started', {
      name: this.#topology.name,
      workers: this.#pool.size,
      partitions: plans.length,
      sinks: this.#sinks.size,
    });
  }

  readonly #partitionOutput: EmitHandler = (channel, payload) => {
    if (channel === 'sink') {
      const write = payload as SinkWrite;
      const sink = this.#sinks.get(write.sink);
      if (sink === undefined) throw new Error(`no sink named ${write.sink}`);
      return sink.tell(write);
    }
    if (channel === 'control' && (payload as PartitionReport).kind === 'ended') {
      this.#endedPartitions++;
      if (this.#endedPartitions === this.#totalPartitions) this.#finished.resolve();
    }
  };

  #fail(error: unknown): void {
    this.#options.log.error('job failed', { error: (error as Error).message });
    this.#finished.reject(error);
  }

  /**
   * Graceful stop: sources stop reading, partition mailboxes drain (their rows reach the
   * sinks), then sinks drain and close their files. Safe to call more than once.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#readers.abort();
    await Promise.allSettled(this.#running);
    await this.#pool.stop();
    for (const sink of this.#sinks.values()) await sink.stop();
  }

  /** Ends everything at once (second signal, failed start). */
  async terminate(): Promise<void> {
    this.#readers.abort();
    await this.#pool.terminate();
  }
}
