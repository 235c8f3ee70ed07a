import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { produceEvents } from '../../../actors/kafka/produce-events.ts';
import {
  BROKERS,
  deleteTopics,
  quietLog,
  RecordingOwner,
  startRecordedSource,
  uniqueName,
  waitFor,
} from './kafka-fixture.ts';

const topics: string[] = [];
after(() => deleteTopics(topics));

const SESSION_TIMEOUT_MS = 6000;

test('a partition whose deliveries hang longer than the session timeout is paused, the member stays in the group and other partitions flow', async () => {
  const topic = uniqueName('backpressure');
  topics.push(topic);
  const count = 40_000;
  await produceEvents({
    brokers: BROKERS,
    topic,
    format: 'msgpack',
    count,
    keys: 200,
    createTopic: 2,
    log: quietLog,
  });
  const owner = new RecordingOwner('msgpack');
  let releaseBlocked: () => void = () => {};
  const blocked = new Promise<void>((resolve) => {
    releaseBlocked = resolve;
  });
  const pending = [0, 0];
  let maxPending = 0;
  let deliveriesToPartition0 = 0;
  owner.delay = async (partition) => {
    pending[partition] += 1;
    maxPending = Math.max(maxPending, pending[partition]);
    if (partition === 0) {
      deliveriesToPartition0 += 1;
      if (deliveriesToPartition0 === 2) await blocked;
    }
    pending[partition] -= 1;
  };
  const source = await startRecordedSource(owner, topic, {
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    heartbeatIntervalMs: 1000,
    brokerTimeoutMs: 20_000,
  });
  try {
    await waitFor(() => owner.ended.has(1), 15_000, 'partition 1 to be read to its end');
    const beforeWait = deliveriesToPartition0;
    const memoryBefore = process.memoryUsage().heapUsed;
    await new Promise((resolve) => setTimeout(resolve, SESSION_TIMEOUT_MS + 3000));
    assert.equal(deliveriesToPartition0, beforeWait, 'nothing more was fetched for the blocked partition');
    assert.equal(pending[0], 1, 'exactly one batch waits for the blocked partition');
    assert.ok(
      process.memoryUsage().heapUsed - memoryBefore < 32 * 1024 * 1024,
      'memory did not grow while blocked',
    );
    releaseBlocked();
    await owner.allEnded(2);
  } finally {
    releaseBlocked();
    await source.stop();
  }
  assert.equal(maxPending, 1, 'at most one delivery in flight per partition');
  assert.deepEqual(owner.revoked, [], 'no rebalance happened');
  assert.equal(owner.assigned.length, 1, 'assigned once, never again');
  assert.equal(owner.received.length, count, 'every event arrived exactly once');
  assert.deepEqual(owner.fatal, []);
});
