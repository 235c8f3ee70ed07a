/**
 * The shared idempotent producer (gateway forward, CDC publish, `sluice produce`):
 * configured as kafkajs wants for exactly-once (no retry count limit, so no "Limiting
 * retries … may invalidate EoS guarantees" warning), yet a send still fails in bounded
 * time when the broker stops answering.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createKafkaClient } from '../../../actors/kafka/kafka-client.ts';
import type { KafkaError } from '../../../actors/kafka/kafka-errors.ts';
import { createIdempotentProducer, prepareTopics } from '../../../actors/kafka/kafka-producer.ts';
import { createLogger } from '../../../runtime/logger.ts';
import { freezeBroker } from './frozen-broker.ts';
import { uniqueName } from './kafka-fixture.ts';
import { PrivateBroker } from './private-broker.ts';

const broker = new PrivateBroker();
before(() => broker.start(), { timeout: 60_000 });
after(() => broker.destroy());

/** A connected idempotent producer on a new topic; its kafkajs log lines go to `lines`. */
async function connectedProducer(lines: string[], sendTimeoutMs?: number) {
  const log = createLogger({ level: 'debug', write: (line) => lines.push(line) });
  const { kafka } = createKafkaClient({ brokers: [broker.address], clientId: 'sluice-test', log });
  const topic = uniqueName('idempotent');
  await prepareTopics(kafka, [topic], { partitions: 1 });
  const producer = createIdempotentProducer(kafka, sendTimeoutMs);
  await producer.connect();
  return { producer, topic };
}

test('the idempotent producer starts and sends without the limited-retries warning', async () => {
  const lines: string[] = [];
  const { producer, topic } = await connectedProducer(lines);
  try {
    await producer.send({ topic, acks: -1, messages: [{ key: 'a', value: '1' }] });
    assert.equal(producer.isIdempotent(), true);
  } finally {
    await producer.disconnect();
  }
  assert.deepEqual(
    lines.filter((line) => /Limiting retries|EoS/.test(line)),
    [],
  );
});

test('a send to a broker that stopped answering rejects after sendTimeoutMs, not never', async () => {
  const { producer, topic } = await connectedProducer([], 2000);
  const thaw = freezeBroker(broker);
  try {
    const began = Date.now();
    await assert.rejects(
      producer.send({ topic, acks: -1, messages: [{ key: 'a', value: '1' }] }),
      (error: KafkaError) =>
        error.code === 'SLUICE_ERR_KAFKA_PRODUCE_FAILED' &&
        /no acknowledgement within 2000 ms/.test(error.message),
    );
    const took = Date.now() - began;
    assert.ok(took >= 1900 && took < 5000, `rejected after ${took} ms`);
  } finally {
    thaw();
    await producer.disconnect().catch(() => {});
  }
});
