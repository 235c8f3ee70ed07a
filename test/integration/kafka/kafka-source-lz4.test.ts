import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import kafkajs from 'kafkajs';
import { createLz4Codec, registerLz4Codec } from '../../../actors/kafka/lz4-codec.ts';
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

test('record batches compressed with LZ4 by the producer are read back whole by the source', async () => {
  registerLz4Codec();
  let compressed = 0;
  const codec = createLz4Codec();
  const codecs = kafkajs.CompressionCodecs as unknown as Record<
    number,
    () => ReturnType<typeof createLz4Codec>
  >;
  const counting = {
    compress: (encoder: { buffer: Buffer }) => {
      compressed += 1;
      return codec.compress(encoder);
    },
    decompress: (buffer: Buffer) => codec.decompress(buffer),
  };
  codecs[kafkajs.CompressionTypes.LZ4] = () => counting;
  const topic = uniqueName('lz4');
  topics.push(topic);
  await produceEvents({
    brokers: BROKERS,
    topic,
    format: 'json',
    count: 5000,
    compression: 'lz4',
    createTopic: 2,
    log: quietLog,
  });
  const owner = new RecordingOwner('json');
  const source = await startRecordedSource(owner, topic);
  try {
    await owner.allEnded(2);
  } finally {
    await source.stop();
  }
  assert.equal(owner.received.length, 5000);
  assert.deepEqual(owner.failures, []);
  assert.ok(compressed > 0, 'the producer compressed with the registered codec');
  // The source's consumer hands record batches to the worker as fetched, which
  // decompresses them there (raw-record-batches.ts), not through kafkajs's codec table.
});
