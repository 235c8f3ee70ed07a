import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCoreScenario } from '../../../bench/core/core.ts';
import { runKafkaJson } from '../../../bench/kafka-json/kafka-json.ts';
import { saveResult } from '../../../bench/lib/report.ts';
import { kafkaBrokers } from '../helpers/services.ts';

// The bench suite's smoke run: tiny sizes, sluice and naive-node only. It asserts the
// result-equality check the suite runs before timing, never a speed.

let outDir: string;
before(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'sluice-bench-test-'));
});
after(() => rm(outDir, { recursive: true, force: true }));

test('the quick core scenario gives the same rows with 1 and 2 workers and times both', {
  timeout: 40_000,
}, async () => {
  const result = await runCoreScenario({ quick: true, command: 'test' });
  assert.equal(result.check.agree, true, result.check.lines.join('\n'));
  assert.deepEqual(
    result.systems.map((system) => system.system),
    ['sluice, 2 workers', 'sluice, 1 worker'],
  );
  await saveResult(outDir, result);
});

test('the quick kafka-json scenario finds sluice and naive-node agree on every window count, and writes the report', {
  timeout: 50_000,
}, async () => {
  const result = await runKafkaJson({
    quick: true,
    command: 'test',
    brokers: kafkaBrokers,
    spark: false,
    events: 5000,
  });
  assert.equal(result.check.agree, true, result.check.lines.join('\n'));
  assert.match(
    result.check.lines[0],
    /^naive-node: same [\d,]+ \(window, user\) counts over 5,000 events as sluice$/,
  );
  assert.deepEqual(
    result.systems.map((system) => [system.system, system.events]),
    [
      ['sluice', 5000],
      ['naive-node', 5000],
    ],
  );
  assert.ok(
    result.skipped.some((line) => line.startsWith('spark: not run')),
    'the Spark skip is said, not silent',
  );
  await saveResult(outDir, result);
  const markdown = await readFile(join(outDir, 'RESULTS.md'), 'utf8');
  assert.match(markdown, /## kafka-json \(--quick\)[\s\S]*all systems agree/);
  assert.match(markdown, /## core \(--quick\)/);
  const charts = (await readdir(join(outDir, 'charts'))).sort();
  assert.deepEqual(charts, [
    'core-latency.svg',
    'core-throughput.svg',
    'kafka-json-latency.svg',
    'kafka-json-throughput.svg',
  ]);
});
