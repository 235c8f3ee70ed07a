/**
 * Scenario `sinks`: rows/s into ClickHouse per insert format (JSONEachRow through the
 * sink's target, TabSeparated built here) and into the BigQuery emulator (insertAll
 * through the sink's target), with per-insert latency percentiles. Each run is checked
 * before timing (the same first batch gives the same table) and read back after it (every
 * row sent is there). The window fired → rows visible latency is e2e-clickhouse's.
 * Runs in its own process; a service that does not answer is reported as skipped.
 *
 *   node --import tsx bench/sinks/sinks.ts [--quick]
 */
import { fileURLToPath } from 'node:url';
import { runScenarioChild, scenarioMain } from '../lib/child-scenario.ts';
import { runContext } from '../lib/machine.ts';
import type { ScenarioResult, SystemFigures } from '../lib/scenario-result.ts';
import { bigQueryInsertFigures } from './bigquery.ts';
import { clickhouseInsertFigures } from './clickhouse.ts';

export interface SinksOptions {
  quick: boolean;
  command: string;
}

function failure(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0] : String(error);
}

export async function runSinks(options: SinksOptions): Promise<ScenarioResult> {
  const context = runContext(options.command);
  const clickhouse = options.quick
    ? { rows: 20_000, batchRows: 5_000 }
    : { rows: 400_000, batchRows: 50_000 };
  const bigquery = options.quick ? { rows: 1_000, batchRows: 500 } : { rows: 10_000, batchRows: 5_000 };
  const url = process.env.SLUICE_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';
  const systems: SystemFigures[] = [];
  const lines: string[] = [];
  const skipped: string[] = [];
  let agree = true;
  let version = 'not reached';
  try {
    const inserts = await clickhouseInsertFigures({ ...clickhouse, url });
    version = inserts.version;
    systems.push(...inserts.systems);
    lines.push(...inserts.lines.map((line) => `clickhouse: ${line}`));
    agree &&= inserts.agree;
  } catch (error) {
    skipped.push(`clickhouse: skipped — ${failure(error)} (deploy/local/services up clickhouse)`);
  }
  try {
    const inserts = await bigQueryInsertFigures(bigquery);
    systems.push(inserts.system);
    lines.push(...inserts.lines);
    agree &&= inserts.agree;
  } catch (error) {
    skipped.push(`bigquery: skipped — ${failure(error)} (deploy/local/services up bigquery)`);
  }
  skipped.push(
    'no baseline: the last column compares each row with the first (ClickHouse JSONEachRow, the format the sink uses); the BigQuery emulator is a single Go process storing rows in SQLite, so its row says nothing about BigQuery itself',
    'window fired → rows visible: measured end to end in e2e-clickhouse (standalone per sink: bench/sinks/clickhouse.ts, bench/sinks/bigquery.ts)',
  );
  const n = (value: number) => value.toLocaleString('en-US');
  return {
    scenario: 'sinks',
    context,
    quick: options.quick,
    input: `ClickHouse ${version} at ${url}: ${n(clickhouse.rows)} window rows (7 columns) per format in inserts of ${n(clickhouse.batchRows)}; BigQuery emulator: ${n(bigquery.rows)} rows in insertAll calls of ${n(bigquery.batchRows)}; rows/s over the whole run, one insert after another`,
    check: { agree: systems.length > 0 ? agree : null, lines },
    systems: agree ? systems : [],
    skipped,
  };
}

/** The scenario for the suite: in its own process, so RSS and CPU are its own. */
export function runSinksScenario(options: SinksOptions): Promise<ScenarioResult> {
  return runScenarioChild(fileURLToPath(import.meta.url), options);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await scenarioMain(runSinks, (command) => ({ quick: process.argv.includes('--quick'), command }));
}
