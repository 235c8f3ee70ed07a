/**
 * The loader picks the addon or the TS twin: `SLUICE_NATIVE=0` forces the twin,
 * `SLUICE_NATIVE=1` refuses to start without the addon. Each case loads it in a fresh
 * process, since the choice is made once at import.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const loader = fileURLToPath(new URL('../../../native/index.ts', import.meta.url));
const built = existsSync(fileURLToPath(new URL('../../../native/sluice-native.node', import.meta.url)));

function load(env: Record<string, string>) {
  const script = `const m = await import(${JSON.stringify(loader)}); console.log(m.nativePath); console.error(m.describeNativePath());`;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return { status: result.status, path: result.stdout.trim(), stderr: result.stderr };
}

describe('native loader', () => {
  it('serves the TS twin when SLUICE_NATIVE=0', () => {
    const loaded = load({ SLUICE_NATIVE: '0' });
    assert.equal(loaded.status, 0, loaded.stderr);
    assert.equal(loaded.path, 'ts');
    assert.match(loaded.stderr, /native hot path: ts twin \(SLUICE_NATIVE=0\)/);
  });

  it('serves the addon when it is built and SLUICE_NATIVE=1', (t) => {
    if (!built) return t.skip('native addon not built');
    const loaded = load({ SLUICE_NATIVE: '1' });
    assert.equal(loaded.status, 0, loaded.stderr);
    assert.equal(loaded.path, 'native');
  });

  it('falls back to the twin when the addon is missing and SLUICE_NATIVE is unset', () => {
    const loaded = load({ SLUICE_NATIVE: '', SLUICE_NATIVE_ADDON: '/nonexistent/sluice-native.node' });
    assert.equal(loaded.status, 0, loaded.stderr);
    assert.equal(loaded.path, 'ts');
  });

  it('fails loudly when SLUICE_NATIVE=1 and the addon is missing', () => {
    const loaded = load({ SLUICE_NATIVE: '1', SLUICE_NATIVE_ADDON: '/nonexistent/sluice-native.node' });
    assert.notEqual(loaded.status, 0);
    assert.match(loaded.stderr, /SLUICE_NATIVE=1 but the native addon is missing/);
  });
});
