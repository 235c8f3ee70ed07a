/**
 * Baseline `spark` on a live stream: drives live_query.py (the seed's query, local[2], one
 * JVM for every run) through its stdin protocol. `run(tag, triggerMs, batches, maxSeconds)`
 * starts the query at the live end of the topic with that trigger, runs it until micro-batch
 * `batches` has completed or `maxSeconds` have passed, and resolves to its progress
 * reports; its output rows land in `<out>/<tag>.jsonl`.
 *
 * `sustains` is the trigger search's verdict on one run: a trigger is sustained when the
 * micro-batches keep up — every batch asked for completed within the time limit, at least
 * 90 % of those after the warm-up finished within the trigger interval — and
 * the consumer lag stays bounded: when each batch commits, its newest event (event time =
 * the wall clock it was produced at) is at most two intervals + 1 s old.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { watchProcessTree } from '../../lib/process-tree.ts';
import { forEachLine, here, jars, python } from './spark-baseline.ts';

/** The parts of a StreamingQueryProgress the live bench reads. */
export interface LiveProgress {
  batchId: number;
  /** ISO-8601: when the batch was triggered. */
  timestamp: string;
  numInputRows: number;
  processedRowsPerSecond?: number;
  durationMs?: { triggerExecution?: number };
  observedMetrics?: { batch?: { oldest?: number | null; newest?: number | null } };
}

/** Batches before this id are start-up (the first plans the query and reads nothing). */
export const WARM_UP_BATCHES = 2;

export interface TriggerVerdict {
  triggerMs: number;
  batches: number;
  p50BatchMs: number;
  p90BatchMs: number;
  /** Largest lag seen at a batch commit: commit time − newest event time in the batch. */
  maxLagMs: number;
  lastLagMs: number;
  sustained: boolean;
}

function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)];
}

/** Whether one run's micro-batches kept up with the live stream at `triggerMs`. */
export function sustains(triggerMs: number, batches: number, progress: LiveProgress[]): TriggerVerdict {
  const measured = progress.filter((report) => report.batchId >= WARM_UP_BATCHES);
  const durations = measured
    .map((report) => report.durationMs?.triggerExecution ?? 0)
    .sort((left, right) => left - right);
  const lags = measured.flatMap((report) => {
    const newest = report.observedMetrics?.batch?.newest;
    if (typeof newest !== 'number' || report.numInputRows === 0) return [];
    return [Date.parse(report.timestamp) + (report.durationMs?.triggerExecution ?? 0) - newest];
  });
  const p90BatchMs = percentile(durations, 0.9);
  const lastLagMs = lags.at(-1) ?? Number.POSITIVE_INFINITY;
  return {
    triggerMs,
    batches: measured.length,
    p50BatchMs: percentile(durations, 0.5),
    p90BatchMs,
    maxLagMs: lags.length > 0 ? Math.max(...lags) : Number.POSITIVE_INFINITY,
    lastLagMs,
    sustained:
      measured.length >= batches - WARM_UP_BATCHES + 1 &&
      p90BatchMs <= triggerMs &&
      lastLagMs <= 2 * triggerMs + 1000,
  };
}

export interface SparkLive {
  run(tag: string, triggerMs: number, batches: number, maxSeconds: number): Promise<LiveProgress[]>;
  /** Stops Spark; resolves to the whole process tree's CPU time and peak RSS. */
  quit(): Promise<{ cpuMs: number; peakRssMiB: number }>;
}

/** Starts Spark (the JVM takes 10–30 s) and resolves once the session is ready. */
export async function startSparkLive(options: {
  brokers: string[];
  topic: string;
  out: string;
  readyTimeoutMs?: number;
}): Promise<SparkLive> {
  if (!existsSync(python)) throw new Error(`no pyspark venv at ${python}`);
  const child: ChildProcessWithoutNullStreams = spawn(
    python,
    [
      join(here, 'live_query.py'),
      ...['--brokers', options.brokers.join(','), '--topic', options.topic],
      ...['--jars', jars, '--out', options.out],
    ],
    { env: { ...process.env, PYSPARK_PYTHON: python } },
  );
  const tree = watchProcessTree(child.pid ?? -1);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const failure = () => new Error(`spark (live) exited: ${stderr.trim().split('\n').slice(-5).join(' | ')}`);
  const progress = new Map<string, LiveProgress[]>();
  const waiting = new Map<string, () => void>();
  let ready: (() => void) | null = null;
  forEachLine(child.stdout, (line) => {
    const [word, tag] = line.split(' ', 2);
    if (word === 'READY') ready?.();
    if (word === 'PROGRESS')
      progress.get(tag)?.push(JSON.parse(line.slice(word.length + tag.length + 2)) as LiveProgress);
    if (word === 'ENDRUN') waiting.get(tag)?.();
  });
  const untilExit = exited.then(() => {
    throw failure();
  });
  untilExit.catch(() => {}); // raced below
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      new Promise<void>((resolve) => {
        ready = resolve;
      }),
      untilExit,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(
          () => reject(new Error('spark (live): no session within the time limit')),
          options.readyTimeoutMs ?? 120_000,
        );
      }),
    ]);
  } catch (error) {
    child.kill('SIGKILL');
    tree.stop();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return {
    async run(tag, triggerMs, batches, maxSeconds) {
      const reports: LiveProgress[] = [];
      progress.set(tag, reports);
      const ended = new Promise<void>((resolve) => waiting.set(tag, resolve));
      child.stdin.write(`RUN ${tag} ${triggerMs} ${batches} ${maxSeconds}\n`);
      await Promise.race([ended, untilExit]);
      return reports;
    },
    async quit() {
      child.stdin.end('QUIT\n');
      const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(killer);
      return tree.stop();
    },
  };
}
