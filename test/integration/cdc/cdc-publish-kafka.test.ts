import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import type pg from 'pg';
import { SCHEMA_VERSION_HEADER } from '../../../actors/cdc/cdc-publisher.ts';
import type { CdcSource } from '../../../actors/cdc/cdc-source.ts';
import type { PartitionMessage } from '../../../actors/partition/partition-plan.ts';
import { kafkaBrokers } from '../helpers/services.ts';
import {
  Collector,
  cdcConfig,
  cdcNames,
  connectAdmin,
  deleteTopics,
  dropCdcObjects,
  type Envelope,
  readTopic,
  startCollecting,
  type TopicRecord,
} from './cdc-fixture.ts';

async function topicSize(topic: string): Promise<number> {
  const kafka = new kafkajs.Kafka({ brokers: kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, offset) => sum + Number(offset.high), 0);
  } finally {
    await admin.disconnect();
  }
}

function byKey(records: TopicRecord[]): Map<string | null, TopicRecord[]> {
  const keyed = new Map<string | null, TopicRecord[]>();
  for (const record of records) keyed.set(record.key, [...(keyed.get(record.key) ?? []), record]);
  return keyed;
}

function withoutSluiceFields(event: Envelope): Envelope {
  const { _key, _schemaVersion, ...rest } = event;
  return rest;
}

