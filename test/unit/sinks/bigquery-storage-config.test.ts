import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { partitionPlan } from '../../../actors/job/partition-plans.ts';
import { sinkActorSpec } from '../../../actors/sinks/sink-factories.ts';
import { parseTopology } from '../../../runtime/topology/load-topology.ts';

function topology(sink: string): string {
  return `name: t
state: { dir: /tmp/sluice-bq-config-state }
sources:
  events: { type: generator, time: { field: ts } }
windows:
  per_user:
    from: events
    window: { type: tumbling, size: 10s }
    groupBy: [user_id]
    aggregate: { events: count() }
    to: [warehouse]
sinks:
  warehouse: ${sink}
`;
}

const base = 'type: bigquery, projectId: p, dataset: d, table: t';

describe('bigquery sink api option', () => {
  it('defaults to insertAll: a batching sink, not one of the partitions two-phase sinks', () => {
    const loaded = parseTopology(topology(`{ ${base} }`), 't.yaml');
    assert.equal((loaded.sinks.warehouse as { api: string }).api, 'insertAll');
    assert.deepEqual(partitionPlan(loaded, 'events', 0).checkpoint.twoPhaseSinks, []);
  });

  it('storage-write makes the sink a two-phase sink whose stream records live under state.dir', () => {
    const loaded = parseTopology(
      topology(`{ ${base}, api: storage-write, storageEndpoint: "127.0.0.1:9060", insecure: true }`),
      't.yaml',
    );
    assert.deepEqual(partitionPlan(loaded, 'events', 0).checkpoint.twoPhaseSinks, ['warehouse']);
    const spec = sinkActorSpec('warehouse', loaded.sinks.warehouse!, loaded);
    const config = spec.config as { storageEndpoint: string; insecure: boolean; stateDir: string };
    assert.equal(config.storageEndpoint, '127.0.0.1:9060');
    assert.equal(config.insecure, true);
    assert.equal(config.stateDir, loaded.state.dir);
  });

  it('rejects an unknown api and a storage endpoint that is not host:port, naming the field', () => {
    assert.throws(
      () => parseTopology(topology(`{ ${base}, api: streaming }`), 't.yaml'),
      /sinks\.warehouse\.api.*insertAll or storage-write/s,
    );
    assert.throws(
      () =>
        parseTopology(
          topology(`{ ${base}, api: storage-write, storageEndpoint: "http://127.0.0.1:9060" }`),
          't.yaml',
        ),
      /sinks\.warehouse\.storageEndpoint.*host:port/s,
    );
  });
});
