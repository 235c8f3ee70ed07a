import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { adminPort, startSluice, until } from './sluice-process.ts';

/** Sum of every sample of `name` (for a histogram, pass `<name>_count`) whose labels match `labels`. */
function total(text: string, name: string, labels = ''): number {
  let sum = 0;
  for (const match of text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm'))) {
    if ((match[1] ?? '').includes(labels)) sum += Number(match[2]);
  }
  return sum;
}

const WANTED: Array<[name: string, labels: string]> = [
  ['sluice_state_rows_in_memory', 'window="per_user"'],
  ['sluice_state_rows_in_memory', 'window="visits"'],
  ['sluice_state_evicted_groups_total', 'window="per_user"'],
  ['sluice_state_evicted_groups_total', 'window="visits"'],
  ['sluice_state_readback_groups_total', 'window="per_user"'],
  ['sluice_state_readback_groups_total', 'window="visits"'],
  ['sluice_state_rows_in_memory', 'window="rekeyed"'],
  ['sluice_state_evicted_groups_total', 'window="rekeyed"'],
  ['sluice_state_readback_groups_total', 'window="rekeyed"'],
  ['sluice_state_readback_seconds_count', ''],
  ['sluice_checkpoint_bytes_written_total', 'source="clicks"'],
  ['sluice_checkpoint_duration_seconds_count', 'source="clicks"'],
];

describe('state metrics', () => {
  it('a job past a tiny state.memory budget exposes eviction, read-back and checkpoint metrics, a window behind a transform too', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-state-metrics-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    // A transform that moves every event to another key: its window is evicted and read back by that key.
    await writeFile(
      join(dir, 'rekey.mjs'),
      "export default (event) => ({ ...event, account: 'a' + (Number(event.user_id.slice(1)) % 9973) });\n",
    );
    await writeFile(
      join(dir, 'budget.yaml'),
      `name: budget
workers: 1
admin: { port: 0 }
state: { memory: 64KiB }
checkpoint: { interval: 200ms }
sources:
  clicks: { type: generator, keys: 20000, rate: 20000, partitions: 1, startTime: 0, time: { maxOutOfOrder: 1s } }
windows:
  per_user:
    from: clicks
    window: { type: tumbling, size: 5s }
    groupBy: [user_id]
    aggregate: { events: count() }
    to: [out]
  visits:
    from: clicks
    window: { type: session, gap: 2s }
    groupBy: [user_id]
    aggregate: { events: count() }
    to: [out]
  rekeyed:
    from: clicks
    window: { type: tumbling, size: 5s }
    groupBy: [account]
    aggregate: { events: count() }
    transform: ./rekey.mjs
    to: [out]
sinks:
  out: { type: file, path: ./out/rows.jsonl }
`,
    );
    const running = startSluice(['start', 'budget.yaml'], { cwd: dir, env: { SLUICE_LOG: 'info' } });
    t.after(() => running.child.kill('SIGKILL'));
    const port = await until(() => adminPort(running.stderr), 20_000);
    const text = await until(async () => {
      const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return WANTED.every(([name, labels]) => total(body, name, labels) > 0) ? body : undefined;
    }, 45_000).catch(async (error) => {
      const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const missing = WANTED.filter(([name, labels]) => !(total(body, name, labels) > 0));
      throw new Error(`${(error as Error).message}: still zero ${JSON.stringify(missing)}`);
    });
    for (const [name, labels] of WANTED) assert.ok(total(text, name, labels) > 0, `${name}{${labels}}`);
    running.child.kill('SIGTERM');
    const result = await running.finished;
    assert.equal(result.code, 0, result.stderr);
  });
});
