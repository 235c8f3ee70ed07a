/**
 * Input written by transactional producers whose transactions interleave in one partition
 * and abort (as the per-partition producers of a transactional Kafka sink upstream do
 * after a crash): the kafka source hands on only committed records, also when it starts
 * reading in the middle of the aborted transactions.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import kafkajs from 'kafkajs';
import { BROKERS, deleteTopics, RecordingOwner, startRecordedSource, uniqueName } from './kafka-fixture.ts';

const topic = uniqueName('read-committed');
const event = (name: string, ts: number) => ({
  key: 'u1',
  value: JSON.stringify({ user_id: 'u1', ts, name }),
});

before(async () => {
  const kafka = new kafkajs.Kafka({ brokers: BROKERS, logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const transactional = (id: string) =>
    kafka.producer({ transactionalId: uniqueName(id), idempotent: true, maxInFlightRequests: 1 });
  const p1 = transactional('p1');
  const p2 = transactional('p2');
  const plain = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await Promise.all([p1.connect(), p2.connect(), plain.connect()]);
  try {
    const t1 = await p1.transaction();
    const t2 = await p2.transaction();
    await t1.send({ topic, messages: [event('a1', 1000)] }); // offset 0
    await t2.send({ topic, messages: [event('b1', 1001)] }); // 1
    await t2.send({ topic, messages: [event('b2', 1002)] }); // 2
    await t1.send({ topic, messages: [event('a2', 1003)] }); // 3
    // Markers, c1 and d1 follow in an order the coordinator decides (it writes the
    // markers after acknowledging an abort or commit), so they are read by name below.
    await t1.abort();
    await t2.abort();
    const t3 = await p1.transaction();
    await t3.send({ topic, messages: [event('c1', 1004)] });
    await t3.commit();
    await plain.send({ topic, acks: -1, messages: [event('d1', 1005)] });
  } finally {
    await Promise.all([p1.disconnect(), p2.disconnect(), plain.disconnect()]);
  }
});

after(() => deleteTopics([topic]));

async function read(from: string | null): Promise<string[]> {
  const owner = new RecordingOwner('json');
  if (from !== null) owner.seekTo.set(0, from);
  const source = await startRecordedSource(owner, topic);
  try {
    await owner.allEnded(1);
  } finally {
    await source.stop();
  }
  assert.deepEqual(owner.failures, []);
  return owner.received.map((entry) => String(entry.event.name));
}

test('from the beginning, the records of aborted transactions are skipped', async () => {
  assert.deepEqual(await read(null), ['c1', 'd1']);
});

test('from inside two interleaved aborted transactions, none of their records is delivered', async () => {
  // Offset 2 is p2's record; p1's transaction began first (offset 0), p2's at 1.
  assert.deepEqual(await read('2'), ['c1', 'd1']);
  assert.deepEqual(await read('3'), ['c1', 'd1']);
});

test('a bounded source ends on a partition whose last records are transaction markers or aborted records', async () => {
  const tail = uniqueName('read-committed-tail');
  const kafka = new kafkajs.Kafka({ brokers: BROKERS, logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: tail, numPartitions: 2 }], waitForLeaders: true });
  await admin.disconnect();
  try {
    const producer = kafka.producer({
      transactionalId: uniqueName('tail'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    try {
      // Partition 0 ends with a commit marker, partition 1 with an aborted transaction.
      const committed = await producer.transaction();
      await committed.send({ topic: tail, messages: [{ partition: 0, ...event('p0', 1000) }] });
      await committed.send({ topic: tail, messages: [{ partition: 1, ...event('p1', 1001) }] });
      await committed.commit();
      const aborted = await producer.transaction();
      await aborted.send({ topic: tail, messages: [{ partition: 1, ...event('gone', 1002) }] });
      await aborted.abort();
    } finally {
      await producer.disconnect();
    }
    const readTail = async (seeks: Array<[number, string]>) => {
      const owner = new RecordingOwner('json');
      for (const [partition, offset] of seeks) owner.seekTo.set(partition, offset);
      const source = await startRecordedSource(owner, tail);
      try {
        await owner.allEnded(2);
      } finally {
        await source.stop();
      }
      return owner.received.map((entry) => `${entry.partition}:${entry.event.name}`).sort();
    };
    assert.deepEqual(await readTail([]), ['0:p0', '1:p1']);
    // Started at the tail: every fetch holds only markers or aborted records, which kafkajs
    // hands to nobody; the source must still see its position reach the end offsets.
    assert.deepEqual(
      await readTail([
        [0, '1'],
        [1, '2'],
      ]),
      [],
    );
  } finally {
    await deleteTopics([tail]);
  }
});
