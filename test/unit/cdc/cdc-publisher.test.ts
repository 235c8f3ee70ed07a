import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import type kafkajs from 'kafkajs';
import {
  type CdcPublishConfig,
  CdcPublisher,
  type CdcPublisherOptions,
  cdcTopicName,
  SCHEMA_VERSION_HEADER,
} from '../../../actors/cdc/cdc-publisher.ts';
import type { Envelope } from '../../../actors/cdc/debezium-envelope.ts';
import { unwrapEnvelope } from '../../../actors/cdc/unwrap-envelope.ts';
import { createLogger } from '../../../runtime/logger.ts';

/** A producer whose sends complete when the test says so. */
class FakeProducer {
  readonly sends: kafkajs.ProducerBatch[] = [];
  readonly #pending: Array<{ resolve(): void; reject(error: Error): void }> = [];

  sendBatch(batch: kafkajs.ProducerBatch): Promise<kafkajs.RecordMetadata[]> {
    this.sends.push(batch);
    return new Promise((resolve, reject) => {
      this.#pending.push({ resolve: () => resolve([]), reject });
    });
  }

  async disconnect(): Promise<void> {}

  acknowledge(): void {
    this.#pending.shift()?.resolve();
  }

  refuse(error: Error): void {
    this.#pending.shift()?.reject(error);
  }
}

const config: CdcPublishConfig = {
  type: 'kafka',
  brokers: ['127.0.0.1:9092'],
  topics: 'existing',
  partitions: 1,
  tombstones: true,
};

function change(op: 'c' | 'u' | 'd', id: number | null, version = 1): Envelope {
  const row = id === null ? { note: 'x' } : { id, note: 'x' };
  return {
    before: op === 'd' ? row : null,
    after: op === 'd' ? null : row,
    source: { schema: 'public', table: 'users', lsn: 100 + (id ?? 0), ts_ms: 1 },
    op,
    ts_ms: 2,
    _key: id === null ? null : { id },
    _schemaVersion: version,
  };
}

function publisher(options: Partial<CdcPublisherOptions> = {}) {
  const producer = new FakeProducer();
  const delivered: Array<{ partition: number; events: Envelope[]; positions: string[] }> = [];
  const failures: Error[] = [];
  const instance = new CdcPublisher(producer as unknown as kafkajs.Producer, {
    config,
    topics: ['shop.public.users', 'shop.public.orders'],
    clientId: 'test',
    log: createLogger({ level: 'error' }),
    shape: (envelope) => envelope,
    deliver: async (partition, events, positions) => {
      delivered.push({ partition, events, positions });
    },
    onFailed: (error) => failures.push(error),
    maxQueued: 100,
    ...options,
  });
  return { producer, delivered, failures, instance };
}

