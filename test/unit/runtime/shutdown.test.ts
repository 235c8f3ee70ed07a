import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const child = fileURLToPath(new URL('./fixtures/shutdown-child.ts', import.meta.url));

async function startChild(gracefulMs: number): Promise<{ process: ChildProcess; output: () => string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', child], {
    env: { ...process.env, GRACEFUL_MS: String(gracefulMs), SLUICE_LOG: 'error' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const deadline = Date.now() + 10_000;
  while (!output.includes('ready')) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`child did not start: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { process: proc, output: () => output };
}

describe('onShutdownSignal', () => {
  it('runs the graceful step on SIGTERM and exits 0', async () => {
    const { process: proc, output } = await startChild(100);
    proc.kill('SIGTERM');
    const [code, signal] = await once(proc, 'exit');
    assert.equal(signal, null);
    assert.equal(code, 0);
    assert.match(output(), /graceful started SIGTERM\ngraceful done\n/);
  });

  it('runs the graceful step on SIGINT and exits 0', async () => {
    const { process: proc, output } = await startChild(10);
    proc.kill('SIGINT');
    const [code] = await once(proc, 'exit');
    assert.equal(code, 0);
    assert.match(output(), /graceful started SIGINT/);
  });

  it('exits at once with 143 when a second SIGTERM arrives during the graceful step', async () => {
    const { process: proc, output } = await startChild(30_000);
    const started = Date.now();
    proc.kill('SIGTERM');
    while (!output().includes('graceful started')) await new Promise((resolve) => setTimeout(resolve, 10));
    proc.kill('SIGTERM');
    const [code] = await once(proc, 'exit');
    assert.equal(code, 143);
    assert.ok(Date.now() - started < 10_000);
    assert.doesNotMatch(output(), /graceful done/);
  });

  it('exits at once with 130 when the second signal is SIGINT', async () => {
    const { process: proc, output } = await startChild(30_000);
    proc.kill('SIGTERM');
    while (!output().includes('graceful started')) await new Promise((resolve) => setTimeout(resolve, 10));
    proc.kill('SIGINT');
    const [code] = await once(proc, 'exit');
    assert.equal(code, 130);
  });
});
