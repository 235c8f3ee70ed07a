/**
 * The live part of `kafka-json`: the seed's job on a LIVE stream. kcat produces JSON events
 * at a fixed rate with event time = the wall clock (bench/lib/kcat-producer.ts) into a
 * fresh 8-partition topic; sluice (2 workers, file sink) and Spark (the seed's query,
 * local[2], one JVM) read that same stream in the same run.
 *
 * 1. Trigger search: Spark runs the query at the live end of the topic with 1 s, 500 ms,
 *    250 ms, 100 ms triggers (a short run each), stopping at the first trigger it does not
 *    sustain (spark-live.ts `sustains`); if 1 s fails it tries 2 s, 5 s, 10 s instead.
 *    Spark's continuous trigger does not support aggregations, so it is no candidate.
 * 2. Spark then runs with the seed's 30 s trigger on the warm JVM up to its batch 2 (batch 1
 *    covers part of an interval, batch 2 a whole one).
 * 3. Latency, the same for both: per output batch, the moment its rows were seen in the
 *    output file (a 50 ms poller) − the oldest event time in that batch. Spark's batch is a
 *    micro-batch (its oldest event observed on the query's input); sluice's is one window's
 *    rows as they are written (the oldest event from a `min(ts)` aggregate). Start-up is
 *    left out of both: Spark's warm-up batches, sluice's window the stream began in.
 *    Spark's update mode writes running counts every trigger; sluice writes each window
 *    once, when the watermark closes it — so sluice's figure includes the window's length
 *    (1 minute).
 */
import { mkdir, mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Job } from '../../actors/job/job.ts';
import { produceEvents } from '../../actors/kafka/produce-events.ts';
import { createLogger } from '../../runtime/logger.ts';
import { Metrics } from '../../runtime/metrics.ts';
import { parseTopology } from '../../runtime/topology/load-topology.ts';
import {
  type LiveProgress,
  type SparkLive,
  startSparkLive,
  sustains,
  type TriggerVerdict,
  WARM_UP_BATCHES,
} from '../baselines/spark/spark-live.ts';
import { LatencyRecorder, measureProcess } from '../lib/figures.ts';
import { produceJsonWithKcat } from '../lib/kcat-producer.ts';
import type { SystemFigures } from '../lib/scenario-result.ts';
import { seedJobTopology } from '../lib/sluice-kafka-job.ts';

const PARTITIONS = 8;
const WINDOW_MS = 60_000;
const DOWN = [1000, 500, 250, 100];
const UP = [2000, 5000];
/** A candidate's first batches (query planning, code generation) may take this long; the first candidate's also warm the JVM up. */
const WARM_UP_ALLOWANCE_S = 20;
const FIRST_WARM_UP_ALLOWANCE_S = 45;

export interface LiveOptions {
  brokers: string[];
  /** Offered events/s (default 15,000: the seed's figure). */
  rate?: number;
  /** Seconds of micro-batches measured per trigger candidate after its warm-up (at least 5 batches). Default 10. */
  candidateSeconds?: number;
}

export interface LiveResult {
  systems: SystemFigures[];
  /** One row per tried trigger: the search's evidence. */
  search: TriggerVerdict[];
  lines: string[];
}

interface SeenLine {
  file: string;
  seenAt: number;
  row: Record<string, unknown>;
}

/** Reads the complete new lines of every `.jsonl` file under the folders, stamping when seen. */
class OutputTail {
  readonly #offsets = new Map<string, number>();
  readonly #partial = new Map<string, string>();
  readonly seen: SeenLine[] = [];

  constructor(readonly folders: string[]) {}

