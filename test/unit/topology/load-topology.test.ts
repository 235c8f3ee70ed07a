import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TopologyError, TopologyFileUnreadableError, type TopologyProblem } from '../../../runtime/errors.ts';
import { loadTopology, parseTopology } from '../../../runtime/topology/load-topology.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** A valid topology; tests swap one line to introduce one problem. */
const VALID = `name: clicks
sources:
  events:
    type: file
    path: ./events.jsonl
    key: user_id
    time: { field: ts, maxOutOfOrder: 5s }
windows:
  per_user:
    from: events
    window: { type: tumbling, size: 1m }
    groupBy: [user_id]
    aggregate:
      events: count()
      amount: sum(amount)
    to: [out]
    late: late
sinks:
  out: { type: file, path: ./out.jsonl }
  late: { type: console }
  dlq: { type: 'null' }
deadLetter: dlq
`;

function problemsOf(text: string): TopologyProblem[] {
  try {
    parseTopology(text, 'topo.yaml');
  } catch (error) {
    assert.ok(error instanceof TopologyError, `expected a TopologyError, got ${error}`);
    return [...error.problems];
  }
  assert.fail('the topology was accepted');
}

function onlyProblem(text: string): TopologyProblem {
  const problems = problemsOf(text);
  assert.equal(problems.length, 1, problems.map((problem) => problem.message).join('\n'));
  return problems[0];
}

describe('topology validation', () => {
  it('accepts the valid base topology', () => {
    assert.equal(parseTopology(VALID, 'topo.yaml').name, 'clicks');
  });

  it('rejects an unknown field with its path, line and the known fields', () => {
    const problem = onlyProblem(VALID.replace('size: 1m }', 'size: 1m, allowedLatness: 5s }'));
    assert.equal(problem.path, 'windows.per_user.window.allowedLatness');
    assert.equal(problem.line, 11);
    assert.equal(problem.column, 41);
    assert.match(problem.message, /unknown field 'allowedLatness'.*type, size, allowedLateness/);
  });

  it('catches a misspelt top-level section', () => {
    const problems = problemsOf(VALID.replace('deadLetter: dlq', 'deadletter: dlq'));
    assert.deepEqual(
      problems.map((problem) => [problem.path, problem.line]),
      [['deadletter', 22]],
    );
  });

  it('rejects a value of the wrong type with what was expected and what was found', () => {
    const problem = onlyProblem(VALID.replace('name: clicks', 'name: clicks\nworkers: two'));
    assert.equal(problem.path, 'workers');
    assert.equal(problem.line, 2);
    assert.equal(problem.column, 10);
    assert.equal(problem.message, 'expected a whole number >= 1, got "two"');
  });

  it('rejects a bad duration at the duration field', () => {
    const problem = onlyProblem(VALID.replace('maxOutOfOrder: 5s', 'maxOutOfOrder: 5 seconds'));
    assert.equal(problem.path, 'sources.events.time.maxOutOfOrder');
    assert.equal(problem.line, 7);
    assert.match(problem.expected, /duration such as 500ms/);
  });

  it('rejects a zero window size', () => {
    const problem = onlyProblem(VALID.replace('size: 1m', 'size: 0s'));
    assert.equal(problem.path, 'windows.per_user.window.size');
    assert.equal(problem.line, 11);
  });

  it('rejects an aggregate expression that does not parse, at its output name', () => {
    const problem = onlyProblem(VALID.replace('sum(amount)', 'median(amount)'));
    assert.equal(problem.path, 'windows.per_user.aggregate.amount');
    assert.equal(problem.line, 15);
    assert.match(problem.message, /unknown function 'median'/);
  });

  it('rejects a from that names no source', () => {
    const problem = onlyProblem(VALID.replace('from: events', 'from: evnts'));
    assert.equal(problem.path, 'windows.per_user.from');
    assert.equal(problem.line, 10);
    assert.equal(problem.message, "expected the name of a source, got 'evnts'; sources are events");
  });

  it('rejects a to entry that names no sink, at its index', () => {
    const problem = onlyProblem(VALID.replace('to: [out]', 'to: [out, missing]'));
    assert.equal(problem.path, 'windows.per_user.to.1');
    assert.equal(problem.line, 16);
    assert.equal(problem.column, 15);
  });

  it('rejects a late output that names no sink', () => {
    const problem = onlyProblem(VALID.replace('late: late', 'late: later'));
    assert.equal(problem.path, 'windows.per_user.late');
    assert.equal(problem.line, 17);
  });

  it('rejects a deadLetter that names no sink', () => {
    const problem = onlyProblem(VALID.replace('deadLetter: dlq', 'deadLetter: dead'));
    assert.equal(problem.path, 'deadLetter');
    assert.equal(problem.line, 22);
    assert.match(problem.message, /sinks are out, late, dlq/);
  });

  it('reports a YAML syntax error with its line and column', () => {
    const problems = problemsOf(VALID.replace('groupBy: [user_id]', 'groupBy: [user_id]]'));
    assert.ok(problems.length >= 1);
    assert.equal(problems[0].path, '(yaml)');
    assert.equal(problems[0].line, 12);
    assert.equal(problems[0].column, 23);
    assert.match(problems[0].message, /^expected valid YAML: .*"\]"/);
  });

  it('reports a duplicated key as a YAML error', () => {
    const problem = onlyProblem(VALID.replace('name: clicks', 'name: clicks\nname: again'));
    assert.equal(problem.path, '(yaml)');
    assert.equal(problem.line, 2);
  });

  it('reports a missing required field at the object that lacks it', () => {
    const problem = onlyProblem(VALID.replace('    key: user_id\n', ''));
    assert.equal(problem.path, 'sources.events.key');
    assert.equal(problem.line, 4);
    assert.match(problem.message, /^missing; expected a field name/);
  });

  it('rejects a hopping slide longer than the size', () => {
    const problem = onlyProblem(
      VALID.replace('{ type: tumbling, size: 1m }', '{ type: hopping, size: 1m, slide: 2m }'),
    );
    assert.equal(problem.path, 'windows.per_user.window.slide');
    assert.equal(problem.line, 11);
    assert.match(problem.message, /slide no longer than size \(60000 ms\), got 120000 ms/);
  });

  it('rejects a hopping window without slide and a zero slide', () => {
    assert.equal(
      onlyProblem(VALID.replace('type: tumbling', 'type: hopping')).path,
      'windows.per_user.window.slide',
    );
    const zero = onlyProblem(
      VALID.replace('{ type: tumbling, size: 1m }', '{ type: hopping, size: 1m, slide: 0ms }'),
    );
    assert.equal(zero.path, 'windows.per_user.window.slide');
  });

  it('rejects an empty groupBy', () => {
    const problem = onlyProblem(VALID.replace('groupBy: [user_id]', 'groupBy: []'));
    assert.equal(problem.path, 'windows.per_user.groupBy');
    assert.equal(problem.line, 12);
  });

  it('rejects an unknown source or window type, naming the known ones', () => {
    const source = onlyProblem(VALID.replace('type: file\n', 'type: pigeon\n'));
    assert.equal(source.path, 'sources.events.type');
    assert.equal(source.line, 4);
    assert.match(source.message, /one of: file, generator, kafka\b.*got "pigeon"/);
    const window = onlyProblem(VALID.replace('type: tumbling', 'type: sliding'));
    assert.equal(window.path, 'windows.per_user.window.type');
  });

  it('reports every problem at once, in file order', () => {
    const text = VALID.replace('from: events', 'from: nowhere')
      .replace('sum(amount)', 'sum()')
      .replace('name: clicks', 'name: 9lives')
      .replace('deadLetter: dlq', 'deadLetter: gone');
    const problems = problemsOf(text);
    assert.deepEqual(
      problems.map((problem) => problem.path),
      ['name', 'windows.per_user.from', 'windows.per_user.aggregate.amount', 'deadLetter'],
    );
  });

  it('formats the message as file:line:col, path and reason, one problem per line', () => {
    try {
      parseTopology(VALID.replace('from: events', 'from: evnts'), 'topo.yaml');
      assert.fail('accepted');
    } catch (error) {
      assert.ok(error instanceof TopologyError);
      assert.equal(
        error.message,
        "topo.yaml:10:11  windows.per_user.from  expected the name of a source, got 'evnts'; sources are events",
      );
    }
  });

  it('rejects an empty file', () => {
    const problem = onlyProblem('');
    assert.equal(problem.path, '(topology)');
  });

  it('requires at least one window or stream', () => {
    const text = VALID.slice(0, VALID.indexOf('windows:')) + VALID.slice(VALID.indexOf('sinks:'));
    assert.equal(onlyProblem(text).path, 'windows');
  });
});

