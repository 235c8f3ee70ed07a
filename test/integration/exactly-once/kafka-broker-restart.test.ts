/**
 * A whole `sluice start` job (Kafka source → windows → file sink) over a private broker
 * that is killed and restarted mid-stream: the job reconnects on its own and its files
 * equal a clean run's byte for byte; a broker that stays away past `brokerTimeout` ends
 * the process with a non-zero exit and a message that says so. The shared broker on 9092
 * is never touched.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { produceEvents } from '../../../actors/kafka/produce-events.ts';
import { outputFiles, runSluice, startSluice } from '../../e2e/sluice-process.ts';
import { quietLog, uniqueName } from '../kafka/kafka-fixture.ts';
import { PrivateBroker } from '../kafka/private-broker.ts';

const broker = new PrivateBroker();
before(() => broker.start(), { timeout: 90_000 });
after(() => broker.destroy());

function topology(topic: string, group: string, bounded: boolean, brokerTimeout: string): string {
  return `name: restart
workers: 2
checkpoint: { interval: 500ms }
sources:
  events:
    type: kafka
    brokers: [${broker.address}]
    topic: ${topic}
    group: ${group}
    format: json
    key: user_id
${bounded ? '    bounded: latest\n' : ''}    brokerTimeout: ${brokerTimeout}
    sessionTimeout: 10s
    time: { field: ts, maxOutOfOrder: 3s }
windows:
  per_user:
    from: events
    window: { type: tumbling, size: 10s, allowedLateness: 5s }
    transform: ./slow.mjs
    groupBy: [user_id]
    aggregate: { events: count(), amount: sum(amount), pages: count_distinct(page) }
    to: [out]
    late: late
sinks:
  out: { type: file, path: ./out/rows.jsonl }
  late: { type: file, path: ./out/late.jsonl }
  dlq: { type: file, path: ./out/dlq.jsonl }
deadLetter: dlq
`;
}

/**
 * The window's transform: passes each event through after 10 µs of work, so a run of the
 * input takes seconds however fast this machine is and the broker dies mid-stream.
 */
const SLOW_TRANSFORM = `export default (event) => {
  const until = process.hrtime.bigint() + 10000n;
  while (process.hrtime.bigint() < until);
  return event;
};
`;

async function jobDir(root: string, name: string, yaml: string): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'job.yaml'), yaml);
  await writeFile(join(dir, 'slow.mjs'), SLOW_TRANSFORM);
  return dir;
}

/** Bytes written to the row files so far. */
async function rowBytes(dir: string): Promise<number> {
  const files = (await readdir(join(dir, 'out')).catch(() => [] as string[])).filter((file) =>
    file.startsWith('rows.'),
  );
  let bytes = 0;
  for (const file of files) bytes += (await stat(join(dir, 'out', file))).size;
  return bytes;
}

/**
 * Produces a topic, runs the job once cleanly, then again with the broker killed once
 * the first rows are out and restarted `outageMs` later; the second run must finish by
 * itself with files byte-identical to the first's.
 */
