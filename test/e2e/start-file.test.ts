import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseEventTime } from '../../actors/codecs/event-time.ts';
import { partitionPlans } from '../../actors/job/partition-plans.ts';
import { eventMisfit, type SluiceEvent } from '../../actors/windows/index.ts';
import { loadTopology } from '../../runtime/topology/load-topology.ts';
import { ReferenceModel } from '../unit/windows/reference-model.ts';
import { repoRoot, runSluice } from './sluice-process.ts';

async function exampleCopy(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-e2e-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await cp(join(repoRoot, 'examples/clicks-file.yaml'), join(dir, 'clicks-file.yaml'));
  await cp(join(repoRoot, 'examples/data'), join(dir, 'data'), { recursive: true });
  return dir;
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}

describe('sluice start with a file source', () => {
  it('runs the clicks example as written and writes exactly the rows of the reference model', async (t) => {
    const dir = await exampleCopy(t);
    const result = await runSluice(['start', 'clicks-file.yaml'], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);

    const topology = await loadTopology(join(dir, 'clicks-file.yaml'));
    const [plan] = partitionPlans(topology);
    const config = plan.windows[0].operator;
    const model = new ReferenceModel(config);
    let maxTime = Number.NEGATIVE_INFINITY;
    for (const line of lines(await readFile(join(dir, 'data/events.jsonl'), 'utf8'))) {
      let event: SluiceEvent;
      try {
        event = JSON.parse(line);
      } catch {
        continue;
      }
      if (typeof event !== 'object' || event === null || Array.isArray(event)) continue;
      const time = parseEventTime(event.ts);
      if (time === undefined) continue;
      maxTime = Math.max(maxTime, time);
      if (eventMisfit(config, event) === null) model.process(event, time);
      else model.advance(maxTime - config.maxOutOfOrderMs);
    }
    model.advance(Number.POSITIVE_INFINITY);
    const expectedRows = model.output
      .filter((entry) => entry.startsWith('row '))
      .map((entry) => entry.slice(4));
    const expectedLate = model.output.filter((entry) => entry.startsWith('late ')).length;

    const rows = lines(await readFile(join(dir, 'out/per_user.jsonl'), 'utf8'));
    assert.deepEqual(rows, expectedRows);
    assert.ok(
      rows.some((row) => row.includes('"version":2')),
      'late events within lateness re-fire windows',
    );
    assert.equal(lines(await readFile(join(dir, 'out/late.jsonl'), 'utf8')).length, expectedLate);
    assert.ok(expectedLate > 0);
  });

  it('sends undecodable lines to the dead-letter sink with reason, source, position and raw text', async (t) => {
    const dir = await exampleCopy(t);
    const result = await runSluice(['start', 'clicks-file.yaml'], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    const dead = lines(await readFile(join(dir, 'out/dlq.jsonl'), 'utf8')).map((line) => JSON.parse(line));
    assert.deepEqual(
      dead.map((record) => [record.code, record.position]),
      [
        ['JSON_INVALID', 101],
        ['TIME_INVALID', 901],
        ['SCHEMA_MISFIT', 1701],
        ['JSON_NOT_OBJECT', 2501],
      ],
    );
    for (const record of dead) {
      assert.equal(record.source, 'events');
      assert.equal(typeof record.reason, 'string');
      assert.equal(typeof record.raw, 'string');
    }
    assert.equal(dead[0].raw, '{"user_id":"u3","ts":');
  });

  it('gives byte-identical per-partition output whatever the worker count and batch size', async (t) => {
    const dir = await exampleCopy(t);
    const variant = async (name: string, workers: number, batch: number) => {
      const yaml = `name: ${name}
workers: ${workers}
batch: { size: ${batch} }
mailbox: { capacity: 2 }
sources:
  events:
    type: file
    path: ./data/events.jsonl
    key: user_id
    partitions: 4
    time: { field: ts, maxOutOfOrder: 5s }
windows:
  sessions:
    from: events
    window: { type: session, gap: 20s, allowedLateness: 10s }
    groupBy: [user_id]
    aggregate: { events: count(), first_page: first(page), last_page: last(page), avg: avg(amount) }
    to: [out]
    late: out
  hopping:
    from: events
    window: { type: hopping, size: 1m, slide: 20s }
    groupBy: [page]
    aggregate: { events: count(), users: count_distinct(user_id), low: min(amount) }
    to: [out]
sinks:
  out: { type: file, path: ./${name}/rows.jsonl }
`;
      await writeFile(join(dir, `${name}.yaml`), yaml);
      const result = await runSluice(['start', `${name}.yaml`], { cwd: dir });
      assert.equal(result.code, 0, result.stderr);
      const files = (await readdir(join(dir, name))).sort();
      return Promise.all(files.map(async (file) => [file, await readFile(join(dir, name, file), 'utf8')]));
    };
    const one = await variant('one', 1, 7);
    const two = await variant('two', 2, 1000);
    assert.deepEqual(
      one.map(([file]) => file),
      ['rows.p0.jsonl', 'rows.p1.jsonl', 'rows.p2.jsonl', 'rows.p3.jsonl'],
    );
    assert.deepEqual(two, one);
    assert.ok(one.every(([, text]) => text.length > 0));
  });

  it('refuses a missing topology file with a one-line reason and a non-zero exit', async () => {
    const result = await runSluice(['start', '/nonexistent/topology.yaml']);
    assert.notEqual(result.code, 0);
    assert.equal(lines(result.stderr).length, 1, result.stderr);
  });
});
