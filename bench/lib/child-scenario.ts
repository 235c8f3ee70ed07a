/**
 * Runs a scenario in its own Node process, so its CPU time and peak RSS are its own and
 * not mixed with what earlier scenarios of the same suite run left in the heap. The
 * script is forked with `--scenario-child <json options>`; it computes its
 * `ScenarioResult` and sends it back over the IPC channel (`serveScenarioChild`).
 */
import { fork } from 'node:child_process';
import { relative } from 'node:path';
import { NODE_FLAGS } from '../../runtime/cli/node-flags.ts';
import type { ScenarioResult } from './scenario-result.ts';

const FLAG = '--scenario-child';

/**
 * Forks `script` and resolves to the result it sends; rejects when it exits without one,
 * or kills it and rejects after `limitMs`, so a stuck scenario cannot hold up the suite.
 */
export function runScenarioChild(
  script: string,
  options: object,
  limitMs = 10 * 60_000,
): Promise<ScenarioResult> {
  const child = fork(script, [FLAG, JSON.stringify(options)], {
    // Measured as sluice runs: with its Node flags.
    execArgv: [...NODE_FLAGS, '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    let result: ScenarioResult | null = null;
    child.once('message', (message) => {
      result = message as ScenarioResult;
    });
    const limit = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(limit);
      if (result !== null) resolve(result);
      else
        reject(
          new Error(
            `${script} ${signal === 'SIGKILL' ? `ran past its ${limitMs / 60_000} min limit` : `exited with ${signal ?? code}`} before sending its result`,
          ),
        );
    });
  });
}

/** The options a forked scenario child was given, or null when the script runs alone. */
function scenarioChildOptions<T>(): T | null {
  const at = process.argv.indexOf(FLAG);
  return at < 0 ? null : (JSON.parse(process.argv[at + 1] as string) as T);
}

/** In a forked child: runs the scenario, sends its result to the parent and exits. */
export async function serveScenarioChild(run: () => Promise<ScenarioResult>): Promise<never> {
  const result = await run();
  await new Promise((resolve) => process.send?.(result, resolve) ?? resolve(null));
  process.exit(0);
}

/**
 * A scenario script's entry point: forked by the suite, it serves its result to the
 * parent; run alone, it runs with the options `standalone` makes from the command line
 * (given the command, for the report), prints the result and exits 1 when a check failed.
 */
export async function scenarioMain<T>(
  run: (options: T) => Promise<ScenarioResult>,
  standalone: (command: string) => T,
): Promise<void> {
  const child = scenarioChildOptions<T>();
  if (child !== null) await serveScenarioChild(() => run(child));
  const script = relative(process.cwd(), process.argv[1] as string);
  const command = `node --import tsx ${script} ${process.argv.slice(2).join(' ')}`.trim();
  const { printResult } = await import('../run.ts');
  const result = await run(standalone(command));
  printResult(result);
  if (result.check.agree === false) process.exitCode = 1;
}