  async poll(): Promise<void> {
    for (const folder of this.folders) {
      const files = await readdir(folder).catch(() => [] as string[]);
      for (const name of files.filter((file) => file.endsWith('.jsonl'))) {
        const file = join(folder, name);
        const handle = await open(file, 'r');
        try {
          const offset = this.#offsets.get(file) ?? 0;
          const { size } = await handle.stat();
          if (size <= offset) continue;
          const buffer = Buffer.alloc(size - offset);
          await handle.read(buffer, 0, buffer.length, offset);
          this.#offsets.set(file, size);
          const seenAt = Date.now();
          const lines = ((this.#partial.get(file) ?? '') + buffer.toString('utf8')).split('\n');
          this.#partial.set(file, lines.pop() ?? '');
          for (const line of lines)
            if (line.length > 0) this.seen.push({ file, seenAt, row: JSON.parse(line) });
        } finally {
          await handle.close();
        }
      }
    }
  }
}

/**
 * Groups the lines of each file under `batchOf(row)` (a micro-batch, a window) and records,
 * per group, when its first row was seen − the oldest event in it, in µs.
 */
function batchLatency(
  lines: SeenLine[],
  batchOf: (line: SeenLine) => string,
  oldestOf: (line: SeenLine) => number | null,
): LatencyRecorder {
  const oldest = new Map<string, { seenAt: number; oldest: number }>();
  for (const line of lines) {
    const id = `${line.file}|${batchOf(line)}`;
    const eventTime = oldestOf(line);
    if (eventTime === null) continue;
    const entry = oldest.get(id);
    if (!entry) oldest.set(id, { seenAt: line.seenAt, oldest: eventTime });
    else entry.oldest = Math.min(entry.oldest, eventTime);
  }
  const latency = new LatencyRecorder();
  for (const entry of oldest.values()) latency.record((entry.seenAt - entry.oldest) * 1000);
  return latency;
}

function sluiceTopology(brokers: string[], topic: string, dir: string) {
  const job = { brokers, topic, format: 'json' as const, workers: 2 };
  const sink = `{ type: file, path: ${join(dir, 'out', 'rows.jsonl')} }`;
  const live = { stateDir: join(dir, 'state'), aggregates: 'oldest: min(ts)' };
  return parseTopology(seedJobTopology(job, `${topic}-sluice`, sink, live), join(dir, 'bench.yaml'));
}

function sparkFigures(
  label: string,
  triggerMs: number,
  progress: LiveProgress[],
  tail: OutputTail,
  tag: string,
  usage: { cpuMs: number; peakRssMiB: number },
  rate: number,
): SystemFigures {
  const oldestByBatch = new Map<number, number>();
  // Batch 0 (and the search's warm-up batches) include the query's start-up: no latency sample.
  const firstMeasured = triggerMs >= 30_000 ? 1 : WARM_UP_BATCHES;
  for (const report of progress.filter((entry) => entry.batchId >= firstMeasured)) {
    const oldest = report.observedMetrics?.batch?.oldest;
    if (typeof oldest === 'number') oldestByBatch.set(report.batchId, oldest);
  }
  const lines = tail.seen.filter((line) => line.file.endsWith(`/${tag}.jsonl`));
  const latency = batchLatency(
    lines,
    (line) => String(line.row.batch),
    (line) => oldestByBatch.get(Number(line.row.batch)) ?? null,
  );
  const measured = progress.filter((report) => report.batchId >= firstMeasured && report.numInputRows > 0);
  const rows = measured.reduce((sum, report) => sum + report.numInputRows, 0);
  const busyMs = measured.reduce((sum, report) => sum + (report.durationMs?.triggerExecution ?? 0), 0);
  const events = progress.reduce((sum, report) => sum + report.numInputRows, 0);
  const first = progress.at(0);
  const last = progress.at(-1);
  const seconds =
    first && last
      ? Math.max(
          0.001,
          (Date.parse(last.timestamp) +
            (last.durationMs?.triggerExecution ?? 0) -
            Date.parse(first.timestamp)) /
            1000,
        )
      : 0.001;
  return {
    system: label,
    scenario: 'spark',
    events,
    wallMs: seconds * 1000,
    ...usage,
    eventsPerSecond: events / seconds,
    latencyUs: latency.percentiles(),
    latencyOf: 'per micro-batch with output: rows seen in its output file − oldest event time in the batch',
    extra: {
      offered: rate,
      triggerMs,
      microBatches: measured.length,
      processedRowsPerSecond: Math.round(rows / Math.max(0.001, busyMs / 1000)),
      cpuAndRss: 'the whole live Spark process tree (all its runs)',
    },
  };
}

/** Tries triggers from 1 s down (or up, when 1 s fails); the smallest sustained one wins. */
async function searchTrigger(
  spark: SparkLive,
  seconds: number,
): Promise<{ search: TriggerVerdict[]; best: { triggerMs: number; progress: LiveProgress[] } | null }> {
  const search: TriggerVerdict[] = [];
  let best: { triggerMs: number; progress: LiveProgress[] } | null = null;
  const attempt = async (triggerMs: number) => {
    const measured = Math.max(5, Math.ceil((seconds * 1000) / triggerMs));
    const batches = WARM_UP_BATCHES + measured - 1;
    const allowance = search.length === 0 ? FIRST_WARM_UP_ALLOWANCE_S : WARM_UP_ALLOWANCE_S;
    const maxSeconds = allowance + (1.5 * measured * triggerMs) / 1000;
    const progress = await spark.run(`t${triggerMs}`, triggerMs, batches, maxSeconds);
    const verdict = sustains(triggerMs, batches, progress);
    search.push(verdict);
    return { verdict, progress };
  };
  for (const triggerMs of DOWN) {
    const { verdict, progress } = await attempt(triggerMs);
    if (!verdict.sustained) break;
    best = { triggerMs, progress };
  }
  if (best === null)
    for (const triggerMs of UP) {
      const { verdict, progress } = await attempt(triggerMs);
      if (verdict.sustained) {
        best = { triggerMs, progress };
        break;
      }
    }
  return { search, best };
}

function triggerName(ms: number): string {
  return ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`;
}

export async function runLiveLatency(options: LiveOptions): Promise<LiveResult> {
  const rate = options.rate ?? 15_000;
  const seconds = options.candidateSeconds ?? 10;
  const brokers = options.brokers;
  const topic = `bench_json_live_${Date.now()}`;
  const log = createLogger({ level: 'warn' });
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-live-'));
  const sluiceDir = join(dir, 'sluice');
  const sluiceOut = join(sluiceDir, 'out');
  const sparkDir = join(dir, 'spark');
  await mkdir(sparkDir, { recursive: true });
  await produceEvents({ brokers, topic, format: 'json', count: 0, createTopic: PARTITIONS, log });
  const job = await Job.start(sluiceTopology(brokers, topic, sluiceDir), {
    metrics: new Metrics(),
    log,
  });
  const tail = new OutputTail([sluiceOut, sparkDir]);
  const stop = new AbortController();
  let polling: Promise<void> = Promise.resolve();
  let producing: Promise<{ events: number; eventsPerSecond: number }> | null = null;
  let spark: SparkLive | null = null;
  try {
    spark = await startSparkLive({ brokers, topic, out: sparkDir });
    const began = Date.now();
    const measure = measureProcess();
    producing = produceJsonWithKcat({
      brokers,
      topic,
      count: rate * 900,
      rate,
      generator: { keys: 10_000, startTime: began },
      signal: stop.signal,
    });
    producing.catch(() => {}); // awaited below
    polling = (async () => {
      while (!stop.signal.aborted) {
        await tail.poll();
        await sleep(50);
      }
      await tail.poll();
    })();
    const { search, best } = await searchTrigger(spark, seconds);
    // The seed's trigger on the warm JVM: batch 0 at once (not measured), batch 1 at the next
    // 30 s boundary (a part interval), batch 2 a full interval later.
    const thirtySeconds = await spark.run('t30000', 30_000, 2, 90);
    // Sluice writes a window when the watermark passes its end. The window the stream began
    // in holds only its tail (sluice's start-up, as Spark's batch 0 is Spark's): no sample.
    // Wait for the first whole window if it has not been written yet.
    const sluiceLines = () =>
      tail.seen.filter((line) => line.file.startsWith(sluiceOut) && Number(line.row.window_start) >= began);
    const deadline = Date.now() + 2 * WINDOW_MS + 10_000;
    while (sluiceLines().length === 0 && Date.now() < deadline) await sleep(500);
    stop.abort();
    const produced = await producing;
    const usage = measure.stop();
    await polling;
    const sparkUsage = await spark.quit();
    spark = null;
    const wholeWindows = sluiceLines();
    const sluiceLatency = batchLatency(
      wholeWindows,
      (line) => String(line.row.window_start),
      (line) => (typeof line.row.oldest === 'number' ? line.row.oldest : null),
    );
    const offered = `${rate.toLocaleString('en-US')}/s live`;
    const systems: SystemFigures[] = [
      {
        system: `sluice (${offered})`,
        scenario: 'sluice',
        events: produced.events,
        ...usage,
        eventsPerSecond: produced.eventsPerSecond,
        latencyUs: sluiceLatency.percentiles(),
        latencyOf:
          'per window written (1-minute windows, each written once when closed; the window the stream began in left out): rows seen in the file sink − oldest event time in them',
        extra: {
          offered: rate,
          wholeWindowsWritten: new Set(wholeWindows.map((line) => line.row.window_start)).size,
          cpuAndRss: 'this process: sluice, the producer feeding kcat and the poller',
        },
      },
    ];
    if (best)
      systems.push(
        sparkFigures(
          `spark (${offered}, smallest sustained trigger ${triggerName(best.triggerMs)})`,
          best.triggerMs,
          best.progress,
          tail,
          `t${best.triggerMs}`,
          sparkUsage,
          rate,
        ),
      );
    systems.push(
      sparkFigures(
        `spark (${offered}, trigger 30 s)`,
        30_000,
        thirtySeconds,
        tail,
        't30000',
        sparkUsage,
        rate,
      ),
    );
    const lines = [
      `live: sluice and Spark read the same ${produced.events.toLocaleString('en-US')} events offered at ${rate.toLocaleString('en-US')}/s (event time = wall clock) in the same run; smallest trigger Spark sustains: ${best ? triggerName(best.triggerMs) : `none of ${[...DOWN, ...UP].map(triggerName).join(', ')}`}`,
    ];
    return { systems, search, lines };
  } finally {
    stop.abort();
    await polling.catch(() => {});
    await producing?.catch(() => {});
    await spark?.quit().catch(() => {});
    await job.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The search as a report table. */
export function searchTable(search: TriggerVerdict[]): { header: string[]; rows: string[][] } {
  return {
    header: [
      'Spark trigger (live)',
      'micro-batches',
      'batch p50 ms',
      'batch p90 ms',
      'lag at last commit ms',
      'max lag ms',
      'sustained',
    ],
    rows: search.map((verdict) => [
      triggerName(verdict.triggerMs),
      String(verdict.batches),
      String(verdict.p50BatchMs),
      String(verdict.p90BatchMs),
      Number.isFinite(verdict.lastLagMs) ? String(Math.round(verdict.lastLagMs)) : '—',
      Number.isFinite(verdict.maxLagMs) ? String(Math.round(verdict.maxLagMs)) : '—',
      verdict.sustained ? 'yes' : 'no',
    ]),
  };
}
