/**
 * Baseline `spark`: runs seed_query.py (the seed's Structured Streaming query, local[2])
 * in the venv bench/baselines/install.sh builds, on a pre-filled topic, with one trigger.
 * Figures: events/s from wall time for the fixed input (query start → last row processed)
 * and from the progress reports (`processedRowsPerSecond` over all micro-batches), latency
 * per micro-batch (trigger → batch committed, `durationMs.triggerExecution`), CPU time and
 * peak RSS of the whole python → JVM process tree.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LatencyRecorder } from '../../lib/figures.ts';
import { watchProcessTree } from '../../lib/process-tree.ts';
import type { SystemFigures } from '../../lib/scenario-result.ts';
import { countsFromRows, type WindowCounts } from '../../lib/window-counts.ts';

export const here = fileURLToPath(new URL('.', import.meta.url));
const cache = join(here, '..', '.cache');
/** The venv's python and the connector jars bench/baselines/install.sh spark puts in place. */
export const python = join(cache, 'spark-venv', 'bin', 'python');
export const jars = join(cache, 'spark-jars');

/** Calls `handle` with each complete line a driver prints on stdout. */
export function forEachLine(stream: NodeJS.ReadableStream, handle: (line: string) => void): void {
  let buffered = '';
  stream.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      handle(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf('\n');
    }
  });
}

/** Why the Spark baseline cannot run here, or null when its toolchain is installed. */
export function sparkUnavailable(): string | null {
  if (!existsSync(python)) return `no pyspark venv at ${python}; run bench/baselines/install.sh spark`;
  if (!existsSync(jars)) return `no Kafka connector jars at ${jars}; run bench/baselines/install.sh spark`;
  return null;
}

interface Progress {
  batchId: number;
  numInputRows: number;
  processedRowsPerSecond?: number;
  durationMs?: { triggerExecution?: number };
}

export interface SparkRun {
  figures: SystemFigures;
  counts: WindowCounts;
}

export async function runSpark(options: {
  brokers: string[];
  topic: string;
  events: number;
  trigger: string;
  maxOffsetsPerTrigger?: number;
  timeoutMs?: number;
}): Promise<SparkRun> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-spark-'));
  const out = join(dir, 'rows.jsonl');
  try {
    const args = [
      join(here, 'seed_query.py'),
      ...['--brokers', options.brokers.join(','), '--topic', options.topic],
      ...['--events', String(options.events), '--trigger', options.trigger, '--jars', jars],
      ...['--out', out, '--checkpoint', join(dir, 'checkpoint')],
      ...['--max-offsets', String(options.maxOffsetsPerTrigger ?? 0)],
    ];
    const began = performance.now();
    const child = spawn(python, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PYSPARK_PYTHON: python },
    });
    const tree = watchProcessTree(child.pid ?? -1);
    const progress: Progress[] = [];
    let done: { events: number; wallSeconds: number } | null = null;
    let stderr = '';
    let usage = { cpuMs: 0, peakRssMiB: 0 };
    forEachLine(child.stdout, (line) => {
      if (line.startsWith('PROGRESS ')) progress.push(JSON.parse(line.slice(9)) as Progress);
      if (line.startsWith('DONE ')) {
        done = JSON.parse(line.slice(5));
        usage = tree.stop();
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const timeout = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(timeout);
    if (!done) usage = tree.stop();
    const finished = done as { events: number; wallSeconds: number } | null;
    if (code !== 0 || !finished)
      throw new Error(`spark exited with ${code}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`);
    const latency = new LatencyRecorder();
    let rows = 0;
    let busyMs = 0;
    for (const report of progress) {
      const ms = report.durationMs?.triggerExecution ?? 0;
      if (report.numInputRows > 0) latency.record(ms * 1000);
      rows += report.numInputRows;
      busyMs += ms;
    }
    const wallMs = finished.wallSeconds * 1000;
    const counts = countsFromRows((await readFile(out, 'utf8')).split('\n'), 'user_id', 'count');
    return {
      counts,
      figures: {
        system: `spark (trigger ${options.trigger})`,
        scenario: 'spark',
        events: rows,
        wallMs,
        cpuMs: usage.cpuMs,
        peakRssMiB: usage.peakRssMiB,
        eventsPerSecond: rows / (wallMs / 1000),
        latencyUs: latency.percentiles(),
        latencyOf: 'per micro-batch with input: trigger → batch committed',
        extra: {
          startupMs: Math.round(performance.now() - began - wallMs),
          microBatches: progress.filter((report) => report.numInputRows > 0).length,
          processedRowsPerSecond: Math.round(rows / Math.max(0.001, busyMs / 1000)),
        },
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
