import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { kafkaBrokers, uniqueName } from '../helpers/services.ts';

const { Kafka, logLevel } = kafkajs;

describe('Kafka smoke: the local broker', { timeout: 60_000 }, () => {
  const kafka = new Kafka({ clientId: 'sluice-smoke', brokers: kafkaBrokers, logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  const topic = uniqueName('smoke');
  const groupId = uniqueName('smoke_group');

  before(async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  });

  after(async () => {
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  });

  it('does not create topics automatically', async () => {
    const missing = uniqueName('missing');
    const producer = kafka.producer({ allowAutoTopicCreation: true, retry: { retries: 1 } });
    await producer.connect();
    try {
      await assert.rejects(producer.send({ topic: missing, messages: [{ value: 'x' }] }));
    } finally {
      await producer.disconnect();
    }
    assert.ok(!(await admin.listTopics()).includes(missing));
  });

  it('delivers produced messages to a consumer of a fresh topic, in order, with their keys', async () => {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const sent = [1, 2, 3].map((n) => ({ key: `k${n}`, value: JSON.stringify({ n }) }));
    await producer.send({ topic, messages: sent });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: Array<{ key: string; value: string; offset: string }> = [];
    try {
      await new Promise<void>((resolve, reject) => {
        consumer
          .run({
            eachMessage: async ({ message }) => {
              received.push({
                key: String(message.key),
                value: String(message.value),
                offset: message.offset,
              });
              if (received.length === sent.length) resolve();
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    assert.deepEqual(
      received,
      sent.map((message, index) => ({ ...message, offset: String(index) })),
    );
  });
});
