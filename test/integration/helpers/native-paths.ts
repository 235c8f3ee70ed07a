/**
 * Runs one job on the native path or the TS path (`SLUICE_NATIVE=0`), for tests that
 * compare the two: its output files and its metrics.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTopology } from '../../../bench/lib/sluice-kafka-job.ts';
import { Metrics } from '../../../runtime/metrics.ts';
import { parseTopology } from '../../../runtime/topology/load-topology.ts';

/**
 * The windows both tests run: `tumbling` or `hopping` alone (their batches
 * pre-aggregate), or `both`: the tumbling one with a session window beside it (the field
 * reader serves).
 */
export type Windows = 'both' | 'tumbling' | 'hopping';

/** The `windows:` and `sinks:` of such a job, writing rows and dead letters under `dir/out`. */
export function windowsAndSinks(dir: string, windows: Windows): string {
  return `windows:
  per_user:
    from: events
    window: ${windows === 'hopping' ? '{ type: hopping, size: 10s, slide: 4s, allowedLateness: 5s }' : '{ type: tumbling, size: 10s, allowedLateness: 5s }'}
    groupBy: [user_id]
    aggregate: { events: count(), amount: sum(amount), top: max(amount), page: last(page) }
    to: [out]
${
  windows === 'both'
    ? `  per_page:
    from: events
    window: { type: session, gap: 3s }
    groupBy: [page]
    aggregate: { events: count(), mean: avg(amount) }
    to: [out]
`
    : ''
}sinks:
  out: { type: file, path: ${join(dir, 'out', 'rows.jsonl')} }
  dlq: { type: file, path: ${join(dir, 'out', 'dead.jsonl')} }
deadLetter: dlq
`;
}

/**
 * Runs the job `topology(dir)` describes to its end in a fresh directory, after
 * `prepare(dir)`; returns its output files (under `dir/out`) and its metrics text.
 */
export async function runOnPath(
  native: boolean,
  topology: (dir: string) => string,
  prepare: (dir: string) => Promise<void> = async () => {},
): Promise<{ files: Map<string, string>; metrics: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-native-paths-'));
  try {
    await prepare(dir);
    const metrics = new Metrics();
    await runTopology(parseTopology(topology(dir), join(dir, 'job.yaml')), { native, metrics });
    const files = new Map<string, string>();
    for (const name of (await readdir(join(dir, 'out'))).sort()) {
      files.set(name, await readFile(join(dir, 'out', name), 'utf8'));
    }
    return { files, metrics: await metrics.text() };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A counter's value summed over its labels. */
export function counter(metrics: string, name: string): number {
  return metrics
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}
