import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requireWindowRowShape, windowRowShape } from '../../../actors/sinks/batching-row-shape.ts';
import { sinkActorSpec } from '../../../actors/sinks/sink-factories.ts';
import { parseTopology } from '../../../runtime/topology/load-topology.ts';

function topology(sinks: string, extraWindow = '', deadLetter = ''): string {
  return `name: t
sources:
  events: { type: generator, time: { field: ts } }
windows:
  per_user:
    from: events
    window: { type: tumbling, size: 10s }
    groupBy: [user_id]
    aggregate: { events: count(), amount: sum(amount) }
    to: [analytics]
${extraWindow}
sinks:
${sinks}
  dlq: { type: file, path: ./dlq.jsonl }
${deadLetter}`;
}

const clickhouse =
  '  analytics: { type: clickhouse, url: "http://127.0.0.1:8123", table: clicks, create: true }';

describe('sink topology', () => {
  it('reads a clickhouse sink with its batching defaults and units', () => {
    const loaded = parseTopology(
      topology(`${clickhouse.slice(0, -2)}, batch: { rows: 100, bytes: 1MiB, interval: 250ms } }`),
      't.yaml',
    );
    assert.deepEqual(loaded.sinks.analytics, {
      type: 'clickhouse',
      url: 'http://127.0.0.1:8123',
      database: 'default',
      table: 'clicks',
      create: true,
      schema: 'strict',
      batch: { rows: 100, bytes: 1024 * 1024, intervalMs: 250 },
    });
  });

  it('rejects a clickhouse sink without a table, naming the field', () => {
    assert.throws(
      () =>
        parseTopology(topology('  analytics: { type: clickhouse, url: "http://127.0.0.1:8123" }'), 't.yaml'),
      /sinks\.analytics\.table/,
    );
  });

  it('gives the clickhouse sink the window shape and the dead-letter sink', () => {
    const loaded = parseTopology(topology(clickhouse, '', 'deadLetter: dlq'), 't.yaml');
    const { config } = sinkActorSpec('analytics', loaded.sinks.analytics as never, loaded);
    const sinkConfig = config as { deadLetter: string; shape: { groupBy: string[] }; batch: object };
    assert.equal(sinkConfig.deadLetter, 'dlq');
    assert.deepEqual(sinkConfig.shape.groupBy, ['user_id']);
    assert.deepEqual(sinkConfig.batch, { rows: 50_000, bytes: 8 * 1024 * 1024, intervalMs: 500 });
  });

  it('refuses two windows of different shapes writing to one table', () => {
    const other = `  per_page:
    from: events
    window: { type: tumbling, size: 10s }
    groupBy: [page]
    aggregate: { events: count() }
    to: [analytics]`;
    const loaded = parseTopology(topology(clickhouse, other), 't.yaml');
    assert.throws(
      () => windowRowShape('analytics', loaded),
      /per_user and per_page write rows of different shapes/,
    );
  });

  it('refuses a table sink that receives raw events or dead letters', () => {
    const loaded = parseTopology(topology(clickhouse, '', 'deadLetter: analytics'), 't.yaml');
    assert.throws(() => requireWindowRowShape('analytics', loaded), /takes window rows only, but deadLetter/);
  });

  it('keys kafka records by the groupBy of the windows writing there unless key is given', () => {
    const kafka = '  analytics: { type: kafka, brokers: ["127.0.0.1:9092"], topic: out }';
    const loaded = parseTopology(topology(kafka), 't.yaml');
    const { config } = sinkActorSpec('analytics', loaded.sinks.analytics as never, loaded);
    assert.deepEqual((config as { keyFields: string[] }).keyFields, ['user_id']);
    const keyed = parseTopology(topology(`${kafka.slice(0, -2)}, key: [amount] }`), 't.yaml');
    const spec = sinkActorSpec('analytics', keyed.sinks.analytics as never, keyed);
    assert.deepEqual((spec.config as { keyFields: string[] }).keyFields, ['amount']);
  });
});
