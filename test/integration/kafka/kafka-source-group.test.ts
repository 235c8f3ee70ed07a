import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { KafkaSource } from '../../../actors/kafka/kafka-source.ts';
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

test('two sources in one group split the partitions; the first is revoked, then both resume from the shared checkpoint', async () => {
  const topic = uniqueName('group');
  topics.push(topic);
  const group = uniqueName('group');
  const half = 10_000;
  await produceEvents({
    brokers: BROKERS,
    topic,
    format: 'json',
    count: half,
    createTopic: 4,
    seed: 1,
    log: quietLog,
  });

  // The "checkpoint" both owners share: next offset per partition, written after each delivery.
  const checkpoint = new Map<number, string>();
  const owners = [new RecordingOwner('json'), new RecordingOwner('json')];
  for (const owner of owners) {
    const callbacks = owner.callbacks();
    const deliver = callbacks.deliver;
    owner.callbacks = () => ({
      ...callbacks,
      onAssign: async (partitions) => {
        await callbacks.onAssign(partitions);
        return new Map(partitions.map((partition) => [partition, checkpoint.get(partition) ?? null]));
      },
      deliver: async (partition, packed) => {
        await deliver(partition, packed);
        checkpoint.set(partition, packed.nextOffset);
      },
    });
  }
  const options = { group, bounded: null, sessionTimeoutMs: 6000, heartbeatIntervalMs: 500 } as const;
  const sources: KafkaSource[] = [];
  try {
    sources.push(await startRecordedSource(owners[0], topic, options));
    await waitFor(
      () => owners[0].received.length === half,
      15_000,
      'the first source to read the first half',
    );
    assert.deepEqual(sources[0].assigned(), [0, 1, 2, 3]);

    sources.push(await startRecordedSource(owners[1], topic, options));
    await waitFor(
      () => sources[0].assigned().length === 2 && sources[1].assigned().length === 2,
      20_000,
      'the partitions to be split',
    );
    assert.deepEqual([...sources[0].assigned(), ...sources[1].assigned()].sort(), [0, 1, 2, 3]);
    assert.ok(owners[0].revoked.length > 0, 'the first source was revoked');
    assert.deepEqual(owners[0].revoked[0], [0, 1, 2, 3], 'revocation is eager: all it owned');

    await produceEvents({ brokers: BROKERS, topic, format: 'json', count: half, seed: 2, log: quietLog });
    const total = () => owners[0].received.length + owners[1].received.length;
    await waitFor(() => total() >= 2 * half, 15_000, 'both halves to arrive');
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(total(), 2 * half, 'nothing was delivered twice');
    const secondReads = [...new Set(owners[1].received.map((entry) => entry.partition))].sort();
    assert.deepEqual(secondReads, sources[1].assigned(), 'the second source read exactly its own partitions');
  } finally {
    for (const source of sources) await source.stop();
  }
});
