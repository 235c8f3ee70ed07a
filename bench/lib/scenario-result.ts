/**
 * What one scenario run hands to the report: each system's figures on the same input,
 * the result-equality check that came before timing, and baselines that were skipped
 * (with the reason, never silently). Saved as `bench/results/<date>-<scenario>.json`.
 */
import type { BenchFigures } from './figures.ts';
import type { RunContext } from './machine.ts';

export interface SystemFigures extends BenchFigures {
  /** `sluice`, `naive-node`, `spark (trigger 30 s)` … */
  system: string;
}

export interface ResultCheck {
  /** null when the scenario has nothing to compare. */
  agree: boolean | null;
  /** One line per compared system, e.g. `naive-node: 1,024 windows, 200,000 events — identical`. */
  lines: string[];
}

export interface ScenarioResult {
  scenario: string;
  context: RunContext;
  quick: boolean;
  input: string;
  check: ResultCheck;
  systems: SystemFigures[];
  /** `spark: skipped — <reason>` lines. */
  skipped: string[];
  /** Raw lines for scenarios whose figures are not events/s (checkpoint). */
  table?: { header: string[]; rows: string[][] };
}

export type ScenarioRunner = (options: { quick: boolean; command: string }) => Promise<ScenarioResult>;
