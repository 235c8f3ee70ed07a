import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const child = fileURLToPath(new URL('./fixtures/shutdown-timeout-child.ts', import.meta.url));

async function startChild(timeoutMs: number) {
  const proc = spawn(process.execPath, ['--import', 'tsx', child], {
    env: { ...process.env, TIMEOUT_MS: String(timeoutMs), SLUICE_LOG: 'error' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let errors = '';
  proc.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  proc.stderr.on('data', (chunk: Buffer) => {
    errors += chunk.toString();
  });
  const deadline = Date.now() + 10_000;
  while (!output.includes('ready')) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`child did not start: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { proc, output: () => output, errors: () => errors };
}

describe('onShutdownSignal with a graceful step that never finishes', () => {
  it('exits 1 once timeoutMs passed, with one line naming what did not finish', async () => {
    const { proc, errors } = await startChild(800);
    const signalled = Date.now();
    proc.kill('SIGTERM');
    const [code] = await once(proc, 'exit');
    const took = Date.now() - signalled;
    assert.equal(code, 1);
    assert.ok(took >= 800 && took < 5000, `exited after ${took} ms`);
    assert.equal(
      errors(),
      'sluice: shutdown did not finish within 800 ms; still busy: sink warehouse (flush)\n',
    );
  });

  it('a second signal still exits at once, before the time-out', async () => {
    const { proc, output } = await startChild(30_000);
    const signalled = Date.now();
    proc.kill('SIGINT');
    while (!output().includes('graceful started')) await new Promise((resolve) => setTimeout(resolve, 10));
    proc.kill('SIGTERM');
    const [code] = await once(proc, 'exit');
    assert.equal(code, 143);
    assert.ok(Date.now() - signalled < 10_000);
  });
});
