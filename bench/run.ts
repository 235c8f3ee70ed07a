/**
 * `npm run bench [scenario…] [--quick] [--full] [--no-spark] [--out DIR]` and `sluice bench`: runs
 * scenarios one after another; each checks that what it compares agrees before timing,
 * then its figures are printed and saved (`results/<date>-<scenario>.json`, charts, and
 * RESULTS.md rebuilt) under DIR, by default this folder.
 */
import { fileURLToPath } from 'node:url';
import { formatFigures } from './lib/figures.ts';
import { saveResult, writeResultsMarkdown } from './lib/report.ts';
import type { ScenarioResult } from './lib/scenario-result.ts';

export interface BenchOptions {
  quick: boolean;
  /** Also the sizes past the default suite's budget (checkpoint: 5M keys). */
  full: boolean;
  spark: boolean;
  outDir: string;
  command: string;
}

type Scenario = (options: BenchOptions) => Promise<ScenarioResult | string>;

/** Issue #7: the whole default suite (`npm run bench`, no scenario named) in under 15 minutes. */
export const SUITE_BUDGET_MINUTES = 15;

/** Scenario name → runner; a string result is a skip line. */
export const SCENARIOS: Record<string, Scenario> = {
  async core(options) {
    const { runCoreScenario } = await import('./core/core.ts');
    return runCoreScenario(options);
  },
  async 'kafka-frame'(options) {
    const { runKafkaFrame } = await import('./kafka-frame/kafka-frame.ts');
    return runKafkaFrame(options);
  },
  async 'kafka-json'(options) {
    const { runKafkaJson } = await import('./kafka-json/kafka-json.ts');
    return runKafkaJson({ ...options, spark: options.spark && !options.quick });
  },
  async 'file-json'(options) {
    const { runFileJson } = await import('./file-json/file-json.ts');
    return runFileJson({ quick: options.quick, command: options.command });
  },
  async 'e2e-clickhouse'(options) {
    const { existsSync } = await import('node:fs');
    const sink = fileURLToPath(new URL('../actors/sinks/clickhouse-sink.ts', import.meta.url));
    if (!existsSync(sink))
      return 'e2e-clickhouse: skipped — no ClickHouse sink in this build (actors/sinks/clickhouse-sink.ts)';
    const { runE2eClickHouse } = await import('./e2e-clickhouse/e2e-clickhouse.ts');
    return runE2eClickHouse(options);
  },
  async checkpoint(options) {
    const { runCheckpoint } = await import('./checkpoint-scenario/checkpoint-scenario.ts');
    return runCheckpoint(options);
  },
  async gateway(options) {
    const { runGatewayScenario } = await import('./gateway/gateway.ts');
    return runGatewayScenario({ quick: options.quick, command: options.command });
  },
  async cdc(options) {
    const { runCdcScenario } = await import('./cdc/cdc.ts');
    return runCdcScenario({ quick: options.quick, command: options.command });
  },
  async native(options) {
    const { runNativeScenario } = await import('./native/decode-aggregate.ts');
    return runNativeScenario({ quick: options.quick, command: options.command });
  },
  async sinks(options) {
    const { runSinksScenario } = await import('./sinks/sinks.ts');
    return runSinksScenario({ quick: options.quick, command: options.command });
  },
};

export const BENCH_USAGE = `Usage: sluice bench [scenario…] [--quick] [--full] [--no-spark] [--out DIR]

Runs benchmark scenarios (default: all) with their baselines on the same input,
checks that every system gives the same window counts before timing, and writes
RESULTS.md, charts/ and results/<date>-<scenario>.json under DIR (default bench/).

Scenarios and their time on this 2-core machine at default sizes (budget for the whole
default suite: 15 minutes; --quick runs take seconds each):
  core            ~30 s      in-process generator → windows, 1 and 2 workers
  kafka-frame     ~50 s      Kafka, sluice frames → windows (tumbling; hopping too on both paths)
  kafka-json      ~5 min     the seed's job on a pre-filled topic with naive-node and Spark (30 s
                             trigger), then sluice and Spark on one live 15,000 events/s stream:
                             Spark's smallest sustained trigger, event time → output latency
  file-json       ~1 min     4M JSON lines from a file source, native and TS path, and naive-node
  e2e-clickhouse  ~1.5 min   event → row visible in ClickHouse at fixed loads
  checkpoint      ~40 s      checkpoint/restore against 100K and 1M keys (--full adds 5M: +4 min)
  gateway         ~30 s      4 runs of 4 s: batches of 1/64/1,024, then 100K events/s offered
  cdc             ~40 s      50,000 inserts + 1,000 commits at 200/s, to windows and to Kafka
  native          ~40 s      500,000 events as frames (native, TS twin, per-event TS) and as JSON (native, JSON.parse)
  sinks           ~1 min     400,000 rows per ClickHouse format, 10,000 into the BigQuery emulator
Times from runs on a loaded machine (load average 5–8); the sum is ≈ 12 min, and the suite
prints each scenario's time and the total. Checkpoint's 5M keys (≈ 230 s, ~7 GiB RSS) would
take it to ≈ 15 min, over the budget under load, so 5M keys runs only with --full.
  --quick     tiny sizes, sluice and naive-node only (a smoke run)
  --full      also the sizes past the budget (checkpoint: 5M keys)
  --no-spark  leave out the Spark baseline
  --rewrite-report  only rebuild RESULTS.md from results/ and results/notes/
Baselines install with bench/baselines/install.sh; one that is missing is reported as skipped.`;

