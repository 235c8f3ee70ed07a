import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createGenerator } from '../../actors/generator/index.ts';
import { runSluice } from './sluice-process.ts';

const identity = 'export default (event) => event;\n';

/** A transform with a bug: once, for one event, it hands on an object that throws when read. */
const crashOnce = `let calls = 0;
export default (event) => {
  calls++;
  if (calls !== 30000) return event;
  return new Proxy(event, {
    get(target, key) {
      if (key === 'amount') throw new Error('transform bug: amount is not readable');
      return target[key];
    },
  });
};
`;

/** Always broken from the 1,000th event on: a crash loop the supervisor must stop. */
const crashAlways = `let calls = 0;
export default (event) => {
  calls++;
  if (calls < 1000) return event;
  return new Proxy(event, { get() { throw new Error('transform bug: nothing is readable'); } });
};
`;

function topology(transform: string): string {
  return `name: supervised
workers: 1
batch: { size: 500 }
checkpoint: { interval: 100ms }
supervision: { maxRestarts: 3, within: 1m }
sources:
  events:
    type: file
    path: ../events.jsonl
    key: user_id
    time: { field: ts, maxOutOfOrder: 2s }
windows:
  per_user:
    from: events
    transform: ./${transform}
    window: { type: tumbling, size: 10s }
    groupBy: [user_id]
    aggregate: { events: count(), amount: sum(amount) }
    to: [out]
sinks:
  out: { type: file, path: ./out/rows.jsonl }
`;
}

async function jobIn(dir: string, name: string, transform: string): Promise<string> {
  const jobDir = join(dir, name);
  await mkdir(jobDir, { recursive: true });
  await writeFile(join(jobDir, 'transform.mjs'), transform);
  await writeFile(join(jobDir, 'job.yaml'), topology('transform.mjs'));
  return jobDir;
}

describe('supervision of partition actors', () => {
  it('restarts a failed partition from its last checkpoint and replays, so output equals a clean run', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-supervise-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const generator = createGenerator({
      keys: 500,
      seed: 3,
      startTime: 0,
      eventsPerSecond: 1000,
      outOfOrder: 0.1,
      maxOutOfOrderMs: 2000,
    });
    const events = generator.nextBatch(60_000).events.map((event) => JSON.stringify(event));
    await writeFile(join(dir, 'events.jsonl'), `${events.join('\n')}\n`);

    const clean = await jobIn(dir, 'clean', identity);
    const cleanRun = await runSluice(['start', 'job.yaml'], { cwd: clean });
    assert.equal(cleanRun.code, 0, cleanRun.stderr);

    const faulty = await jobIn(dir, 'faulty', crashOnce);
    const faultyRun = await runSluice(['start', 'job.yaml'], { cwd: faulty, env: { SLUICE_LOG: 'warn' } });
    assert.equal(faultyRun.code, 0, faultyRun.stderr);
    assert.match(faultyRun.stderr, /transform bug: amount is not readable/);
    assert.match(faultyRun.stderr, /replaying input since its last checkpoint/);

    const expected = await readFile(join(clean, 'out', 'rows.jsonl'), 'utf8');
    assert.ok(expected.length > 0);
    assert.equal(await readFile(join(faulty, 'out', 'rows.jsonl'), 'utf8'), expected);
  });

  it('stops the process with a clear error when a partition keeps failing', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-crashloop-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const generator = createGenerator({ keys: 50, seed: 3, startTime: 0, eventsPerSecond: 1000 });
    const events = generator.nextBatch(5000).events.map((event) => JSON.stringify(event));
    await writeFile(join(dir, 'events.jsonl'), `${events.join('\n')}\n`);
    const jobDir = await jobIn(dir, 'loop', crashAlways);
    const result = await runSluice(['start', 'job.yaml'], { cwd: jobDir, timeoutMs: 60_000 });
    assert.equal(result.code, 1, result.stderr);
    const lastLine = result.stderr.trim().split('\n').at(-1) ?? '';
    assert.match(lastLine, /events\/0/);
    assert.match(lastLine, /failed 4 times within 60000 ms, more than its supervision allows/);
    assert.match(lastLine, /transform bug: nothing is readable/);
  });
});
