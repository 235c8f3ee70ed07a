import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCoreScenario } from '../../../bench/core/core.ts';
import { runFileJson } from '../../../bench/file-json/file-json.ts';
import { runGatewayScenario } from '../../../bench/gateway/gateway.ts';
import { runKafkaJson } from '../../../bench/kafka-json/kafka-json.ts';
import { saveResult } from '../../../bench/lib/report.ts';
import { runNativeScenario } from '../../../bench/native/decode-aggregate.ts';
import { nativeAddon } from '../../../native/index.ts';
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

test('the quick file-json scenario finds sluice on both paths and naive-node agree on every window count', {
  timeout: 60_000,
}, async () => {
  const result = await runFileJson({ quick: true, command: 'test' });
  assert.equal(result.check.agree, true, result.check.lines.join('\n'));
  assert.deepEqual(
    result.systems.map((system) => system.system),
    [...(nativeAddon === null ? [] : ['sluice, native']), 'sluice, TS path', 'naive-node'],
  );
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
  const native = nativeAddon !== null;
  assert.ok(
    result.check.lines.some((line) =>
      /^naive-node: same [\d,]+ \(window, user\) counts over 5,000 events as sluice$/.test(line),
    ),
    result.check.lines.join('\n'),
  );
  if (native) {
    assert.ok(
      result.check.lines.some((line) =>
        /^sluice on the TS path \(SLUICE_NATIVE=0\): same [\d,]+ \(window, user\) counts/.test(line),
      ),
      result.check.lines.join('\n'),
    );
  }
  assert.deepEqual(
    result.systems.map((system) => [system.system, system.events]),
    [['sluice', 5000], ...(native ? [['sluice, TS path', 5000]] : []), ['naive-node', 5000]],
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

test('the quick native scenario finds every decode path emitting the same rows and times each, in its own process', {
  timeout: 60_000,
}, async () => {
  const result = await runNativeScenario({ quick: true, command: 'test', events: 20_000 });
  assert.equal(result.scenario, 'native');
  assert.equal(result.check.agree, true, result.check.lines.join('\n'));
  const paths = result.systems.map((system) => system.system);
  assert.ok(paths.includes('TS twin'), paths.join(', '));
  assert.ok(paths.includes('per-event TS'), paths.join(', '));
  for (const system of result.systems) {
    assert.equal(system.events, 20_000);
    assert.ok(
      system.latencyUs !== null && system.latencyUs.count === 4,
      `${system.system}: one sample per frame`,
    );
  }
  assert.ok(paths.includes('TS JSON (JSON.parse)'), paths.join(', '));
  assert.ok(paths.includes('TS twin JSON'), paths.join(', '));
  assert.equal(paths.includes('native JSON'), nativeAddon !== null, paths.join(', '));
  assert.equal(paths.includes('native JSON pre-aggregated'), nativeAddon !== null, paths.join(', '));
});

test('the quick gateway scenario acks only what is read back and counted in windows, and renders its targets', {
  timeout: 90_000,
}, async () => {
  const result = await runGatewayScenario({ quick: true, command: 'test', seconds: 0.5, rate: 20_000 });
  assert.equal(result.check.agree, true, result.check.lines.join('\n'));
  assert.match(
    result.check.lines[3] ?? '',
    /^batch 64 at 20,000 events\/s offered: ([\d,]+) events acked, \1 read back, \1 counted in window rows, 0 late, 0 batches unanswered$/,
  );
  assert.deepEqual(
    result.systems.map((system) => system.system),
    ['batch 1', 'batch 64', 'batch 1,024', '64 @ 20K/s: ack', '64 @ 20K/s: window'],
  );
  assert.ok(result.systems.every((system) => system.events > 0 && system.latencyUs !== null));
  assert.ok(result.skipped.some((line) => line.startsWith('no baseline')));
  await saveResult(outDir, result);
  const markdown = await readFile(join(outDir, 'RESULTS.md'), 'utf8');
  assert.match(markdown, /## gateway \(--quick\)[\s\S]*\| ack p99 at 20,000 events\/s offered/);
});
