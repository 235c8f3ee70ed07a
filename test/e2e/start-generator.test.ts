import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { adminPort, residentBytes, startSluice } from './sluice-process.ts';

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(100);
  }
}

async function eventsIn(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let total = 0;
  for (const match of text.matchAll(/^sluice_events_in_total\{[^}]*\} (\d+(?:\.\d+)?(?:e\+\d+)?)$/gm)) {
    total += Number(match[1]);
  }
  return total;
}

describe('sluice start with a generator source', () => {
  it('stops an unbounded job on SIGTERM: exit 0 and only whole lines in the sinks', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-gen-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(
      join(dir, 'live.yaml'),
      `name: live
workers: 2
admin: { port: 0 }
sources:
  clicks: { type: generator, keys: 1000, rate: 50000, partitions: 2, startTime: 0, time: { maxOutOfOrder: 1s } }
windows:
  per_user:
    from: clicks
    window: { type: tumbling, size: 1s }
    groupBy: [user_id]
    aggregate: { events: count(), amount: sum(amount) }
    to: [out]
sinks:
  out: { type: file, path: ./out/rows.jsonl }
`,
    );
    const running = startSluice(['start', 'live.yaml'], { cwd: dir, env: { SLUICE_LOG: 'info' } });
    const port = await until(() => adminPort(running.stderr), 20_000);
    // Both partitions have fired windows (their files exist) before the signal.
    await until(async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const fired = [...text.matchAll(/^sluice_windows_emitted_total\{[^}]*partition="(\d)"[^}]*\} [1-9]/gm)];
      return new Set(fired.map((match) => match[1])).size === 2 ? true : undefined;
    }, 30_000);
    running.child.kill('SIGTERM');
    const result = await running.finished;
    assert.equal(result.code, 0, result.stderr);
    const files = await readdir(join(dir, 'out'));
    assert.deepEqual(files.sort(), ['rows.p0.jsonl', 'rows.p1.jsonl']);
    for (const file of files) {
      const text = await readFile(join(dir, 'out', file), 'utf8');
      assert.ok(text.length > 0 && text.endsWith('\n'), `${file} holds whole lines`);
      for (const line of text.trimEnd().split('\n')) JSON.parse(line);
    }
  });

  it('slows the generator down to the pace of a sink nobody reads, with bounded memory', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-bp-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(
      join(dir, 'stuck.yaml'),
      `name: stuck
workers: 2
admin: { port: 0 }
mailbox: { capacity: 4 }
sources:
  clicks: { type: generator, keys: 100000, partitions: 1, startTime: 0, time: { maxOutOfOrder: 0s } }
streams:
  raw: { from: clicks, to: [stuck] }
sinks:
  stuck: { type: file, path: ./stuck.fifo }
`,
    );
    // A named pipe nobody reads: the file sink never gets past its first write.
    execFileSync('mkfifo', [join(dir, 'stuck.fifo')]);
    const running = startSluice(['start', 'stuck.yaml'], { cwd: dir, env: { SLUICE_LOG: 'info' } });
    t.after(() => running.child.kill('SIGKILL'));
    const port = await until(() => adminPort(running.stderr), 20_000);
    await sleep(2000);
    const first = await eventsIn(port);
    await sleep(2000);
    const second = await eventsIn(port);
    const rss = await residentBytes(running.child.pid!);
    // An unthrottled generator makes millions of events a second; stalled, it makes none.
    assert.ok(second - first < 50_000, `the generator kept going: ${first} → ${second}`);
    assert.ok(rss < 400 * 1024 * 1024, `resident memory ${Math.round(rss / 1048576)} MiB`);
    running.child.kill('SIGKILL');
    await running.finished;
  });
});
