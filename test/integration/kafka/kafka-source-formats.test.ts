import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { partitionForKey } from '../../../actors/codecs/murmur2.ts';
import { createGenerator } from '../../../actors/generator/index.ts';
import type { KafkaFormat } from '../../../actors/kafka/decode-records.ts';
import { produceEvents } from '../../../actors/kafka/produce-events.ts';
import {
  BROKERS,
  deleteTopics,
  quietLog,
  RecordingOwner,
  startRecordedSource,
  uniqueName,
} from './kafka-fixture.ts';

const topics: string[] = [];
after(() => deleteTopics(topics));

const counts: Record<KafkaFormat, number> = { json: 20_000, msgpack: 20_000, frame: 100_000 };

describe('kafka source reading what sluice produce wrote', () => {
  for (const format of ['json', 'msgpack', 'frame'] as const) {
    test(`${format}: every event arrives exactly once, on its key's partition, at increasing offsets`, async () => {
      const topic = uniqueName(format);
      topics.push(topic);
      const count = counts[format];
      const produced = await produceEvents({
        brokers: BROKERS,
        topic,
        format,
        count,
        keys: 500,
        seed: 7,
        frameSize: 1000,
        createTopic: 4,
        log: quietLog,
      });
      assert.equal(produced.events, count);
      const owner = new RecordingOwner(format);
      const source = await startRecordedSource(owner, topic);
      try {
        await owner.allEnded(4);
      } finally {
        await source.stop();
      }
      assert.deepEqual(owner.failures, []);
      assert.equal(owner.received.length, count);
      const expected = createGenerator({ keys: 500, seed: 7 }).nextBatch(count).events;
      const canonical = (event: Record<string, unknown>) => JSON.stringify(event);
      assert.deepEqual(
        owner.received.map(({ event }) => canonical(event)).sort(),
        expected.map(canonical).sort(),
      );
      const lastOffset = new Map<number, bigint>();
      for (const { partition, offset, event } of owner.received) {
        assert.equal(partitionForKey(String(event.user_id), 4), partition);
        const previous = lastOffset.get(partition) ?? -1n;
        assert.ok(BigInt(offset) >= previous, 'offsets never go back within a partition');
        lastOffset.set(partition, BigInt(offset));
      }
      assert.deepEqual(owner.assigned.flat().sort(), [0, 1, 2, 3]);
    });
  }

  test('a topic that is empty ends at once on every partition', async () => {
    const topic = uniqueName('empty');
    topics.push(topic);
    await produceEvents({ brokers: BROKERS, topic, format: 'json', count: 0, createTopic: 3, log: quietLog });
    const owner = new RecordingOwner('json');
    const source = await startRecordedSource(owner, topic);
    try {
      await owner.allEnded(3, 15_000);
    } finally {
      await source.stop();
    }
    assert.equal(owner.received.length, 0);
  });
});
