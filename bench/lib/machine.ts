/**
 * Where and when a benchmark ran: machine, commit, load. Recorded with every result,
 * because figures from a shared 2-core machine mean little without the load beside them.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
}

export interface RunContext {
  machine: MachineInfo;
  commit: string;
  /** ISO-8601 time the scenario started. */
  date: string;
  command: string;
  /** `os.loadavg()` (1, 5, 15 min) when the scenario started. */
  loadAverage: number[];
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}

/** Short commit hash, with `+dirty` when the working tree has changes (others work in it too). */
export function currentCommit(): string {
  try {
    const hash = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      encoding: 'utf8',
    });
    return dirty.trim().length > 0 ? `${hash}+dirty` : hash;
  } catch {
    return 'unknown';
  }
}

export function runContext(command: string): RunContext {
  return {
    machine: machineInfo(),
    commit: currentCommit(),
    date: new Date().toISOString(),
    command,
    loadAverage: os.loadavg().map((value) => Math.round(value * 100) / 100),
  };
}
