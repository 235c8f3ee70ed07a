import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createGenerator } from '../../actors/generator/index.ts';
import { JOB_STARTED, outputFiles, runMeasured, runSluice, runWithKills } from './sluice-process.ts';

/** A deterministic input: 1 in 500 lines is broken, 2% of events are late. */
async function writeEvents(file: string, count: number): Promise<void> {
  const generator = createGenerator({
    keys: 2000,
    seed: 7,
    startTime: Date.UTC(2026, 0, 1),
    eventsPerSecond: 2000,
    outOfOrder: 0.1,
    maxOutOfOrderMs: 2000,
    late: 0.02,
    lateByMs: 20_000,
  });
  const lines: string[] = [];
  for (let index = 0; index < count; index += 1000) {
    for (const event of generator.nextBatch(Math.min(1000, count - index)).events) {
      lines.push(lines.length % 500 === 499 ? '{"broken": ' : JSON.stringify(event));
    }
  }
  await writeFile(file, `${lines.join('\n')}\n`);
}

const PLAIN_WINDOWS = `  per_user:
    from: events
    window: { type: tumbling, size: 10s, allowedLateness: 5s }
    groupBy: [user_id]
    aggregate: { events: count(), amount: sum(amount), pages: count_distinct(page) }
    to: [out]
    late: late
  sessions:
    from: events
    window: { type: session, gap: 3s }
    groupBy: [page]
    aggregate: { events: count(), users: count_distinct(user_id), last: last(user_id) }
    to: [out]
`;

/** A transform that moves each event to another key (`account`), drops some events and throws on others. */
const REKEY = `export default (event) => {
  if (event.page === '/p/13' && event.amount > 400) throw new Error('unlucky page');
  if (event.amount < 5) return null;
  const n = Number(event.user_id.slice(1));
  return { ...event, account: \`a\${(n * 7919) % 1500}\`, cents: Math.round(event.amount * 100) };
};
`;

/** Windows behind the transform in rekey.mjs beside the topology. */
const REKEYED_WINDOWS = `  per_account:
    from: events
    window: { type: tumbling, size: 10s, allowedLateness: 5s }
    groupBy: [account]
    aggregate: { events: count(), cents: sum(cents), pages: count_distinct(page) }
    transform: ./rekey.mjs
    to: [out]
    late: late
  account_sessions:
    from: events
    window: { type: session, gap: 3s }
    groupBy: [account]
    aggregate: { events: count(), last: last(page) }
    transform: ./rekey.mjs
    to: [out]
`;

function topology(name: string, interval: string, memory?: string, windows = PLAIN_WINDOWS): string {
  return `name: ${name}
workers: 2
batch: { size: 500 }
${memory === undefined ? '' : `state: { memory: ${memory} }\n`}checkpoint: { interval: ${interval}, keep: 2, snapshotEvery: 2 }
sources:
  events:
    type: file
    path: ./events.jsonl
    key: user_id
    partitions: 4
    time: { field: ts, maxOutOfOrder: 2s }
windows:
${windows}sinks:
  out: { type: file, path: ./out/rows.jsonl }
  late: { type: file, path: ./out/late.jsonl }
  dlq: { type: file, path: ./out/dlq.jsonl }
deadLetter: dlq
`;
}

/**
 * One job over the same 100K events twice, in `dir`/unbounded without a memory budget and
 * in `dir`/bounded under 64KiB, killed and restarted there; `files` are written beside
 * each topology. Returns the output files of both.
 */
async function budgetRuns(
  dir: string,
  windows: string,
  files: Record<string, string> = {},
): Promise<Record<'unbounded' | 'bounded', Array<[file: string, text: string]>>> {
  await writeEvents(join(dir, 'events.jsonl'), 100_000);
  const runs = { unbounded: undefined, bounded: '64KiB' };
  for (const [name, memory] of Object.entries(runs)) {
    await mkdir(join(dir, name), { recursive: true });
    await copyFile(join(dir, 'events.jsonl'), join(dir, name, 'events.jsonl'));
    for (const [file, text] of Object.entries(files)) await writeFile(join(dir, name, file), text);
    await writeFile(join(dir, name, 'job.yaml'), topology('budget', '150ms', memory, windows));
  }
  const clean = await runMeasured(['start', 'job.yaml'], {
    cwd: join(dir, 'unbounded'),
    marker: JOB_STARTED,
    timeoutMs: 120_000,
  });
  assert.equal(clean.code, 0, clean.stderr);
  const { kills } = await runWithKills(['start', 'job.yaml'], {
    cwd: join(dir, 'bounded'),
    kills: 3,
    marker: JOB_STARTED,
    minDelayMs: clean.activeMs * 0.05,
    maxDelayMs: clean.activeMs * 0.4,
  });
  assert.ok(kills >= 2, `the process was killed ${kills} times`);
  return {
    unbounded: await outputFiles(join(dir, 'unbounded')),
    bounded: await outputFiles(join(dir, 'bounded')),
  };
}

