/**
 * Scenario `checkpoint`: runs bench/state/checkpoint.ts (checkpoint commit, restore,
 * snapshot write/read and rebuild against state size) in its own process, so its memory
 * does not mix with the other scenarios', and turns its report into a table. That bench
 * verifies every key and value it restores (CRC) before printing a figure.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { measureProcess } from '../lib/figures.ts';
import { runContext } from '../lib/machine.ts';
import { watchProcessTree } from '../lib/process-tree.ts';
import type { ScenarioResult } from '../lib/scenario-result.ts';

const script = fileURLToPath(new URL('../state/checkpoint.ts', import.meta.url));

/** Columns read from each size's block of the checkpoint bench output. */
const MEASURES: Array<[string, RegExp]> = [
  ['commit ms', /commit \(one atomic batch, fsync\)\s+(\d+) ms/],
  ['reopen ms', /reopen \(load checkpoint\)\s+(\d+) ms/],
  ['restore ms', /restore \(entries\(\) over all\)\s+(\d+) ms/],
  ['snapshot write ms', /snapshot write \([^)]*\)\s+(\d+) ms/],
  ['snapshot read ms', /snapshot read \+ verify\s+(\d+) ms/],
  ['rebuild ms', /database rebuilt from snapshot\s+(\d+) ms/],
  ['get() p99', /get\(\) read-back.* p99 (\d+ µs)/],
];

/** Parses the checkpoint bench's stdout into one row per state size. */
export function parseCheckpointOutput(output: string): string[][] {
  const blocks = output
    .split(/\n(?=[\d,]+ entries )/)
    .filter((block) => /^[\d,]+ entries /.test(block.trim()));
  return blocks.map((block) => {
    const size = block.trim().split(' ')[0];
    return [size, ...MEASURES.map(([, pattern]) => pattern.exec(block)?.[1] ?? '?')];
  });
}

export async function runCheckpoint(options: { quick: boolean; command: string }): Promise<ScenarioResult> {
  const context = runContext(options.command);
  const sizes = options.quick ? [20_000] : [100_000, 1_000_000, 5_000_000];
  const measure = measureProcess();
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...sizes.map(String)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const tree = watchProcessTree(child.pid ?? -1);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const usage = tree.stop();
  const wall = measure.stop();
  if (code !== 0) throw new Error(`bench/state/checkpoint.ts exited with ${code}`);
  const rows = parseCheckpointOutput(output);
  return {
    scenario: 'checkpoint',
    context,
    quick: options.quick,
    input: `${sizes.map((size) => size.toLocaleString('en-US')).join(', ')} keys (16 B keys, 24 B values) in one LevelDB namespace; whole run ${(wall.wallMs / 1000).toFixed(1)} s, CPU ${(usage.cpuMs / 1000).toFixed(1)} s, peak RSS ${Math.round(usage.peakRssMiB)} MiB`,
    check: {
      agree: rows.length === sizes.length,
      lines: ['every restored key and value checked against what was written (CRC) before timing'],
    },
    systems: [],
    skipped: ['no baseline: Spark keeps state in its own HDFS-backed store, not comparable key for key'],
    table: { header: ['keys', ...MEASURES.map(([name]) => name)], rows },
  };
}
