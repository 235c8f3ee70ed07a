/**
 * Scenario `file-json`: a file of JSON lines (generator events, 10,000 users, event time
 * 60 ms per 1,000 events) → a file source with 4 partitions on 2 workers → a tumbling
 * 1-minute count + sum per user → file sink. sluice on the native path (the reader reads
 * each chunk's keys natively and sends the lines; the workers pre-aggregate them) against
 * sluice on the TS path (`SLUICE_NATIVE=0`: a `JSON.parse` per line on the main thread, the
 * events cloned to the workers) and a naive Node loop over the same file (split lines,
 * `JSON.parse`, a `Map` of counts). Every system's count per (window, user) must agree
 * before the figures count. sluice's events/s count from its first processed batch to the
 * job's stop (start-up apart, as in core); the naive loop's from its first read.
 *
 *   node --import tsx bench/file-json/file-json.ts [events]
 */
import { mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGenerator } from '../../actors/generator/index.ts';
import { describeNativePath, nativeAddon } from '../../native/index.ts';
import { parseTopology } from '../../runtime/topology/load-topology.ts';
import { WindowCounter } from '../baselines/naive-node/window-counter.ts';
import { measureProcess } from '../lib/figures.ts';
import { runContext } from '../lib/machine.ts';
import { RecordingMetrics } from '../lib/recording-metrics.ts';
import type { ScenarioResult, SystemFigures } from '../lib/scenario-result.ts';
import { runTopology } from '../lib/sluice-kafka-job.ts';
import { compareCounts, countsFromRows, type WindowCounts, windowCountKey } from '../lib/window-counts.ts';

const START = 1_714_564_800_000;

/** Writes `events` generator events as JSON lines into `path`. */
async function writeInput(path: string, events: number): Promise<void> {
  const generator = createGenerator({ keys: 10_000, skew: 0.8, seed: 11 });
  const file = await open(path, 'w');
  try {
    for (let made = 0; made < events; made += 10_000) {
      const lines = generator.nextBatch(Math.min(10_000, events - made)).events.map((event, index) => {
        event.ts = START + Math.floor(((made + index) * 60) / 1000);
        return JSON.stringify(event);
      });
      await file.write(`${lines.join('\n')}\n`);
    }
  } finally {
    await file.close();
  }
}

