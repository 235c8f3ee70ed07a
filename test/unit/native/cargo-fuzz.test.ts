/**
 * The native readers under libFuzzer for a bounded time (`native/fuzz/run.sh`: the targets
 * built as cargo-fuzz builds them, with AddressSanitizer): frames (checks, LZ4, msgpack,
 * pre-aggregation, the field reader) and single messages (the JSON and msgpack field
 * readers, Kafka record batches). A crash, an out-of-bounds read or a failed assertion in
 * a target fails the test, with the input kept under native/fuzz/artifacts/. Needs the
 * nightly toolchain (for the sanitizer); without it the test says so and skips, as it does
 * in the suite's TS-path run (SLUICE_NATIVE=0), where the crate is no different.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../../native/fuzz/run.sh', import.meta.url));
const SECONDS = 20;

const nightly = spawnSync('cargo', ['+nightly', '--version'], { encoding: 'utf8' });
const missing =
  process.env.SLUICE_NATIVE === '0'
    ? 'SLUICE_NATIVE=0: the TS-path run of the suite; the native run fuzzes the crate'
    : nightly.status === 0
      ? false
      : 'no nightly Rust toolchain (cargo +nightly), which the sanitizer needs';

function fuzz(target: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, target, String(SECONDS)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('native readers under libFuzzer', { skip: missing, concurrency: 1 }, () => {
  for (const target of ['message_fields', 'frame_aggregate']) {
    it(`${target}: ${SECONDS} s of fuzzing find no crash`, { timeout: 600_000 }, async () => {
      const { code, output } = await fuzz(target);
      const runs = /Done (\d+) runs/.exec(output);
      assert.equal(code, 0, output.slice(-4000));
      assert.ok(runs !== null && Number(runs[1]) > 10_000, `libFuzzer ran: ${output.slice(-2000)}`);
    });
  }
});
