/**
 * Writes what a scenario measured: the raw figures as `results/<date>-<scenario>.json`,
 * its charts as `charts/<scenario>-latency.svg` and `-throughput.svg`, and `RESULTS.md`
 * rebuilt from the newest result of every scenario (a full run wins over a `--quick` one),
 * so running one scenario refreshes its section and keeps the others.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatMicroseconds, latencyChart, throughputChart } from './charts.ts';
import type { ScenarioResult, SystemFigures } from './scenario-result.ts';

/** The reading of the numbers, per scenario, kept by hand in `bench/results/notes/<scenario>.md`. */
async function notesFor(outDir: string, scenario: string): Promise<string> {
  try {
    return (await readFile(join(outDir, 'results', 'notes', `${scenario}.md`), 'utf8')).trim();
  } catch {
    return '_No reading written for this run yet._';
  }
}

export async function saveResult(outDir: string, result: ScenarioResult): Promise<string> {
  await mkdir(join(outDir, 'results'), { recursive: true });
  await mkdir(join(outDir, 'charts'), { recursive: true });
  const stamp = result.context.date.replace(/[:.]/g, '-');
  const file = join(outDir, 'results', `${stamp}-${result.scenario}.json`);
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  if (result.systems.length > 0) {
    await writeFile(
      join(outDir, 'charts', `${result.scenario}-latency.svg`),
      latencyChart(`${result.scenario}: latency percentiles`, result.systems),
    );
    await writeFile(
      join(outDir, 'charts', `${result.scenario}-throughput.svg`),
      throughputChart(`${result.scenario}: events/s`, result.systems),
    );
  }
  await writeResultsMarkdown(outDir);
  return file;
}

async function newestResults(outDir: string): Promise<ScenarioResult[]> {
  const files = (await readdir(join(outDir, 'results'))).filter((file) => file.endsWith('.json')).sort();
  const chosen = new Map<string, ScenarioResult>();
  for (const file of files) {
    const result = JSON.parse(await readFile(join(outDir, 'results', file), 'utf8')) as ScenarioResult;
    const previous = chosen.get(result.scenario);
    if (!previous || previous.quick || !result.quick) chosen.set(result.scenario, result);
  }
  const order = [
    'core',
    'kafka-frame',
    'kafka-json',
    'e2e-clickhouse',
    'checkpoint',
    'gateway',
    'cdc',
    'native',
    'sinks',
  ];
  return [...chosen.values()].sort((a, b) => order.indexOf(a.scenario) - order.indexOf(b.scenario));
}

function number(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function figuresRow(system: SystemFigures, reference: SystemFigures | undefined): string {
  const latency = system.latencyUs;
  const cells = latency
    ? [latency.p50, latency.p90, latency.p99, latency.p999, latency.max].map(formatMicroseconds)
    : ['–', '–', '–', '–', '–'];
  // A row at a fixed offered load (a live stream) consumed what was offered: its events/s
  // is no throughput to divide a throughput row by.
  const offered = (figures: SystemFigures) => typeof figures.extra?.offered === 'number';
  const ratio =
    reference && reference !== system
      ? offered(system) && !offered(reference)
        ? 'n/a (offered load)'
        : `${(reference.eventsPerSecond / system.eventsPerSecond).toFixed(2)}×`
      : 'reference';
  return `| ${system.system} | ${number(system.eventsPerSecond)} | ${cells.join(' | ')} | ${(system.cpuMs / 1000).toFixed(2)} s | ${number(system.peakRssMiB)} MiB | ${ratio} |`;
}

export function scenarioMarkdown(result: ScenarioResult, notes: string): string {
  const { context } = result;
  const machine = context.machine;
  const lines = [
    `## ${result.scenario}${result.quick ? ' (--quick)' : ''}`,
    '',
    `- machine: ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.cpuModel}; ${machine.platform}; node ${machine.node}`,
    `- commit ${context.commit}, ${context.date}, load average ${context.loadAverage.join(' / ')} (1/5/15 min; other engineers ran tests on this machine at the same time, so figures are noisy)`,
    `- command: \`${context.command}\``,
    `- input: ${result.input}`,
  ];
  if (result.check.agree !== null) {
    lines.push(
      `- result check before timing: **${result.check.agree ? 'all systems agree' : 'SYSTEMS DISAGREE'}**`,
    );
    for (const line of result.check.lines) lines.push(`  - ${line}`);
  }
  for (const line of result.skipped) lines.push(`- ${line}`);
  lines.push('');
  if (result.systems.length > 0) {
    const reference = result.systems[0];
    lines.push(
      `| system | events/s | p50 | p90 | p99 | p99.9 | max | CPU | peak RSS | ${reference.system} ÷ this (events/s) |`,
    );
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---|');
    for (const system of result.systems) lines.push(figuresRow(system, reference));
    lines.push('');
    lines.push('Latency measured:');
    for (const system of result.systems) {
      const extra = system.extra
        ? ` (${Object.entries(system.extra)
            .map(([name, value]) => `${name} ${typeof value === 'number' ? number(value) : value}`)
            .join(', ')})`
        : '';
      lines.push(`- ${system.system}: ${system.latencyOf}${extra}`);
    }
    lines.push('');
    lines.push(
      `![latency](charts/${result.scenario}-latency.svg) ![throughput](charts/${result.scenario}-throughput.svg)`,
    );
    lines.push('');
  }
  if (result.table) {
    lines.push(`| ${result.table.header.join(' | ')} |`);
    lines.push(`|${result.table.header.map(() => '---').join('|')}|`);
    for (const row of result.table.rows) lines.push(`| ${row.join(' | ')} |`);
    lines.push('');
  }
  lines.push(notes, '');
  return lines.join('\n');
}

export async function writeResultsMarkdown(outDir: string): Promise<void> {
  const results = await newestResults(outDir);
  const sections = await Promise.all(
    results.map(async (result) => scenarioMarkdown(result, await notesFor(outDir, result.scenario))),
  );
  const text = [
    '# sluice benchmark results',
    '',
    'Generated by `npm run bench` (bench/run.ts) from the newest file per scenario in `bench/results/`;',
    'the reading under each table comes from `bench/results/notes/<scenario>.md`. The last column divides the',
    "first row's events/s by each row's (above 1: the first row is faster; it is sluice where a baseline ran, else",
    'the reference the scenario names in its lines). Throughput counts from the first processed record to the end;',
    'start-up (worker threads compiling, the consumer-group join, the JVM) is reported apart as startupMs. In the Kafka',
    'scenarios "the end" is the last window count out, for sluice and naive-node alike; teardown after it (leaving the',
    'group, worker threads exiting) is reported apart as teardownMs.',
    '',
    ...sections,
  ].join('\n');
  await writeFile(join(outDir, 'RESULTS.md'), text);
}
