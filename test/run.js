#!/usr/bin/env node
// Runs the test suites with Node's own test runner, TypeScript loaded through tsx.
// Usage: node test/run.js [unit|unit-ts|integration|e2e|all]
// `all` runs unit (with golden) → unit-ts → integration → e2e. unit-ts is the unit and
// golden suite again on the TS twin (SLUICE_NATIVE=0): with the addon built, the first
// run takes the native path wherever it serves, so both paths run every unit test; the
// Kafka tests compare the two paths within one run. Files inside a suite run with
// limited concurrency because the machine has two cores and shared services.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const suites = {
  unit: { dirs: ['test/unit', 'test/golden'], concurrency: 2, env: {} },
  'unit-ts': { dirs: ['test/unit', 'test/golden'], concurrency: 2, env: { SLUICE_NATIVE: '0' } },
  integration: { dirs: ['test/integration'], concurrency: 1, env: {} },
  e2e: { dirs: ['test/e2e'], concurrency: 1, env: {} },
};

function findTests(dir) {
  const abs = join(root, dir);
  let entries;
  try {
    entries = readdirSync(abs);
  } catch {
    return [];
  }
  const found = [];
  for (const name of entries.sort()) {
    const path = join(abs, name);
    if (statSync(path).isDirectory()) found.push(...findTests(join(dir, name)));
    else if (name.endsWith('.test.ts')) found.push(relative(root, path));
  }
  return found;
}

const args = process.argv.slice(2);
const which = args[0] ?? 'unit';
const chosen = which === 'all' ? ['unit', 'unit-ts', 'integration', 'e2e'] : [which];
let failed = false;
for (const name of chosen) {
  const suite = suites[name];
  if (!suite) {
    console.error(`unknown suite ${name}; expected unit, unit-ts, integration, e2e or all`);
    process.exit(2);
  }
  const files = suite.dirs.flatMap(findTests);
  if (files.length === 0) continue;
  console.log(`\n=== ${name}: ${files.length} files ===`);
  const result = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      `--test-concurrency=${suite.concurrency}`,
      '--test-reporter=spec',
      ...files,
    ],
    { cwd: root, stdio: 'inherit', env: { ...process.env, ...suite.env, SLUICE_TEST_SUITE: name } },
  );
  if (result.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
