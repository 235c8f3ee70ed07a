import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forwardedKafkaSource } from '../../../../actors/gateway/forwarded-source.ts';
import { partitionPlans, staticPartitionCount } from '../../../../actors/job/partition-plans.ts';
import { TopologyError } from '../../../../runtime/errors.ts';
import { parseTopology } from '../../../../runtime/topology/load-topology.ts';

const topology = (forward: string) => `name: live
sources:
  live:
    type: gateway
    port: 9100
    partitions: 4
    key: user_id
    time: { field: ts }
${forward}
windows:
  per_user:
    from: live
    window: { type: tumbling, size: 10s }
    groupBy: [user_id]
    aggregate: { events: count() }
    to: [out]
sinks:
  out: { type: file, path: ./out/rows.jsonl }
`;

const FORWARD = `    forward:
      type: kafka
      brokers: [127.0.0.1:9092]
      topic: live-events`;

describe('a gateway source with forward: kafka', () => {
  it('takes defaults: no topic creation, 10 s ack timeout, 1024 pending records', () => {
    const source = parseTopology(topology(FORWARD), 'topo.yaml').sources.live;
    if (source.type !== 'gateway') return assert.fail('not a gateway source');
    assert.deepEqual(source.forward, {
      type: 'kafka',
      brokers: ['127.0.0.1:9092'],
      topic: 'live-events',
      create: false,
      maxPending: 1024,
      ackTimeoutMs: 10_000,
      brokerTimeoutMs: 60_000,
      sessionTimeoutMs: 30_000,
    });
  });

  it('is read back by a kafka source of the same name: frames, a default group, partitions from the group', () => {
    const loaded = parseTopology(topology(`${FORWARD}\n      create: true`), 'topo.yaml');
    const source = loaded.sources.live;
    if (source.type !== 'gateway') return assert.fail('not a gateway source');
    const kafka = forwardedKafkaSource(loaded.name, 'live', source);
    assert.ok(kafka !== null);
    assert.equal(kafka.type, 'kafka');
    assert.equal(kafka.topic, 'live-events');
    assert.equal(kafka.group, 'sluice-live-live');
    assert.equal(kafka.format, 'frame');
    assert.equal(kafka.key, 'user_id');
    assert.equal(kafka.bounded, undefined);
    assert.equal(staticPartitionCount(source), null);
    assert.deepEqual(partitionPlans(loaded), [], 'partition actors are spawned when the group assigns them');
  });

  it('a gateway without forward keeps its own log partitions', () => {
    const loaded = parseTopology(topology(''), 'topo.yaml');
    const source = loaded.sources.live;
    if (source.type !== 'gateway') return assert.fail('not a gateway source');
    assert.equal(forwardedKafkaSource(loaded.name, 'live', source), null);
    assert.equal(staticPartitionCount(source), 4);
    assert.deepEqual(
      partitionPlans(loaded).map((plan) => plan.input),
      Array.from({ length: 4 }, () => ({ kind: 'pushed', format: 'json' })),
    );
  });

  it('rejects an unknown forward type, a missing topic and a bad pending limit with the path and line of each', () => {
    const bad = `    forward:
      type: pulsar
      brokers: [127.0.0.1:9092]
      maxPending: 0`;
    assert.throws(
      () => parseTopology(topology(bad), 'topo.yaml'),
      (error: unknown) => {
        assert.ok(error instanceof TopologyError);
        const problems = Object.fromEntries(error.problems.map((problem) => [problem.path, problem.line]));
        assert.equal(problems['sources.live.forward.type'], 10, JSON.stringify(error.problems));
        assert.ok('sources.live.forward.topic' in problems, JSON.stringify(error.problems));
        assert.equal(problems['sources.live.forward.maxPending'], 12, JSON.stringify(error.problems));
        return true;
      },
    );
  });
});
