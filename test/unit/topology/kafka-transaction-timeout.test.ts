import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TopologyError, type TopologyProblem } from '../../../runtime/errors.ts';
import { parseTopology } from '../../../runtime/topology/load-topology.ts';

function topology(checkpoint: string, sink: string): string {
  return `name: txn
${checkpoint}
sources:
  events:
    type: file
    path: ./events.jsonl
    key: user_id
    time: { field: ts }
windows:
  per_user:
    from: events
    window: { type: tumbling, size: 1m }
    groupBy: [user_id]
    aggregate: { events: count() }
    to: [out]
sinks:
  out: ${sink}
`;
}

function problemsOf(text: string): TopologyProblem[] {
  try {
    parseTopology(text, 'topo.yaml');
  } catch (error) {
    assert.ok(error instanceof TopologyError, `expected a TopologyError, got ${error}`);
    return [...error.problems];
  }
  return [];
}

const kafka = '{ type: kafka, brokers: [127.0.0.1:9092], topic: out, transactional: true';

describe('kafka sink transaction timeout', () => {
  it('accepts the defaults: 60s timeout ≥ 10s checkpoint interval + 30s allowance', () => {
    const parsed = parseTopology(topology('', `${kafka} }`), 'topo.yaml');
    const sink = parsed.sinks.out;
    assert.equal(sink.type, 'kafka');
    assert.equal(sink.type === 'kafka' && sink.transactional, true);
    assert.equal(sink.type === 'kafka' && sink.transactionTimeoutMs, 60_000);
  });

  it('rejects a timeout shorter than checkpoint.interval + 30s, naming the field and its line', () => {
    const problems = problemsOf(
      topology('checkpoint: { interval: 45s }', `${kafka}, transactionTimeout: 1m }`),
    );
    assert.equal(problems.length, 1, problems.map((problem) => problem.message).join('\n'));
    const [problem] = problems;
    assert.equal(problem.path, 'sinks.out.transactionTimeout');
    assert.equal(problem.line, 17);
    assert.match(problem.message, /at least 75000ms/);
    assert.match(problem.message, /got 60000ms/);
  });

  it('rejects the default timeout against a long checkpoint interval, pointing at transactional', () => {
    const problems = problemsOf(topology('checkpoint: { interval: 2m }', `${kafka} }`));
    assert.equal(problems.length, 1);
    assert.equal(problems[0].path, 'sinks.out.transactional');
    assert.match(problems[0].message, /got 60000ms \(the default\)/);
  });

  it('leaves non-transactional Kafka sinks alone, and accepts a raised timeout', () => {
    const plain = '{ type: kafka, brokers: [127.0.0.1:9092], topic: out, transactionTimeout: 1s }';
    assert.deepEqual(problemsOf(topology('checkpoint: { interval: 2m }', plain)), []);
    assert.deepEqual(
      problemsOf(topology('checkpoint: { interval: 2m }', `${kafka}, transactionTimeout: 3m }`)),
      [],
    );
  });
});
