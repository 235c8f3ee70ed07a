import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TopologyError } from '../../../../runtime/errors.ts';
import { parseTopology } from '../../../../runtime/topology/load-topology.ts';

const topology = (source: string) => `name: shop
sources:
  db:
${source}
streams:
  changes: { from: db, to: [out] }
sinks:
  out: { type: console }
`;

const VALID = `    type: cdc
    connection: postgres://sluice@127.0.0.1:5432/shop
    slot: sluice_shop
    publication: sluice_shop
    tables: [public.users, transactions]`;

describe('the cdc source in a topology', () => {
  it('has one partition per table and Debezium defaults', () => {
    const source = parseTopology(topology(VALID), 'topo.yaml').sources.db;
    assert.equal(source.type, 'cdc');
    if (source.type !== 'cdc') return;
    assert.equal(source.partitions, 2);
    assert.equal(source.snapshot, 'initial');
    assert.equal(source.envelope, 'debezium');
    assert.equal(source.topicPrefix, 'sluice_shop');
    assert.equal(source.key, '_key');
    assert.equal(source.time.field, 'source.ts_ms');
    assert.equal(source.heartbeatMs, 10_000);
    assert.equal(source.reconnectTimeoutMs, 60_000);
  });

  it('rejects a bad slot name and an empty table list with the path of the field', () => {
    const bad = VALID.replace('slot: sluice_shop', 'slot: Bad-Slot').replace(
      'tables: [public.users, transactions]',
      'tables: []',
    );
    assert.throws(
      () => parseTopology(topology(bad), 'topo.yaml'),
      (error: unknown) => {
        assert.ok(error instanceof TopologyError);
        const paths = error.problems.map((problem) => problem.path);
        assert.ok(paths.includes('sources.db.slot'), JSON.stringify(paths));
        assert.ok(paths.includes('sources.db.tables'), JSON.stringify(paths));
        return true;
      },
    );
  });

  it('publishes to Kafka with Debezium defaults: existing topics, tombstones on', () => {
    const text = topology(`${VALID}
    publish: { type: kafka, brokers: [127.0.0.1:9092] }`);
    const source = parseTopology(text, 'topo.yaml').sources.db;
    if (source.type !== 'cdc') return assert.fail('not a cdc source');
    assert.deepEqual(source.publish, {
      type: 'kafka',
      brokers: ['127.0.0.1:9092'],
      topics: 'existing',
      partitions: 1,
      tombstones: true,
    });
  });

  it('a source that publishes needs no window or stream', () => {
    const text = `name: shop
sources:
  db:
${VALID}
    publish: { type: kafka, brokers: [127.0.0.1:9092], topics: create, partitions: 3 }
sinks: {}
`;
    const source = parseTopology(text, 'topo.yaml').sources.db;
    if (source.type !== 'cdc') return assert.fail('not a cdc source');
    assert.equal(source.publish?.topics, 'create');
    assert.equal(source.publish?.partitions, 3);
    assert.throws(
      () => parseTopology(text.replace(/\n {4}publish:.*\n/, '\n'), 'topo.yaml'),
      (error: unknown) =>
        error instanceof TopologyError && error.problems.some((problem) => problem.path === 'windows'),
    );
  });

  it('rejects bad publish fields and a topic prefix Kafka cannot name, with their paths', () => {
    const text = topology(`${VALID}
    topicPrefix: shop/eu
    publish: { type: kafka, brokers: [], topics: maybe, partitions: 0, acks: 1 }`);
    assert.throws(
      () => parseTopology(text, 'topo.yaml'),
      (error: unknown) => {
        assert.ok(error instanceof TopologyError);
        const paths = error.problems.map((problem) => problem.path);
        for (const path of [
          'sources.db.topicPrefix',
          'sources.db.publish.brokers',
          'sources.db.publish.topics',
          'sources.db.publish.partitions',
          'sources.db.publish.acks',
        ]) {
          assert.ok(paths.includes(path), `${path} in ${JSON.stringify(paths)}`);
        }
        return true;
      },
    );
  });
});
