/**
 * Runs the `sluice` CLI as a child process, the way a user does, for end-to-end tests.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { NODE_FLAGS } from '../../runtime/cli/node-flags.ts';

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

/** Starts `sluice <args>` with sluice's Node flags; stdout is collected unless `collectStdout` is false (then nobody reads it). */
export function startSluice(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; collectStdout?: boolean } = {},
): RunningSluice {
  const child = spawn(process.execPath, [...NODE_FLAGS, sluiceBin, ...args], {
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

/** Logged (at info level) once a job's sources run: the start of its work. */
export const JOB_STARTED = /INFO job started/;

/** Logged (at info level) once a kafka source has its partitions and begins to fetch. */
export const KAFKA_ASSIGNED = /INFO kafka partitions assigned/;

/** A run of `sluice <args>`, with the time from the first stderr line matching `marker` to the exit. */
export interface MeasuredRun extends Finished {
  /** Milliseconds from the marker to the exit; the whole run when the marker never came. */
  activeMs: number;
}

/**
 * Starts `sluice <args>` with info logs and calls `onMarker` once, when a stderr line
 * first matches `marker`.
 */
function startWatching(
  args: string[],
  cwd: string,
  marker: RegExp,
  onMarker: () => void,
): { running: RunningSluice; markedAt: () => number | undefined } {
  const running = startSluice(args, { cwd, env: { SLUICE_LOG: 'info' } });
  let markedAt: number | undefined;
  const watch = (): void => {
    if (markedAt !== undefined || !marker.test(running.stderr)) return;
    markedAt = Date.now();
    running.child.stderr!.off('data', watch);
    onMarker();
  };
  running.child.stderr!.on('data', watch);
  return { running, markedAt: () => markedAt };
}

/**
 * Runs `sluice <args>` to completion and measures how long it worked: from the first
 * stderr line matching `marker` to its exit. Kill tests draw their kill instants from
 * this, so that kills land while the job works however fast this machine runs it.
 */
export async function runMeasured(
  args: string[],
  options: { cwd: string; marker: RegExp; timeoutMs?: number },
): Promise<MeasuredRun> {
  const started = Date.now();
  const { running, markedAt } = startWatching(args, options.cwd, options.marker, () => {});
  const timer = setTimeout(() => running.child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  try {
    const result = await running.finished;
    return { ...result, activeMs: Date.now() - (markedAt() ?? started) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs `sluice <args>` again and again, killing it with SIGKILL at a random instant
 * between `minDelayMs` and `maxDelayMs` after the first stderr line of each run that
 * matches `marker` (`JOB_STARTED`, `KAFKA_ASSIGNED`), `kills` times; the run after the
 * last kill is let finish. `beforeKill`, when given, is awaited between the drawn instant
 * and the kill (to hold a kill until the job is in some state). A run that ends by itself
 * before its kill ends the loop; a run that fails by itself is an error. Returns the
 * finishing run and the kill count.
 */
export async function runWithKills(
  args: string[],
  options: {
    cwd: string;
    kills: number;
    marker: RegExp;
    minDelayMs: number;
    maxDelayMs: number;
    timeoutMs?: number;
    beforeKill?: (kill: number, running: RunningSluice) => Promise<void>;
  },
): Promise<{ result: Finished; kills: number }> {
  let kills = 0;
  for (;;) {
    if (kills >= options.kills) {
      return { result: await runSluice(args, { cwd: options.cwd, timeoutMs: options.timeoutMs }), kills };
    }
    const delay = options.minDelayMs + Math.floor(Math.random() * (options.maxDelayMs - options.minDelayMs));
    let timer: NodeJS.Timeout | undefined;
    const { running } = startWatching(args, options.cwd, options.marker, () => {
      timer = setTimeout(async () => {
        await options.beforeKill?.(kills, running);
        if (running.child.exitCode === null) running.child.kill('SIGKILL');
      }, delay);
    });
    const result = await running.finished;
    clearTimeout(timer);
    if (result.signal === 'SIGKILL') {
      kills++;
      continue;
    }
    if (result.code !== 0) throw new Error(`a run failed by itself (exit ${result.code}): ${result.stderr}`);
    return { result, kills };
  }
}

/** Every file of `dir/out`, sorted by name, with its content: what a job wrote. */
export async function outputFiles(dir: string): Promise<Array<[file: string, text: string]>> {
  const { readdir, readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const files = (await readdir(join(dir, 'out'))).sort();
  return Promise.all(
    files.map(async (file) => [file, await readFile(join(dir, 'out', file), 'utf8')] as [string, string]),
  );
}

/** Polls `probe` every `intervalMs` until it gives a value; fails after `timeoutMs`. */
export async function until<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(intervalMs);
  }
}

/** The admin server's port, once a `sluice start` logged its /metrics URL on stderr. */
export function adminPort(stderr: string): number | undefined {
  const match = /url=http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(stderr);
  return match ? Number(match[1]) : undefined;
}
