/**
 * The broker going away while the source first joins its group (kafkajs raises errors it
 * does not retry there, issues 852/1163): the source keeps retrying, limited only by
 * brokerTimeoutMs, and every event arrives exactly once after the broker is back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { produceEvents } from '../../../actors/kafka/produce-events.ts';
import { createLogger } from '../../../runtime/logger.ts';
import { freezeBroker } from './frozen-broker.ts';
import { quietLog, RecordingOwner, startRecordedSource, uniqueName } from './kafka-fixture.ts';
import { PrivateBroker } from './private-broker.ts';

const broker = new PrivateBroker();
before(() => broker.start(), { timeout: 60_000 });
after(() => broker.destroy());

const OUTAGE_MS = 4000;
/** Source options of the tests whose broker comes back: long enough a limit, quick heartbeats. */
const riding = () => ({
  brokers: [broker.address],
  brokerTimeoutMs: 40_000,
  sessionTimeoutMs: 10_000,
  heartbeatIntervalMs: 1000,
});

/** Kills the broker now and starts it again after OUTAGE_MS; resolves once it answers. */
function outage(): Promise<void> {
  return broker
    .kill()
    .then(() => new Promise((resolve) => setTimeout(resolve, OUTAGE_MS)))
    .then(() => broker.restart());
}

async function topicWith(count: number, partitions: number): Promise<string> {
  const topic = uniqueName('join-fault');
  await produceEvents({
    brokers: [broker.address],
    topic,
    format: 'json',
    count,
    createTopic: partitions,
    log: quietLog,
  });
  return topic;
}

function assertExact(owner: RecordingOwner, count: number): void {
  assert.deepEqual(owner.fatal, []);
  assert.equal(owner.received.length, count);
  assert.equal(new Set(owner.received.map((entry) => `${entry.partition}:${entry.offset}`)).size, count);
}

describe('kafka source when the broker goes away during its first join', () => {
  test('broker killed as the consumer starts joining its group: the source retries and reads everything once', async () => {
    const count = 5000;
    const topic = await topicWith(count, 2);
    const owner = new RecordingOwner('json');
    let restarted: Promise<void> | null = null;
    // kafkajs logs "Starting" right before the consumer's JoinGroup/SyncGroup.
    const log = createLogger({
      level: 'debug',
      write: (line) => {
        if (restarted === null && / DEBUG Starting .*namespace=Consumer/.test(line)) restarted = outage();
      },
    });
    const source = await startRecordedSource(owner, topic, { ...riding(), log });
    try {
      assert.notEqual(restarted, null, 'the broker was killed during the join');
      await restarted;
      await owner.allEnded(2, 40_000);
    } finally {
      await source.stop();
    }
    assertExact(owner, count);
  });

  test('broker killed after the join, before the first fetch: the source retries and reads everything once', async () => {
    const count = 5000;
    const topic = await topicWith(count, 2);
    const owner = new RecordingOwner('json');
    const callbacks = owner.callbacks();
    let restarted: Promise<void> | null = null;
    const source = await startRecordedSource(owner, topic, {
      ...riding(),
      onAssign: async (partitions) => {
        if (restarted === null) {
          restarted = outage();
          await broker.kill();
        }
        return callbacks.onAssign(partitions);
      },
    });
    try {
      const deadline = Date.now() + 15_000;
      while (restarted === null && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 50));
      assert.notEqual(restarted, null, 'the group was joined');
      await restarted;
      await owner.allEnded(2, 40_000);
    } finally {
      await source.stop();
    }
    assertExact(owner, count);
  });

  test('a broker that stays away from the first join on still ends the source after brokerTimeoutMs', async () => {
    const topic = await topicWith(10, 1);
    const owner = new RecordingOwner('json');
    let killedAt = 0;
    const log = createLogger({
      level: 'debug',
      write: (line) => {
        if (killedAt === 0 && / DEBUG Starting .*namespace=Consumer/.test(line)) {
          killedAt = Date.now();
          void broker.kill();
        }
      },
    });
    const began = Date.now();
    let endedAt = 0;
    let source: Awaited<ReturnType<typeof startRecordedSource>> | null = null;
    try {
      source = await startRecordedSource(owner, topic, {
        brokers: [broker.address],
        bounded: null,
        brokerTimeoutMs: 8000,
        heartbeatIntervalMs: 1000,
        log,
      });
      const deadline = Date.now() + 25_000;
      while (owner.fatal.length === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      endedAt = Date.now();
      assert.equal(owner.fatal.length, 1, 'onFatal once');
      assert.equal((owner.fatal[0] as { code?: string }).code, 'SLUICE_ERR_KAFKA_BROKER_UNREACHABLE');
    } catch (error) {
      // Start itself may be what the broker timeout ends; then it rejects with the same code.
      if (source !== null) throw error;
      endedAt = Date.now();
      assert.equal((error as { code?: string }).code, 'SLUICE_ERR_KAFKA_BROKER_UNREACHABLE');
    } finally {
      await source?.stop();
      await broker.restart();
    }
    const waited = endedAt - began;
    assert.ok(killedAt > 0 && waited >= 7000 && waited < 20_000, `ended after ${waited} ms`);
  });
});

test('stop does not hang on a broker that stopped answering: the source stops within seconds', async () => {
  const count = 2000;
  const topic = await topicWith(count, 2);
  const owner = new RecordingOwner('json');
  const source = await startRecordedSource(owner, topic, {
    brokers: [broker.address],
    bounded: null,
    brokerTimeoutMs: 60_000,
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1000,
  });
  let thaw = () => {};
  try {
    const deadline = Date.now() + 20_000;
    while (owner.received.length < count && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(owner.received.length, count);
    thaw = freezeBroker(broker);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const began = Date.now();
    await source.stop();
    const took = Date.now() - began;
    assert.ok(took < 8000, `stop took ${took} ms`);
  } finally {
    thaw();
  }
  assert.deepEqual(owner.fatal, []);
});
