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
} from './kafka-fixture.ts';

const topics: string[] = [];
after(() => deleteTopics(topics));

test('each assigned partition starts at the offset onAssign returned, not at the group offset', async () => {
  const topic = uniqueName('seek');
  topics.push(topic);
  await produceEvents({
    brokers: BROKERS,
    topic,
    format: 'json',
    count: 2000,
    createTopic: 2,
    log: quietLog,
  });
  const group = uniqueName('seek-group');

  // A first run reads everything and commits offsets 50 and 60 for the group.
  const first = new RecordingOwner('json');
  const firstSource = await startRecordedSource(first, topic, { group });
  await first.allEnded(2);
  await firstSource.commitOffsets(
    new Map([
      [0, '50'],
      [1, '60'],
    ]),
  );
  await firstSource.stop();
  const sizes = [0, 1].map(
    (partition) => first.received.filter((entry) => entry.partition === partition).length,
  );

  // The second run: partition 0 from its "checkpoint" at 100, partition 1 from the group offset.
  const second = new RecordingOwner('json');
  second.seekTo.set(0, '100');
  const secondSource = await startRecordedSource(second, topic, { group });
  try {
    await second.allEnded(2);
  } finally {
    await secondSource.stop();
  }
  const offsets = (partition: number) =>
    second.received.filter((entry) => entry.partition === partition).map((entry) => Number(entry.offset));
  assert.equal(Math.min(...offsets(0)), 100);
  assert.equal(offsets(0).length, sizes[0] - 100);
  assert.equal(Math.min(...offsets(1)), 60);
  assert.equal(offsets(1).length, sizes[1] - 60);
});

test('a seek offset at the end offset ends the partition without delivering anything', async () => {
  const topic = uniqueName('seek-end');
  topics.push(topic);
  await produceEvents({ brokers: BROKERS, topic, format: 'json', count: 300, createTopic: 1, log: quietLog });
  const owner = new RecordingOwner('json');
  owner.seekTo.set(0, '300');
  const source = await startRecordedSource(owner, topic);
  try {
    await owner.allEnded(1);
  } finally {
    await source.stop();
  }
  assert.equal(owner.received.length, 0);
});