export function printResult(result: ScenarioResult): void {
  console.log(`\n== ${result.scenario}${result.quick ? ' (--quick)' : ''}: ${result.input}`);
  if (result.check.agree !== null)
    console.log(
      `result check: ${result.check.agree ? 'all systems agree' : 'SYSTEMS DISAGREE — figures not comparable'}`,
    );
  for (const line of result.check.lines) console.log(`  ${line}`);
  for (const system of result.systems) console.log(formatFigures({ ...system, scenario: system.system }));
  if (result.table) {
    console.log(result.table.header.join(' | '));
    for (const row of result.table.rows) console.log(row.join(' | '));
  }
  for (const line of result.skipped) console.log(line);
}

/**
 * Runs the suite; resolves to an exit code (1 when a check disagrees or a scenario fails,
 * 2 for bad arguments).
 */
export async function runBench(
  argv: string[],
  command = argv.length > 0 ? `npm run bench -- ${argv.join(' ')}` : 'npm run bench',
): Promise<number> {
  const outFlag = argv.indexOf('--out');
  const outDir = outFlag >= 0 ? argv[outFlag + 1] : fileURLToPath(new URL('.', import.meta.url));
  const rest = argv.filter((_arg, index) => outFlag < 0 || (index !== outFlag && index !== outFlag + 1));
  const unknownFlag = rest.find(
    (arg) => arg.startsWith('--') && !['--quick', '--full', '--no-spark', '--rewrite-report'].includes(arg),
  );
  if (unknownFlag || outDir === undefined) {
    console.error(unknownFlag ? `unknown option ${unknownFlag}\n\n${BENCH_USAGE}` : '--out needs a folder');
    return 2;
  }
  if (rest.includes('--rewrite-report')) {
    await writeResultsMarkdown(outDir);
    return 0;
  }
  const options: BenchOptions = {
    quick: rest.includes('--quick'),
    full: rest.includes('--full') && !rest.includes('--quick'),
    spark: !rest.includes('--no-spark'),
    outDir,
    command,
  };
  const chosen = rest.filter((arg) => !arg.startsWith('--'));
  const names = chosen.length > 0 ? chosen : Object.keys(SCENARIOS);
  const unknown = names.find((name) => !(name in SCENARIOS));
  if (unknown) {
    console.error(`unknown scenario ${unknown}; known: ${Object.keys(SCENARIOS).join(', ')}`);
    return 2;
  }
  let agreed = true;
  const suiteBegan = performance.now();
  const took: string[] = [];
  for (const name of names) {
    const began = performance.now();
    // A scenario that fails (a service down, a crash) is reported and the others still run.
    const result = await SCENARIOS[name](options).catch((error: unknown) => {
      agreed = false;
      console.error(`\n${name}: FAILED — ${error instanceof Error ? error.message : String(error)}`);
      return null;
    });
    took.push(`${name} ${((performance.now() - began) / 1000).toFixed(0)} s`);
    if (result === null) continue;
    if (typeof result === 'string') {
      console.log(`\n${result}`);
      continue;
    }
    printResult(result);
    if (result.check.agree === false) agreed = false;
    console.log(`saved ${await saveResult(outDir, result)}`);
  }
  const minutes = (performance.now() - suiteBegan) / 60_000;
  console.log(
    `\nsuite took ${minutes.toFixed(1)} min (${took.join(', ')})${chosen.length === 0 && !options.quick ? `; budget for the default suite: ${SUITE_BUDGET_MINUTES} min${minutes > SUITE_BUDGET_MINUTES ? ' — OVER' : ''}` : ''}`,
  );
  return agreed ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await runBench(process.argv.slice(2));
  // Kafka clients and worker pools may keep handles; the results are written.
  process.exit();
}