describe('loadTopology', () => {
  it('validates examples/clicks-file.yaml exactly as written', async () => {
    const topology = await loadTopology(join(root, 'examples/clicks-file.yaml'));
    assert.equal(topology.name, 'clicks');
    assert.equal(topology.workers, 2);
    assert.equal(topology.sourceFile, join(root, 'examples/clicks-file.yaml'));
    assert.deepEqual(topology.sources.events, {
      type: 'file',
      path: join(root, 'examples/data/events.jsonl'),
      format: 'json',
      key: 'user_id',
      time: { field: 'ts', maxOutOfOrderMs: 5000 },
      partitions: 1,
    });
    assert.deepEqual(topology.windows.per_user, {
      from: 'events',
      window: { type: 'tumbling', sizeMs: 60_000, allowedLatenessMs: 30_000 },
      groupBy: ['user_id'],
      aggregate: [
        { name: 'events', fn: 'count' },
        { name: 'amount', fn: 'sum', field: 'amount' },
        { name: 'max_amount', fn: 'max', field: 'amount' },
        { name: 'pages', fn: 'count_distinct', field: 'page' },
      ],
      to: ['out'],
      late: 'late',
    });
    assert.deepEqual(topology.sinks.dlq, { type: 'file', path: join(root, 'examples/out/dlq.jsonl') });
    assert.equal(topology.deadLetter, 'dlq');
  });

  it('throws TopologyFileUnreadableError for a missing file', async () => {
    await assert.rejects(loadTopology('/nonexistent/topology.yaml'), (error: unknown) => {
      assert.ok(error instanceof TopologyFileUnreadableError);
      assert.equal(error.message, 'cannot read topology /nonexistent/topology.yaml: ENOENT');
      return true;
    });
  });

  it('resolves relative paths against the topology file, not the working directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-topology-'));
    try {
      const file = join(dir, 'nested.yaml');
      await writeFile(
        file,
        VALID.replace(
          'windows:',
          'streams:\n  raw: { from: events, transform: ./t.ts, to: [out] }\nwindows:',
        ),
      );
      const topology = await loadTopology(file);
      assert.equal(
        topology.sources.events.type === 'file' && topology.sources.events.path,
        join(dir, 'events.jsonl'),
      );
      assert.equal(topology.streams.raw.transform, join(dir, 't.ts'));
      assert.deepEqual(topology.sinks.out, { type: 'file', path: join(dir, 'out.jsonl') });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
