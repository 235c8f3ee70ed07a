import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KafkaError } from '../../../actors/kafka/kafka-errors.ts';
import { startKafkaSource } from '../../../actors/kafka/kafka-source.ts';
import { produceEvents } from '../../../actors/kafka/produce-events.ts';
import { quietLog, RecordingOwner, startRecordedSource, uniqueName, waitFor } from './kafka-fixture.ts';
import { PrivateBroker } from './private-broker.ts';

const broker = new PrivateBroker();
before(() => broker.start(), { timeout: 60_000 });
after(() => broker.destroy());

describe('kafka source when the broker goes away', () => {
  test('a broker killed and restarted mid-stream: the source reconnects and every event arrives exactly once', async () => {
    const topic = uniqueName('restart');
    const count = 20_000;
    await produceEvents({
      brokers: [broker.address],
      topic,
      format: 'json',
      count,
      createTopic: 2,
      log: quietLog,
    });
    const owner = new RecordingOwner('json');
    owner.delay = () => new Promise((resolve) => setTimeout(resolve, 100));
    const source = await startRecordedSource(owner, topic, {
      brokers: [broker.address],
      brokerTimeoutMs: 60_000,
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1000,
    });
    try {
      await waitFor(() => owner.received.length > 0, 15_000, 'the first events');
      await broker.kill();
      await new Promise((resolve) => setTimeout(resolve, 3000));
      await broker.restart();
      await owner.allEnded(2, 40_000);
    } finally {
      await source.stop();
    }
    assert.deepEqual(owner.fatal, []);
    assert.equal(owner.received.length, count);
    assert.equal(new Set(owner.received.map((entry) => `${entry.partition}:${entry.offset}`)).size, count);
  });

  test('a broker that stays away longer than brokerTimeoutMs ends the source with a clear fatal error', async () => {
    const topic = uniqueName('gone');
    await produceEvents({
      brokers: [broker.address],
      topic,
      format: 'json',
      count: 10,
      createTopic: 1,
      log: quietLog,
    });
    const owner = new RecordingOwner('json');
    const source = await startRecordedSource(owner, topic, {
      brokers: [broker.address],
      bounded: null,
      brokerTimeoutMs: 8000,
      heartbeatIntervalMs: 1000,
    });
    try {
      await waitFor(() => owner.received.length === 10, 15_000, 'the events');
      const killedAt = Date.now();
      await broker.kill();
      await waitFor(() => owner.fatal.length > 0, 20_000, 'onFatal');
      const waited = Date.now() - killedAt;
      assert.ok(waited >= 7000 && waited < 15_000, `fatal after ${waited} ms`);
      assert.equal(owner.fatal.length, 1);
      const error = owner.fatal[0] as KafkaError;
      assert.equal(error.code, 'SLUICE_ERR_KAFKA_BROKER_UNREACHABLE');
      assert.match(error.message, new RegExp(`Kafka brokers ${broker.address} unreachable for \\d+ s`));
    } finally {
      await source.stop();
    }
  });
});

test('a broker that does not answer at start makes startKafkaSource reject within brokerTimeoutMs', async () => {
  const owner = new RecordingOwner('json');
  const began = Date.now();
  await assert.rejects(
    startKafkaSource({
      ...owner.callbacks(),
      brokers: ['127.0.0.1:1'],
      topic: 'nowhere',
      group: uniqueName('nowhere'),
      clientId: 'sluice-test',
      bounded: null,
      brokerTimeoutMs: 3000,
      fromBeginning: true,
      log: quietLog,
    }),
    (error: KafkaError) => error.code === 'SLUICE_ERR_KAFKA_BROKER_UNREACHABLE',
  );
  assert.ok(Date.now() - began < 6000);
});