describe('exactly-once restore after kill -9', () => {
  it('gives byte-identical output to a clean run however often the process is killed', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-crash-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeEvents(join(dir, 'events.jsonl'), 150_000);

    const cleanDir = join(dir, 'clean');
    const crashDir = join(dir, 'crash');
    for (const target of [cleanDir, crashDir]) {
      await mkdir(target, { recursive: true });
      await copyFile(join(dir, 'events.jsonl'), join(target, 'events.jsonl'));
      await writeFile(join(target, 'job.yaml'), topology('crash', '150ms'));
    }

    const clean = await runMeasured(['start', 'job.yaml'], {
      cwd: cleanDir,
      marker: JOB_STARTED,
      timeoutMs: 120_000,
    });
    assert.equal(clean.code, 0, clean.stderr);

    // Kills land 5–30 % of a clean run's work after each start: three always fall mid-stream.
    const { kills } = await runWithKills(['start', 'job.yaml'], {
      cwd: crashDir,
      kills: 5,
      marker: JOB_STARTED,
      minDelayMs: clean.activeMs * 0.05,
      maxDelayMs: clean.activeMs * 0.3,
    });
    assert.ok(kills >= 3, `the process was killed ${kills} times`);
    const expected = await outputFiles(cleanDir);
    assert.deepEqual(
      expected.map(([file]) => file),
      // Undecodable lines cannot be routed by key: partition 0 writes their dead letters.
      [
        'dlq.p0.jsonl',
        'late.p0.jsonl',
        'late.p1.jsonl',
        'late.p2.jsonl',
        'late.p3.jsonl',
        'rows.p0.jsonl',
        'rows.p1.jsonl',
        'rows.p2.jsonl',
        'rows.p3.jsonl',
      ],
    );
    assert.deepEqual(await outputFiles(crashDir), expected);
  });

  it('with a memory budget far below its window state, killed and restarted, writes the bytes of an unbounded run', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-budget-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const { unbounded, bounded } = await budgetRuns(dir, PLAIN_WINDOWS);
    assert.deepEqual(bounded, unbounded);
  });

  it('windows behind a transform, with a memory budget far below their state, killed and restarted, write the bytes of an unbounded run', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-budget-transform-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const { unbounded, bounded } = await budgetRuns(dir, REKEYED_WINDOWS, { 'rekey.mjs': REKEY });
    const deadLetters = unbounded.find(([file]) => file.startsWith('dlq.'))?.[1] ?? '';
    assert.match(deadLetters, /TRANSFORM_FAILED/, 'the transform throws on some events');
    assert.deepEqual(bounded, unbounded);
  });

  it('restores from an older snapshot when the database and the newest snapshot are damaged', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-snap-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeEvents(join(dir, 'events.jsonl'), 60_000);
    await writeFile(join(dir, 'job.yaml'), topology('snap', '100ms'));
    const reference = await runSluice(['start', 'job.yaml'], { cwd: dir, timeoutMs: 120_000 });
    assert.equal(reference.code, 0, reference.stderr);
    const expected = await outputFiles(dir);

    // Lose partition 0's database and corrupt its newest snapshot: it must fall back to
    // the older snapshot, replay from there, and still write exactly the same output.
    const partitionDir = join(dir, '.sluice', 'snap', 'events', '0');
    const snapshots = (await readdir(join(partitionDir, 'snapshots')))
      .filter((file) => file.endsWith('.snap'))
      .sort();
    assert.ok(snapshots.length >= 2, `snapshots kept: ${snapshots.join(', ')}`);
    const newest = join(partitionDir, 'snapshots', snapshots[snapshots.length - 1]);
    const bytes = await readFile(newest);
    bytes[bytes.length - 10] ^= 0xff;
    await writeFile(newest, bytes);
    await rm(join(partitionDir, 'db'), { recursive: true, force: true });

    const rerun = await runSluice(['start', 'job.yaml'], {
      cwd: dir,
      timeoutMs: 120_000,
      env: { SLUICE_LOG: 'warn' },
    });
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.match(rerun.stderr, /snapshot unusable/);
    assert.deepEqual(await outputFiles(dir), expected);
  });
});