/** sluice over the file, on the native path or the TS path: its figures and its rows' counts. */
async function runSluice(
  input: string,
  events: number,
  native: boolean,
): Promise<{ figures: SystemFigures; counts: WindowCounts }> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-file-json-'));
  try {
    const topology = parseTopology(
      `name: file-json
workers: 2
state: { dir: ${join(dir, 'state')} }
sources:
  clicks:
    type: file
    path: ${input}
    partitions: 4
    key: user_id
    time: { field: ts, maxOutOfOrder: 2s }
windows:
  per_user:
    from: clicks
    window: { type: tumbling, size: 1m }
    groupBy: [user_id]
    aggregate: { events: count(), amount: sum(amount) }
    to: [out]
sinks:
  out: { type: file, path: ${join(dir, 'rows.jsonl')} }
`,
      join(dir, 'file-json.yaml'),
    );
    const metrics = new RecordingMetrics();
    const began = performance.now();
    const measure = measureProcess();
    await runTopology(topology, { native, metrics });
    const usage = measure.stop();
    const { startupMs, processingMs } = metrics.phases(began, usage.wallMs);
    const rows: string[] = [];
    for (const name of (await readdir(dir)).filter((file) => file.endsWith('.jsonl')).sort()) {
      rows.push(...(await readFile(join(dir, name), 'utf8')).split('\n'));
    }
    return {
      figures: {
        system: native ? 'sluice, native' : 'sluice, TS path',
        scenario: 'file-json',
        events,
        ...usage,
        eventsPerSecond: events / (processingMs / 1000),
        latencyUs: metrics.latency.percentiles(),
        latencyOf: 'per batch of 1,000 lines: dequeue → rows emitted',
        extra: { startupMs: Math.round(startupMs), processingMs: Math.round(processingMs) },
      },
      counts: countsFromRows(rows, 'user_id', 'events'),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The naive loop: read the file in chunks, `JSON.parse` each line, count per (window, user). */
async function runNaive(
  input: string,
  events: number,
): Promise<{ figures: SystemFigures; counts: WindowCounts }> {
  const counts: WindowCounts = new Map();
  const counter = new WindowCounter(60_000, 2_000);
  const keep = (flushed: ReturnType<WindowCounter['flushAll']>) => {
    for (const window of flushed) counts.set(windowCountKey(window.windowStart, window.userId), window.count);
  };
  const measure = measureProcess();
  const file = await open(input, 'r');
  try {
    let tail = '';
    for await (const chunk of file.createReadStream({ encoding: 'utf8', highWaterMark: 256 * 1024 })) {
      const lines = (tail + chunk).split('\n');
      tail = lines.pop() ?? '';
      for (const line of lines) {
        const event = JSON.parse(line) as { user_id: string; ts: number };
        keep(counter.add(event.user_id, event.ts));
      }
    }
  } finally {
    await file.close();
  }
  keep(counter.flushAll());
  const usage = measure.stop();
  return {
    figures: {
      system: 'naive-node',
      scenario: 'file-json',
      events,
      ...usage,
      eventsPerSecond: events / (usage.wallMs / 1000),
      latencyUs: null,
      latencyOf: 'no per-batch latency: one loop over the file',
    },
    counts,
  };
}

export async function runFileJson(options: {
  quick: boolean;
  command: string;
  events?: number;
}): Promise<ScenarioResult> {
  const context = runContext(options.command);
  const events = options.events ?? (options.quick ? 100_000 : 4_000_000);
  const dir = await mkdtemp(join(tmpdir(), 'sluice-file-json-input-'));
  try {
    const input = join(dir, 'events.jsonl');
    await writeInput(input, events);
    const naive = await runNaive(input, events);
    // Each sluice path twice, alternated: the host's noise shows in the spread.
    const runs: Array<{ figures: SystemFigures; counts: WindowCounts }> = [];
    const paths = nativeAddon === null ? [false] : [true, false];
    for (const native of options.quick ? paths : [...paths, ...paths]) {
      runs.push(await runSluice(input, events, native));
    }
    const lines: string[] = [];
    let agree = true;
    for (const run of runs) {
      const comparison = compareCounts(naive.counts, run.counts);
      agree &&= comparison.agree;
      lines.push(
        `${run.figures.system}: ${comparison.windows.toLocaleString('en-US')} windows, ${comparison.events.toLocaleString('en-US')} events — ${comparison.agree ? 'identical to naive-node' : `DIFFERENT: ${comparison.differences.join('; ')}`}`,
      );
    }
    // The better of each path's runs, as the other scenarios report one run per system.
    const best = (system: string) =>
      runs
        .map((run) => run.figures)
        .filter((figures) => figures.system === system)
        .sort((a, b) => b.eventsPerSecond - a.eventsPerSecond)[0];
    const spread = (system: string) =>
      runs
        .filter((run) => run.figures.system === system)
        .map((run) => `${(run.figures.eventsPerSecond / 1e6).toFixed(2)}M`)
        .join(', ');
    const systems = agree
      ? [best('sluice, native'), best('sluice, TS path'), naive.figures].filter(
          (figures) => figures !== undefined,
        )
      : [];
    const rate = (system: string) => systems.find((figures) => figures.system === system)?.eventsPerSecond;
    const ratio = (a: string, b: string) => {
      const top = rate(a);
      const bottom = rate(b);
      return top === undefined || bottom === undefined ? '–' : `${(top / bottom).toFixed(2)}×`;
    };
    return {
      scenario: 'file-json',
      context,
      quick: options.quick,
      input: `${events.toLocaleString('en-US')} JSON lines (10,000 users, in order) in one file; 4 partitions on 2 workers; tumbling 1 min, count + sum by user_id; each sluice path run ${options.quick ? 1 : 2}× alternated, the better run reported; counts checked on the timed runs' own output`,
      check: { agree, lines },
      systems,
      skipped: [
        ...(nativeAddon === null ? [`sluice, native: skipped — ${describeNativePath()}`] : []),
        `events/s of every run: native ${spread('sluice, native')}; TS path ${spread('sluice, TS path')}`,
      ],
      table: {
        header: ['ratio (events/s)', 'value'],
        rows: [
          ['sluice native ÷ sluice TS path', ratio('sluice, native', 'sluice, TS path')],
          ['sluice native ÷ naive-node', ratio('sluice, native', 'naive-node')],
        ],
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printResult } = await import('../run.ts');
  printResult(
    await runFileJson({
      quick: false,
      command: 'node --import tsx bench/file-json/file-json.ts',
      events: process.argv[2] === undefined ? undefined : Number(process.argv[2]),
    }),
  );
}
