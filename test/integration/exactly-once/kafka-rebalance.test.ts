import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import { produceEvents } from '../../../actors/kafka/produce-events.ts';
import { outputFiles, runSluice, startSluice } from '../../e2e/sluice-process.ts';
import { kafkaBrokers, uniqueName } from '../helpers/services.ts';

/** 60 µs of work per event: about 5 s of CPU for the whole input. */
const slowTransform = `export default (event) => {
  const began = performance.now();
  while (performance.now() - began < 0.06);
  return event;
};
`;

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(100);
  }
}

function topology(topic: string, group: string): string {
  return `name: rebalance
workers: 2
mailbox: { capacity: 2 }
batch: { size: 200 }
checkpoint: { interval: 200ms }
sources:
  events:
    type: kafka
    brokers: [${kafkaBrokers.join(', ')}]
    topic: ${topic}
    group: ${group}
    format: json
    key: user_id
    bounded: latest
    sessionTimeout: 6s
    time: { field: ts, maxOutOfOrder: 3s }
windows:
  per_user:
    from: events
    # A deliberately slow transform, so that the hand-off happens mid-stream.
    transform: ./slow.mjs
    window: { type: tumbling, size: 10s }
    groupBy: [user_id]
    aggregate: { events: count(), amount: sum(amount) }
    to: [out]
sinks:
  out: { type: file, path: ./out/rows.jsonl }
`;
}

describe('Kafka consumer-group hand-off between two processes', { timeout: 180_000 }, () => {
  it('keeps output exact when a second process joins mid-stream and the first is then killed', async (t) => {
    const topic = uniqueName('rebalance');
    const dir = await mkdtemp(join(tmpdir(), 'sluice-rebalance-'));
    t.after(async () => {
      await rm(dir, { recursive: true, force: true });
      const admin = new kafkajs.Kafka({ brokers: kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    });
    await produceEvents({
      brokers: kafkaBrokers,
      topic,
      format: 'json',
      count: 160_000,
      keys: 2000,
      createTopic: 8,
      startTime: Date.UTC(2026, 0, 1),
      outOfOrder: 0.1,
      maxOutOfOrderMs: 3000,
    });
    const clean = join(dir, 'clean');
    const shared = join(dir, 'shared');
    await mkdir(clean);
    await mkdir(shared);
    await writeFile(join(clean, 'job.yaml'), topology(topic, `${topic}-clean`));
    await writeFile(join(shared, 'job.yaml'), topology(topic, `${topic}-shared`));
    for (const folder of [clean, shared]) await writeFile(join(folder, 'slow.mjs'), slowTransform);
    const reference = await runSluice(['start', 'job.yaml'], { cwd: clean, timeoutMs: 120_000 });
    assert.equal(reference.code, 0, reference.stderr);

    // Both processes share the topology folder, hence the state folder and the files.
    const first = startSluice(['start', 'job.yaml'], { cwd: shared, env: { SLUICE_LOG: 'info' } });
    await until(() => first.stderr.includes('kafka partitions assigned'), 60_000);
    await sleep(1500);
    const second = startSluice(['start', 'job.yaml'], { cwd: shared, env: { SLUICE_LOG: 'info' } });
    // The group splits the partitions: the second process is assigned its share.
    await until(() => second.stderr.includes('kafka partitions assigned'), 60_000).catch((error) => {
      throw new Error(`${error.message}\n--- first:\n${first.stderr}\n--- second:\n${second.stderr}`);
    });
    await sleep(1000);
    first.child.kill('SIGKILL');
    await first.finished;
    const result = await second.finished;
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /partition restored/,
      `the second process took over checkpointed partitions:\n${result.stderr}`,
    );
    assert.deepEqual(await outputFiles(shared), await outputFiles(clean));
  });
});
