/**
 * Runs the `sluice` CLI as a child process, the way a user does, for end-to-end tests.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const sluiceBin = fileURLToPath(new URL('../../runtime/cli/bin.js', import.meta.url));

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunningSluice {
  child: ChildProcess;
  /** Everything written to stderr so far. */
  readonly stderr: string;
  finished: Promise<Finished>;
}

/** Starts `sluice <args>`; stdout is collected unless `collectStdout` is false (then nobody reads it). */
export function startSluice(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; collectStdout?: boolean } = {},
): RunningSluice {
  const child = spawn(process.execPath, [sluiceBin, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, SLUICE_LOG: 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  if (options.collectStdout !== false) child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const finished = new Promise<Finished>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return {
    child,
    get stderr() {
      return stderr;
    },
    finished,
  };
}

/** Runs `sluice <args>` to completion, killing it after `timeoutMs`. */
export async function runSluice(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Finished> {
  const running = startSluice(args, options);
  const timer = setTimeout(() => running.child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  try {
    return await running.finished;
  } finally {
    clearTimeout(timer);
  }
}

/** Resident set size of a process in bytes, from /proc. */
export async function residentBytes(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}
