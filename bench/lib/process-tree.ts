/**
 * CPU time and peak RSS of a child process and all its descendants, sampled from /proc:
 * a baseline such as Spark runs as python → spark-submit → java, and its cost is the
 * whole tree. Linux only; elsewhere the figures stay zero and `supported` says so.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;
const PAGE_BYTES = 4096;

interface Sample {
  ppid: number;
  cpuTicks: number;
  rssBytes: number;
}

function readStat(pid: number): Sample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      ppid: Number(fields[1]),
      cpuTicks: Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]),
      rssBytes: Number(fields[21]) * PAGE_BYTES,
    };
  } catch {
    return null;
  }
}

function descendants(root: number): Map<number, Sample> {
  const all = new Map<number, Sample>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const sample = readStat(pid);
    if (sample) all.set(pid, sample);
  }
  const tree = new Map<number, Sample>();
  const root_sample = all.get(root);
  if (!root_sample) return tree;
  tree.set(root, root_sample);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, sample] of all) {
      if (!tree.has(pid) && tree.has(sample.ppid)) {
        tree.set(pid, sample);
        grew = true;
      }
    }
  }
  return tree;
}

/** Samples the tree under `pid` every `intervalMs` until `stop()`. */
export function watchProcessTree(pid: number, intervalMs = 250) {
  const supported = process.platform === 'linux';
  const cpuTicksByPid = new Map<number, number>();
  let peakRssBytes = 0;
  const sample = () => {
    if (!supported) return;
    const tree = descendants(pid);
    let rss = 0;
    for (const [child, stat] of tree) {
      rss += stat.rssBytes;
      cpuTicksByPid.set(child, Math.max(cpuTicksByPid.get(child) ?? 0, stat.cpuTicks));
    }
    peakRssBytes = Math.max(peakRssBytes, rss);
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    supported,
    /** Takes a last sample (call before the process exits) and stops. */
    stop(): { cpuMs: number; peakRssMiB: number } {
      sample();
      clearInterval(timer);
      let ticks = 0;
      for (const value of cpuTicksByPid.values()) ticks += value;
      return { cpuMs: (ticks * 1000) / TICKS_PER_SECOND, peakRssMiB: peakRssBytes / 1048576 };
    },
  };
}