describe('CdcPublisher', () => {
  it('names topics <prefix>.<schema>.<table>, characters Kafka refuses becoming _', () => {
    assert.equal(cdcTopicName('shop', { schema: 'public', table: 'users' }), 'shop.public.users');
    assert.equal(cdcTopicName('shop', { schema: 'public', table: 'odd$name' }), 'shop.public.odd_name');
  });

  it('hands a batch to its partition only after Kafka acknowledged it, in order', async () => {
    const { producer, delivered, instance } = publisher();
    await instance.publish(0, [change('c', 1)], ['0/10#0']);
    await instance.publish(1, [change('c', 2)], ['0/20#0']);
    await instance.publish(0, [change('u', 1)], ['0/30#0']);
    await tick();
    assert.equal(producer.sends.length, 1, 'one send in flight; the rest waits for it');
    assert.equal(delivered.length, 0);
    producer.acknowledge();
    await tick();
    assert.deepEqual(
      delivered.map((d) => d.positions),
      [['0/10#0']],
    );
    assert.equal(producer.sends.length, 2, 'what queued meanwhile goes in the next send');
    assert.deepEqual(
      producer.sends[1].topicMessages?.map((tm) => [tm.topic, tm.messages.length]),
      [
        ['shop.public.orders', 1],
        ['shop.public.users', 1],
      ],
    );
    producer.acknowledge();
    await tick();
    assert.deepEqual(
      delivered.map((d) => [d.partition, d.positions[0]]),
      [
        [0, '0/10#0'],
        [1, '0/20#0'],
        [0, '0/30#0'],
      ],
    );
    assert.equal(producer.sends[0].acks, -1, 'acks from all in-sync replicas');
  });

  it('writes the key as JSON, the event without _key and _schemaVersion, the version as a header, a tombstone after a delete', async () => {
    const { producer, instance } = publisher();
    await instance.publish(
      0,
      [change('c', 7, 3), change('d', 7, 3), change('c', null)],
      ['0/1#0', '0/1#1', '0/1#2'],
    );
    const messages = producer.sends[0].topicMessages?.[0].messages ?? [];
    assert.deepEqual(
      messages.map((message) => [
        message.key,
        message.value === null ? null : JSON.parse(String(message.value)).op,
      ]),
      [
        ['{"id":7}', 'c'],
        ['{"id":7}', 'd'],
        ['{"id":7}', null],
        [null, 'c'],
      ],
    );
    const value = JSON.parse(String(messages[0].value));
    assert.deepEqual(Object.keys(value), ['before', 'after', 'source', 'op', 'ts_ms']);
    assert.deepEqual(messages[0].headers, { [SCHEMA_VERSION_HEADER]: '3' });
  });

  it('without tombstones a delete is one record; with envelope unwrap the row is the value', async () => {
    const { producer, delivered, instance } = publisher({
      config: { ...config, tombstones: false },
      shape: unwrapEnvelope,
    });
    await instance.publish(0, [change('d', 4)], ['0/1#0']);
    const messages = producer.sends[0].topicMessages?.[0].messages ?? [];
    assert.equal(messages.length, 1);
    assert.equal(messages[0].key, '{"id":4}');
    assert.deepEqual(JSON.parse(String(messages[0].value)), {
      id: 4,
      note: 'x',
      __op: 'd',
      __table: 'public.users',
      __lsn: 104,
      __source_ts_ms: 1,
      __deleted: 'true',
    });
    producer.acknowledge();
    await tick();
    assert.equal(delivered[0].events[0].__op, 'd', 'the partition gets the same shape');
  });

  it('publish waits while the queue is full, until a send takes it', async () => {
    const { producer, instance } = publisher({ maxQueued: 2 });
    await instance.publish(0, [change('c', 1), change('c', 2)], ['0/1#0', '0/1#1']);
    await tick();
    await instance.publish(0, [change('c', 3), change('c', 4)], ['0/2#0', '0/2#1']);
    let third = false;
    const waiting = instance.publish(0, [change('c', 5)], ['0/3#0']).then(() => {
      third = true;
    });
    await tick();
    assert.equal(third, false, 'the queue is full: the caller waits (and stops reading WAL)');
    producer.acknowledge();
    await waiting;
    assert.equal(third, true);
  });

  it('a refused send fails the publisher once, with its code; nothing of it is delivered', async () => {
    const { producer, delivered, failures, instance } = publisher();
    await instance.publish(0, [change('c', 1)], ['0/1#0']);
    await tick();
    producer.refuse(Object.assign(new Error('broker down'), { name: 'KafkaJSNumberOfRetriesExceeded' }));
    await tick();
    assert.equal(failures.length, 1);
    assert.equal((failures[0] as Error & { code?: string }).code, 'SLUICE_ERR_CDC_PUBLISH_FAILED');
    assert.match(failures[0].message, /shop\.public\.users/);
    assert.equal(delivered.length, 0);
    await assert.rejects(instance.publish(0, [change('c', 2)], ['0/2#0']), /publishing changes/);
  });
});
