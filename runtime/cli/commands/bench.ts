import { CliArgumentError } from '../../errors.ts';

/**
 * `sluice bench`: the benchmark suite of bench/run.ts (scenarios with their baselines on
 * the same input, result check before timing, RESULTS.md, charts, raw JSON). The suite is
 * imported only when the command runs, so the rest of the CLI does not load it.
 */

export const summary = 'run the benchmark suite against its baselines and write bench/RESULTS.md';

export const usage = `Usage: sluice bench [scenario…] [--quick] [--full] [--no-spark] [--out DIR] [--rewrite-report]

Runs benchmark scenarios (default: all) with their baselines on the same input,
checks that every system gives the same window counts before timing, and writes
RESULTS.md, charts/ and results/<date>-<scenario>.json under DIR (default bench/).

Scenarios: core, kafka-frame, kafka-json, e2e-clickhouse, checkpoint
  --quick     tiny sizes, sluice and naive-node only (a smoke run)
  --full      also the sizes past the default suite's 15-minute budget (checkpoint: 5M keys)
  --no-spark  leave out the Spark baseline
  --rewrite-report  only rebuild RESULTS.md from results/ and results/notes/
Baselines install with bench/baselines/install.sh; a missing one is reported as skipped.
Exit code 0 when every result check agrees, 1 when one disagrees, 2 on bad arguments.`;

const FLAGS = new Set(['--quick', '--full', '--no-spark', '--out', '--rewrite-report']);

export async function run(argv: string[]): Promise<number> {
  const suite = await import('../../../bench/run.ts');
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index];
    if (arg === '--out') {
      if (argv[index + 1] === undefined) throw new CliArgumentError('bench', '--out needs a folder');
      index += 1;
    } else if (arg.startsWith('-') && !FLAGS.has(arg)) {
      throw new CliArgumentError('bench', `Unknown option '${arg}'`);
    } else if (!arg.startsWith('-') && !(arg in suite.SCENARIOS)) {
      throw new CliArgumentError(
        'bench',
        `unknown scenario '${arg}'; expected ${Object.keys(suite.SCENARIOS).join(', ')}`,
      );
    }
  }
  const code = await suite.runBench(argv, `sluice bench ${argv.join(' ')}`.trim());
  // Kafka clients and worker pools may keep handles open; every result is written.
  process.exit(code);
}
