/**
 * Builds the native addon from source with cargo (run by `npm ci` through the `prepare`
 * script). It never fails the install: without cargo, or on a compile error, it says so
 * in one line (plus the compiler output) and exits 0 — the TS twin then serves.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const crate = dirname(fileURLToPath(import.meta.url));
const target = join(crate, 'sluice-native.node');

if (process.env.SLUICE_NATIVE === '0') {
  console.log('sluice-native: SLUICE_NATIVE=0, build skipped (the TS twin serves)');
  process.exit(0);
}
const probe = spawnSync('cargo', ['--version'], { encoding: 'utf8' });
if (probe.error || probe.status !== 0) {
  console.log('sluice-native: cargo not found, build skipped (the TS twin serves)');
  process.exit(0);
}
const build = spawnSync('cargo', ['build', '--release', '--quiet'], { cwd: crate, encoding: 'utf8' });
if (build.status !== 0) {
  console.log(`sluice-native: compile failed, build skipped (the TS twin serves)\n${build.stderr ?? ''}`);
  process.exit(0);
}
const names = { linux: 'libsluice_native.so', darwin: 'libsluice_native.dylib', win32: 'sluice_native.dll' };
const built = join(crate, 'target', 'release', names[process.platform] ?? names.linux);
if (!existsSync(built)) {
  console.log(`sluice-native: ${built} missing after the build (the TS twin serves)`);
  process.exit(0);
}
copyFileSync(built, target);
console.log(`sluice-native: built ${target}`);