describe('CDC source publishing to Kafka (publish: kafka)', { timeout: 90_000 }, () => {
  const names = cdcNames('cdc_pub');
  const users = `${names.base}_users`;
  const lines = `${names.base}_lines`;
  const prefix = names.base;
  const usersTopic = `${prefix}.public.${users}`;
  const linesTopic = `${prefix}.public.${lines}`;
  let admin: pg.Client;
  let source: CdcSource | undefined;

  before(async () => {
    admin = await connectAdmin();
    await admin.query(`CREATE TABLE ${users} (id integer PRIMARY KEY, name text, country text)`);
    await admin.query(
      `CREATE TABLE ${lines} (order_id integer, line integer, qty integer, PRIMARY KEY (order_id, line))`,
    );
    await admin.query(`INSERT INTO ${users} VALUES (1, 'ann', 'FR')`);
  });

  after(async () => {
    await source?.stop();
    await dropCdcObjects(admin, names, [users, lines]);
    await admin.end();
    await deleteTopics([usersTopic, linesTopic]);
  });

  it('snapshot rows, inserts, updates and deletes land on <prefix>.<schema>.<table> keyed by primary key, each reaching its partition only after Kafka has it', async () => {
    const collector = new Collector();
    // At each hand-over to a partition, the topic must already hold at least what that partition got.
    const lateDeliveries: string[] = [];
    const handed = [0, 0];
    const record = collector.deliver;
    collector.deliver = async (partition: number, message: PartitionMessage) => {
      if (message.kind === 'records') {
        handed[partition] += message.events.length;
        const size = await topicSize(partition === 0 ? usersTopic : linesTopic);
        if (size < handed[partition])
          lateDeliveries.push(`partition ${partition}: ${size} < ${handed[partition]}`);
      }
      await record(partition, message);
    };
    const config = cdcConfig(names, [users, lines], {
      topicPrefix: prefix,
      publish: { type: 'kafka', brokers: kafkaBrokers, topics: 'create', partitions: 2, tombstones: true },
    });
    let fatal: Error[];
    ({ source, fatal } = await startCollecting(config, collector));
    await collector.waitFor(1);

    await admin.query(`INSERT INTO ${users} VALUES (2, 'bob', 'DE')`);
    await admin.query(`UPDATE ${users} SET name = 'bobby' WHERE id = 2`);
    await admin.query(`DELETE FROM ${users} WHERE id = 1`);
    await admin.query('BEGIN');
    await admin.query(`INSERT INTO ${lines} VALUES (7, 1, 3), (7, 2, 4)`);
    await admin.query('COMMIT');
    await admin.query(`UPDATE ${lines} SET qty = 5 WHERE order_id = 7 AND line = 1`);
    await admin.query(`DELETE FROM ${lines} WHERE order_id = 7 AND line = 2`);
    await collector.waitFor(8);
    assert.deepEqual(lateDeliveries, [], 'no batch reached its partition before Kafka acknowledged it');

    const userRecords = await readTopic(usersTopic);
    const userKeys = byKey(userRecords);
    assert.deepEqual([...userKeys.keys()].sort(), ['{"id":1}', '{"id":2}']);
    const ann = userKeys.get('{"id":1}') ?? [];
    assert.deepEqual(
      ann.map((r) => r.value?.op ?? 'tombstone'),
      ['r', 'd', 'tombstone'],
      'snapshot read, delete, then a tombstone for compaction',
    );
    assert.deepEqual(ann[0].value?.after, { id: 1, name: 'ann', country: 'FR' });
    assert.deepEqual(ann[1].value?.before, { id: 1, name: null, country: null });
    assert.equal(ann[1].value?.after, null);
    const bob = userKeys.get('{"id":2}') ?? [];
    assert.deepEqual(
      bob.map((r) => r.value?.op),
      ['c', 'u'],
    );
    const [created, updated] = bob.map((r) => r.value as Envelope);
    assert.deepEqual(created.after, { id: 2, name: 'bob', country: 'DE' });
    assert.deepEqual(updated.after, { id: 2, name: 'bobby', country: 'DE' });
    assert.equal(created.before, null);
    for (const event of [created, updated]) {
      assert.equal(event.source.connector, 'postgresql');
      assert.equal(event.source.name, prefix);
      assert.equal(event.source.db, 'sluice_test');
      assert.equal(event.source.schema, 'public');
      assert.equal(event.source.table, users);
      assert.equal(typeof event.source.lsn, 'number');
      assert.equal(typeof event.source.txId, 'number');
      assert.equal(typeof event.ts_ms, 'number');
      assert.ok(!('_key' in event) && !('_schemaVersion' in event), 'the key travels as the record key');
    }
    assert.ok(updated.source.lsn > created.source.lsn);
    assert.ok(userRecords.every((r) => r.headers[SCHEMA_VERSION_HEADER] === '1'));
    // Same key, same partition: Kafka's ordering per key is the table's ordering per row.
    assert.equal(new Set(bob.map((r) => r.partition)).size, 1);

    const lineRecords = await readTopic(linesTopic);
    const lineKeys = byKey(lineRecords);
    assert.deepEqual(
      [...lineKeys.keys()].sort(),
      ['{"order_id":7,"line":1}', '{"order_id":7,"line":2}'],
      'a composite key lists the key columns in key order',
    );
    assert.deepEqual(
      (lineKeys.get('{"order_id":7,"line":1}') ?? []).map((r) => [r.value?.op, r.value?.after?.qty]),
      [
        ['c', 3],
        ['u', 5],
      ],
    );
    assert.deepEqual(
      (lineKeys.get('{"order_id":7,"line":2}') ?? []).map((r) => r.value?.op ?? 'tombstone'),
      ['c', 'd', 'tombstone'],
    );
    const [first, second] = (lineKeys.get('{"order_id":7,"line":1}') ?? []).map((r) => r.value as Envelope);
    const sibling = (lineKeys.get('{"order_id":7,"line":2}') ?? [])[0].value as Envelope;
    assert.equal(first.source.txId, sibling.source.txId, 'one transaction, one txId');
    assert.notEqual(first.source.txId, second.source.txId);

    // What the partitions got is exactly what was published, in the same order per table.
    for (const [partition, records] of [
      [0, userRecords],
      [1, lineRecords],
    ] as const) {
      const delivered = collector.received
        .filter((r) => r.partition === partition)
        .map((r) => withoutSluiceFields(r.event));
      const published = records.filter((r) => r.value !== null).map((r) => r.value);
      assert.deepEqual(
        new Set(published.map((event) => JSON.stringify(event))),
        new Set(delivered.map((event) => JSON.stringify(event))),
      );
      assert.equal(published.length, delivered.length);
    }
    assert.deepEqual(fatal, []);
  });

  it('with topics: existing, a missing topic stops the start with its name', async () => {
    const other = cdcNames('cdc_pub_missing');
    const table = `${other.base}_t`;
    await admin.query(`CREATE TABLE ${table} (id integer PRIMARY KEY)`);
    try {
      const config = cdcConfig(other, [table], {
        topicPrefix: other.base,
        publish: {
          type: 'kafka',
          brokers: kafkaBrokers,
          topics: 'existing',
          partitions: 1,
          tombstones: true,
        },
      });
      await assert.rejects(startCollecting(config, new Collector()), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'SLUICE_ERR_KAFKA_TOPIC_MISSING');
        assert.match(error.message, new RegExp(`${other.base}\\.public\\.${table}`));
        return true;
      });
    } finally {
      await dropCdcObjects(admin, other, [table]);
    }
  });
});
