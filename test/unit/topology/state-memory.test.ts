import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TopologyError } from '../../../runtime/errors.ts';
import { parseTopology } from '../../../runtime/topology/load-topology.ts';

function topology(state: string): string {
  return `name: clicks
${state}
sources:
  events: { type: generator, key: user_id, time: { field: ts } }
windows:
  per_user:
    from: events
    window: { type: tumbling, size: 1m }
    groupBy: [user_id]
    aggregate: { events: count() }
    to: [out]
sinks:
  out: { type: console }
`;
}

function problem(text: string): { path: string; line?: number; message: string } {
  try {
    parseTopology(text, 'topo.yaml');
  } catch (error) {
    assert.ok(error instanceof TopologyError);
    assert.equal(error.problems.length, 1);
    return error.problems[0];
  }
  assert.fail('the topology was accepted');
}

describe('state.memory', () => {
  it('defaults to 512MiB per process and reads binary sizes or whole bytes', () => {
    assert.equal(parseTopology(topology(''), 'topo.yaml').state.memory, 512 * 1024 * 1024);
    assert.equal(parseTopology(topology('state: { memory: 64KiB }'), 'topo.yaml').state.memory, 65_536);
    assert.equal(parseTopology(topology('state: { memory: 1048576 }'), 'topo.yaml').state.memory, 1_048_576);
  });

  it('refuses zero and what is not a size, at state.memory with its line', () => {
    const zero = problem(topology('state: { memory: 0 }'));
    assert.equal(zero.path, 'state.memory');
    assert.equal(zero.line, 2);
    assert.match(zero.message, /greater than zero/);
    const words = problem(topology('state: { memory: lots }'));
    assert.equal(words.path, 'state.memory');
    assert.match(words.message, /a size such as 1KiB, 8MiB or 512MiB/);
  });
});