async function restartMidStream(root: string, outageMs: number, brokerTimeout: string): Promise<void> {
  const topic = uniqueName('job-restart');
  await produceEvents({
    brokers: [broker.address],
    topic,
    format: 'json',
    count: 200_000,
    keys: 2000,
    createTopic: 4,
    startTime: Date.UTC(2026, 0, 1),
    outOfOrder: 0.1,
    maxOutOfOrderMs: 3000,
    late: 0.01,
    lateByMs: 20_000,
    log: quietLog,
  });
  const cleanDir = await jobDir(root, 'clean', topology(topic, `${topic}-clean`, true, brokerTimeout));
  const clean = await runSluice(['start', 'job.yaml'], { cwd: cleanDir, timeoutMs: 120_000 });
  assert.equal(clean.code, 0, clean.stderr);
  const expected = await outputFiles(cleanDir);
  assert.equal(expected.filter(([file]) => file.startsWith('rows.')).length, 4);

  const faultDir = await jobDir(root, 'fault', topology(topic, `${topic}-fault`, true, brokerTimeout));
  const running = startSluice(['start', 'job.yaml'], { cwd: faultDir });
  try {
    // Mid-stream: the first windows have fired, the input is not done.
    const deadline = Date.now() + 60_000;
    while ((await rowBytes(faultDir)) === 0 && running.child.exitCode === null) {
      assert.ok(Date.now() < deadline, 'the job wrote no rows within 60 s');
      await sleep(20);
    }
    assert.equal(
      running.child.exitCode,
      null,
      `the job ended before the broker was killed: ${running.stderr}`,
    );
    const beforeKill = await rowBytes(faultDir);
    await broker.kill();
    await sleep(outageMs);
    assert.equal(
      running.child.exitCode,
      null,
      `the job gave up while the broker was away for ${outageMs} ms: ${running.stderr.slice(-2000)}`,
    );
    await broker.restart();
    const finished = await Promise.race([
      running.finished,
      sleep(120_000).then(() => {
        throw new Error('the job did not finish within 120 s of the broker restart');
      }),
    ]);
    assert.equal(finished.code, 0, finished.stderr);
    const total = expected
      .filter(([file]) => file.startsWith('rows.'))
      .reduce((sum, [, text]) => sum + text.length, 0);
    assert.ok(beforeKill < total, `the broker was killed after all ${total} row bytes were written`);
    assert.deepEqual(await outputFiles(faultDir), expected);
  } finally {
    running.child.kill('SIGKILL');
  }
}

describe('a whole job over a broker that goes away', { timeout: 300_000 }, () => {
  it('reconnects after the broker is killed and restarted mid-stream; output equals a clean run', async (t) => {
    const root = await mkdtemp(join(tmpdir(), 'sluice-broker-restart-'));
    t.after(() => rm(root, { recursive: true, force: true }));
    await restartMidStream(root, 4000, '60s');
  });

  it('rides out an outage of 40 s, within its 90 s limit, with the same output', async (t) => {
    const root = await mkdtemp(join(tmpdir(), 'sluice-broker-outage-'));
    t.after(() => rm(root, { recursive: true, force: true }));
    await restartMidStream(root, 40_000, '90s');
  });

  it('exits non-zero with a clear message when the broker stays away past brokerTimeout', async (t) => {
    const topic = uniqueName('job-gone');
    const root = await mkdtemp(join(tmpdir(), 'sluice-broker-gone-'));
    t.after(() => rm(root, { recursive: true, force: true }));
    await produceEvents({
      brokers: [broker.address],
      topic,
      format: 'json',
      count: 1000,
      createTopic: 2,
      startTime: Date.UTC(2026, 0, 1),
      log: quietLog,
    });
    const dir = await jobDir(root, 'gone', topology(topic, `${topic}-g`, false, '5s'));
    const running = startSluice(['start', 'job.yaml'], { cwd: dir, env: { SLUICE_LOG: 'info' } });
    t.after(() => running.child.kill('SIGKILL'));
    const deadline = Date.now() + 60_000;
    while (!running.stderr.includes('kafka partitions assigned') && running.child.exitCode === null) {
      assert.ok(Date.now() < deadline, `the job was not assigned its partitions: ${running.stderr}`);
      await sleep(100);
    }
    await broker.kill();
    const killedAt = Date.now();
    const finished = await Promise.race([
      running.finished,
      sleep(60_000).then(() => {
        throw new Error('the job still runs 60 s after its broker went away (limit 5 s)');
      }),
    ]);
    const waited = Date.now() - killedAt;
    assert.notEqual(finished.code, 0);
    assert.equal(finished.signal, null);
    assert.match(finished.stderr, new RegExp(`Kafka brokers ${broker.address} unreachable for \\d+ s`));
    // The limit runs from the broker's last answer (a fetch or heartbeat, every ≤ 3 s
    // here), which can come shortly before the kill: the exit is due 2–5 s after it.
    assert.ok(waited >= 2000, `exited ${waited} ms after the kill, well before the 5 s limit`);
    await broker.restart();
  });
});
