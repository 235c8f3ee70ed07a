import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import { parseTopology } from '../../../runtime/topology/load-topology.ts';
import { topologyJsonSchema } from '../../../runtime/topology/topology-schema.ts';

const MINIMAL = `name: bench
sources:
  gen: { type: generator }
streams:
  all: { from: gen, to: [drop] }
sinks:
  drop: { type: null }
`;

describe('topology defaults and normalization', () => {
  it('fills every default of a minimal topology', () => {
    const topology = parseTopology(MINIMAL, '/tmp/t.yaml');
    assert.equal(topology.workers, availableParallelism());
    assert.equal(topology.admin, undefined);
    assert.equal(topology.status, false);
    assert.deepEqual(topology.shutdown, { timeoutMs: 30_000 });
    assert.deepEqual(topology.supervision, { maxRestarts: 5, withinMs: 60_000 });
    assert.deepEqual(topology.mailbox, { capacity: 64 });
    assert.deepEqual(topology.batch, { size: 1000 });
    assert.deepEqual(topology.windows, {});
    assert.equal(topology.deadLetter, undefined);
  });

  it('gives a generator source its documented defaults', () => {
    assert.deepEqual(parseTopology(MINIMAL, '/tmp/t.yaml').sources.gen, {
      type: 'generator',
      key: 'user_id',
      keys: 1000,
      skew: 0,
      rate: 0,
      outOfOrder: 0,
      late: 0,
      seed: 1,
      partitions: 1,
      time: { field: 'ts', maxOutOfOrderMs: 0 },
    });
  });

  it('reads an unquoted `type: null` as the null sink', () => {
    assert.deepEqual(parseTopology(MINIMAL, '/tmp/t.yaml').sinks.drop, { type: 'null' });
  });

  it('converts every duration field to milliseconds under an Ms name', () => {
    const text = `${MINIMAL}shutdown: { timeout: 2s }
supervision: { maxRestarts: 0, within: 1h }
admin: { port: 0 }
windows:
  hop:
    from: gen
    window: { type: hopping, size: 10s, slide: 2500ms, allowedLateness: 1d }
    groupBy: [user_id]
    aggregate: { n: count() }
    to: [drop]
  sess:
    from: gen
    window: { type: session, gap: 30000 }
    groupBy: [user_id, page]
    aggregate: { first_page: first(page), last_page: last(page), avg: avg(x.y) }
    to: [drop]
`.replace(
      'gen: { type: generator }',
      'gen: { type: generator, time: { maxOutOfOrder: 1m, idleTimeout: 5s } }',
    );
    const topology = parseTopology(text, '/tmp/t.yaml');
    assert.deepEqual(topology.shutdown, { timeoutMs: 2000 });
    assert.deepEqual(topology.supervision, { maxRestarts: 0, withinMs: 3_600_000 });
    assert.deepEqual(topology.admin, { port: 0, host: '127.0.0.1' });
    assert.deepEqual(topology.sources.gen.time, {
      field: 'ts',
      maxOutOfOrderMs: 60_000,
      idleTimeoutMs: 5000,
    });
    assert.deepEqual(topology.windows.hop.window, {
      type: 'hopping',
      sizeMs: 10_000,
      slideMs: 2500,
      allowedLatenessMs: 86_400_000,
    });
    assert.deepEqual(topology.windows.sess.window, { type: 'session', gapMs: 30_000, allowedLatenessMs: 0 });
    assert.deepEqual(
      topology.windows.sess.aggregate.map((aggregate) => aggregate.name),
      ['first_page', 'last_page', 'avg'],
    );
    assert.deepEqual(topology.windows.sess.aggregate[2], { name: 'avg', fn: 'avg', field: 'x.y' });
  });

  it('takes a generator start time as ms or ISO-8601 and outputs startTimeMs', () => {
    const iso = parseTopology(
      MINIMAL.replace('type: generator', 'type: generator, startTime: "2024-01-01T00:00:00Z"'),
      't',
    );
    assert.equal(iso.sources.gen.type === 'generator' && iso.sources.gen.startTimeMs, Date.UTC(2024, 0, 1));
    const ms = parseTopology(MINIMAL.replace('type: generator', 'type: generator, startTime: 1000'), 't');
    assert.equal(ms.sources.gen.type === 'generator' && ms.sources.gen.startTimeMs, 1000);
  });

  it('refuses fractions outside 0..1 and a negative rate for a generator', () => {
    assert.throws(
      () => parseTopology(MINIMAL.replace('type: generator', 'type: generator, late: 1.5, rate: -1'), 't'),
      /sources\.gen\.late .*\n.*sources\.gen\.rate/,
    );
  });
});

describe('topologyJsonSchema', () => {
  it('describes the input form with descriptions, strict objects and duration patterns', () => {
    const schema = topologyJsonSchema() as {
      $schema: string;
      required: string[];
      additionalProperties: boolean;
      properties: Record<string, { description?: string }>;
    };
    assert.match(schema.$schema, /2020-12/);
    assert.deepEqual(schema.required.sort(), ['name', 'sinks', 'sources']);
    assert.equal(schema.additionalProperties, false);
    for (const [field, property] of Object.entries(schema.properties)) {
      assert.ok(property.description, `top-level field ${field} has a description`);
    }
    const text = JSON.stringify(schema);
    assert.ok(text.includes('(ms|s|m|h|d)'), 'durations carry their pattern');
    assert.ok(text.includes('"tumbling"') && text.includes('"generator"') && text.includes('"console"'));
    assert.ok(!text.includes('sizeMs'), 'the schema shows what users write, not the loaded form');
  });
});
