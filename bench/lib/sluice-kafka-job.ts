/**
 * Runs sluice on a pre-filled Kafka topic as a `bounded: latest` job (read to the end
 * offsets seen at start, fire every window, stop): timed with a null sink, or with a
 * file sink to read back the window counts for the result-equality check.
 *
 * Throughput is timed the same way as the naive-node baseline's (naive-node.ts): from the
 * first record handed to processing to the moment every window's final count is out —
 * for sluice, `finished`: every partition has read to the end offsets, fired its last
 * windows, handed the rows to the sink and taken its last checkpoint (the baseline's
 * consumer commits its offsets after each batch inside its window too). Left out of both,
 * and reported apart: start-up before the first record (process, worker threads compiling
 * their modules, the consumer-group join — seconds, the same for every Kafka consumer) as
 * `startupMs`, and teardown after the last count (leaving the group, worker threads
 * exiting, the sink closing) as `teardownMs`. CPU time and wall time cover the same span
 * as the throughput (from the call to the last count), so they are comparable too.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Job } from '../../actors/job/job.ts';
import { createLogger } from '../../runtime/logger.ts';
import { Metrics } from '../../runtime/metrics.ts';
import { parseTopology } from '../../runtime/topology/load-topology.ts';
import type { Topology } from '../../runtime/topology/topology-schema.ts';
import { measureProcess, type ProcessUsage } from './figures.ts';
import { RecordingMetrics } from './recording-metrics.ts';
import type { SystemFigures } from './scenario-result.ts';
import { countsFromRows, type WindowCounts } from './window-counts.ts';

export interface SluiceKafkaJob {
  brokers: string[];
  topic: string;
  format: 'json' | 'frame';
  workers: number;
  /** Events in the topic (for events/s). */
  events: number;
  /** False: the TS path even when the native addon is built (SLUICE_NATIVE=0 in the workers). */
  native?: boolean;
  /** The window, as YAML; default the seed's `{ type: tumbling, size: 1m }`. */
  window?: string;
}

/** A hopping variant of the seed's window: each event in two windows. */
export const HOPPING_WINDOW = '{ type: hopping, size: 1m, slide: 30s }';

/**
 * The seed's job as a topology: Kafka → 1-minute tumbling count per user_id (or
 * `job.window`) → `sink`.
 * Bounded (`bounded: latest`) unless `live` names the state folder and extra aggregates
 * of a job that runs until stopped.
 */
export function seedJobTopology(
  job: Omit<SluiceKafkaJob, 'events'>,
  group: string,
  sink: string,
  live?: { stateDir: string; aggregates: string },
): string {
  return `name: bench-${job.format}${live ? '-live' : ''}
workers: ${job.workers}
${live ? `state: { dir: ${live.stateDir} }\n` : ''}sources:
  events:
    type: kafka
    brokers: [${job.brokers.join(', ')}]
    topic: ${job.topic}
    group: ${group}
    format: ${job.format}
    key: user_id
${live ? '' : '    bounded: latest\n'}    time: { field: ts, maxOutOfOrder: 2s }
windows:
  per_user:
    from: events
    window: ${job.window ?? '{ type: tumbling, size: 1m }'}
    groupBy: [user_id]
    aggregate: { events: count()${live ? `, ${live.aggregates}` : ''} }
    to: [out]
sinks:
  out: ${sink}
`;
}

/** Runs the job to its end; `onFinished` runs when every window's count is out, before the job stops. */
async function runJob(
  job: SluiceKafkaJob,
  dir: string,
  sink: string,
  metrics: Metrics,
  onFinished: () => void = () => {},
): Promise<void> {
  const group = `bench-sluice-${Date.now()}-${Math.random().toString(16).slice(2, 8)}`;
  const topology = parseTopology(seedJobTopology(job, group, sink), join(dir, 'bench.yaml'));
  await runTopology(topology, { native: job.native, metrics, onFinished });
}

/**
 * Runs `topology` in this process to its end; `onFinished` runs when every window's
 * output is out, before the job stops. `native: false` takes the TS path: SLUICE_NATIVE=0
 * while the job starts, when its worker threads copy the environment and load the addon
 * by it, and a file source's reader asks (`nativeWanted`).
 */
export async function runTopology(
  topology: Topology,
  options: { native?: boolean; metrics: Metrics; onFinished?: () => void },
): Promise<void> {
  const saved = process.env.SLUICE_NATIVE;
  if (options.native === false) process.env.SLUICE_NATIVE = '0';
  let running: Awaited<ReturnType<typeof Job.start>>;
  try {
    running = await Job.start(topology, { metrics: options.metrics, log: createLogger({ level: 'warn' }) });
  } finally {
    if (saved === undefined) delete process.env.SLUICE_NATIVE;
    else process.env.SLUICE_NATIVE = saved;
  }
  try {
    await running.finished;
    options.onFinished?.();
  } finally {
    await running.stop();
  }
}

/** Times sluice reading the whole topic into a null sink. */
export async function timeSluiceKafka(job: SluiceKafkaJob, label = 'sluice'): Promise<SystemFigures> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
  try {
    const metrics = new RecordingMetrics();
    const began = performance.now();
    const measure = measureProcess();
    let atFinish: ProcessUsage | null = null;
    await runJob(job, dir, '{ type: null }', metrics, () => {
      atFinish = measure.stop();
    });
    const usage: ProcessUsage = atFinish ?? measure.stop();
    const teardownMs = performance.now() - began - usage.wallMs;
    const { startupMs, processingMs } = metrics.phases(began, usage.wallMs);
    return {
      system: label,
      scenario: label,
      events: job.events,
      ...usage,
      eventsPerSecond: job.events / (processingMs / 1000),
      latencyUs: metrics.latency.percentiles(),
      latencyOf: 'per batch: dequeue → rows emitted',
      extra: {
        startupMs: Math.round(startupMs),
        processingMs: Math.round(processingMs),
        teardownMs: Math.round(teardownMs),
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The final count per (window, user) sluice writes for the whole topic. */
export async function sluiceKafkaCounts(job: SluiceKafkaJob): Promise<WindowCounts> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
  try {
    await runJob(job, dir, `{ type: file, path: ${join(dir, 'out', 'rows.jsonl')} }`, new Metrics());
    const files = (await readdir(join(dir, 'out'))).filter((file) => file.endsWith('.jsonl'));
    const lines: string[] = [];
    for (const file of files) lines.push(...(await readFile(join(dir, 'out', file), 'utf8')).split('\n'));
    return countsFromRows(lines, 'user_id', 'events');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
