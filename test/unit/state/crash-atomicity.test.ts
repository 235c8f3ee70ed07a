import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openWithRecovery, type PartitionStore } from '../../../state/index.ts';
import { withTempDir } from './fixtures/temp-dir.ts';

const child = fileURLToPath(new URL('./fixtures/commit-loop.ts', import.meta.url));

/** Runs the commit loop, kills it with SIGKILL after `afterMs` of committing; returns the last acknowledged id. */
function runAndKill(dir: string, afterMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const process_ = spawn(process.execPath, ['--import', 'tsx', child, dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let acknowledged = 0;
    let timer: NodeJS.Timeout | undefined;
    let output = '';
    let errors = '';
    process_.stdout.setEncoding('utf8').on('data', (text: string) => {
      output += text;
      const lines = output.split('\n');
      output = lines.pop() ?? '';
      for (const line of lines) acknowledged = Math.max(acknowledged, Number(line.split(' ')[1]));
      timer ??= setTimeout(() => process_.kill('SIGKILL'), afterMs);
    });
    process_.stderr.setEncoding('utf8').on('data', (text: string) => {
      errors += text;
    });
    process_.on('exit', (_code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve(acknowledged);
      else reject(new Error(`commit loop exited on its own: ${errors}`));
    });
  });
}

async function entries(store: PartitionStore, namespace: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for await (const [key, value] of store.entries(namespace)) found.set(key.toString(), value.toString());
  return found;
}

describe('commit atomicity under kill -9', () => {
  it('always reopens with the checkpoint record and the entries of the same commit, and loses no acknowledged commit', async () => {
    await withTempDir(async (dir) => {
      let lastRound = 0;
      for (let attempt = 0; attempt < 6; attempt += 1) {
        const acknowledged = await runAndKill(dir, 20 + Math.floor(Math.random() * 300));
        const { store } = await openWithRecovery({ dir });
        try {
          const checkpoint = store.checkpoint;
          assert.ok(checkpoint !== null);
          assert.ok(
            checkpoint.id >= acknowledged,
            `checkpoint ${checkpoint.id} lost acknowledged ${acknowledged}`,
          );
          assert.ok(checkpoint.id > lastRound - 1);
          const round = (checkpoint.meta as { round: number }).round;
          assert.equal(checkpoint.id, round);
          assert.deepEqual(checkpoint.sourcePosition, { offset: String(round) });
          const a = await entries(store, 'a');
          assert.equal(a.size, 199, 'all of a but the key deleted in the same commit');
          assert.equal(a.has(`k${round % 200}`), false);
          assert.ok([...a.values()].every((value) => value === String(round)));
          const b = await entries(store, 'b');
          assert.equal(b.size, (round % 50) + 1);
          assert.ok([...b.values()].every((value) => value === String(round)));
          for (const snapshot of await store.listSnapshots()) assert.ok(snapshot.valid, snapshot.reason);
          lastRound = round;
        } finally {
          await store.close();
        }
      }
      assert.ok(lastRound > 6, 'the loop made progress between kills');
    });
  });
});
