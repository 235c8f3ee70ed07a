/**
 * Scenario `core`: in-process generator → tumbling 1-minute count + sum per key over
 * 100K keys → null sink, with 1 and 2 workers. Reports events/s and the per-batch
 * processing latency (dequeue → rows emitted) from HdrHistogram, plus CPU time and peak
 * RSS. Before timing, both worker counts must produce the same rows on a small input.
 * Events/s counts from the first processed batch to the job's stop (the last windows
 * firing and the final checkpoint included); start-up (worker threads compiling their
 * modules, LevelDB opening) is reported apart as startupMs, as in the Kafka scenarios.
 *
 * Run: node --import tsx bench/core/core.ts [--quick] [--events N]
 */
import { Job } from '../../actors/job/job.ts';
import { createLogger } from '../../runtime/logger.ts';
import { Metrics } from '../../runtime/metrics.ts';
import { parseTopology } from '../../runtime/topology/load-topology.ts';
import { type BenchFigures, formatFigures, measureProcess } from '../lib/figures.ts';
import { runContext } from '../lib/machine.ts';
import { RecordingMetrics } from '../lib/recording-metrics.ts';
import type { ScenarioResult } from '../lib/scenario-result.ts';

function topology(events: number, workers: number, partitions: number, sink: 'null' | 'file', dir = '.') {
  return parseTopology(
    `name: core
workers: ${workers}
batch: { size: 1000 }
sources:
  clicks:
    type: generator
    keys: 100000
    count: ${events}
    partitions: ${partitions}
    startTime: 0
    outOfOrder: 0.05
    time: { field: ts, maxOutOfOrder: 2s }
windows:
  per_user:
    from: clicks
    window: { type: tumbling, size: 1m }
    groupBy: [user_id]
    aggregate: { events: count(), amount: sum(amount) }
    to: [out]
sinks:
  out: ${sink === 'null' ? '{ type: null }' : `{ type: file, path: ${dir}/rows.jsonl }`}
`,
    `${dir}/core.yaml`,
  );
}

export async function runCore(options: { events: number; workers: number }): Promise<BenchFigures> {
  const metrics = new RecordingMetrics();
  const log = createLogger({ level: 'warn' });
  const partitions = options.workers;
  // A fresh state folder: a leftover checkpoint would resume the generator and skip events.
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'sluice-core-'));
  const began = performance.now();
  const measure = measureProcess();
  const job = await Job.start(topology(options.events, options.workers, partitions, 'null', dir), {
    metrics,
    log,
  });
  await job.finished;
  await job.stop();
  const usage = measure.stop();
  await rm(dir, { recursive: true, force: true });
  const { startupMs, processingMs } = metrics.phases(began, usage.wallMs);
  return {
    scenario: `core, ${options.workers} worker${options.workers > 1 ? 's' : ''}`,
    events: options.events,
    ...usage,
    eventsPerSecond: options.events / (processingMs / 1000),
    latencyUs: metrics.latency.percentiles(),
    latencyOf: 'per batch of 1,000 events: dequeue → rows emitted',
    extra: { startupMs: Math.round(startupMs), processingMs: Math.round(processingMs) },
  };
}

/** The rows of a small run, per partition file, to check that worker counts agree. */
async function rowsOf(workers: number, events: number): Promise<string> {
  const { mkdtemp, readFile, readdir, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'sluice-core-'));
  try {
    const job = await Job.start(topology(events, workers, 2, 'file', dir), {
      metrics: new Metrics(),
      log: createLogger({ level: 'warn' }),
    });
    await job.finished;
    await job.stop();
    const files = (await readdir(dir)).filter((file) => file.endsWith('.jsonl')).sort();
    return (await Promise.all(files.map((file) => readFile(join(dir, file), 'utf8')))).join('');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function checkCoreAgreement(events = 200_000): Promise<boolean> {
  return (await rowsOf(1, events)) === (await rowsOf(2, events));
}

/** The `core` scenario for the suite: the agreement check, then 1 and 2 workers timed. */
export async function runCoreScenario(options: { quick: boolean; command: string }): Promise<ScenarioResult> {
  const context = runContext(options.command);
  const checked = options.quick ? 50_000 : 200_000;
  const agree = await checkCoreAgreement(checked);
  const events = options.quick ? 100_000 : 5_000_000;
  const systems = [];
  if (agree) {
    for (const workers of [2, 1]) {
      const figures = await runCore({ events, workers });
      systems.push({ ...figures, system: figures.scenario.replace('core, ', 'sluice, ') });
    }
  }
  return {
    scenario: 'core',
    context,
    quick: options.quick,
    input: `${events.toLocaleString('en-US')} generated events, 100,000 keys, 5% out of order, in-process (no Kafka)`,
    check: {
      agree,
      lines: [
        `1 and 2 workers: ${agree ? 'identical' : 'DIFFERENT'} output rows on ${checked.toLocaleString('en-US')} events`,
      ],
    },
    systems,
    skipped: ['no baseline: the in-process generator has no Kafka; see kafka-json for naive-node and Spark'],
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick');
  const eventsFlag = process.argv.indexOf('--events');
  const events = eventsFlag > 0 ? Number(process.argv[eventsFlag + 1]) : quick ? 500_000 : 20_000_000;
  const agree = await checkCoreAgreement();
  console.log(`result check: 1 and 2 workers give ${agree ? 'identical' : 'DIFFERENT'} rows`);
  if (!agree) process.exit(1);
  for (const workers of [1, 2]) console.log(formatFigures(await runCore({ events, workers })));
}
