import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TopologyError, type TopologyProblem } from '../../../runtime/errors.ts';
import { parseTopology } from '../../../runtime/topology/load-topology.ts';

/** A valid topology with a lookup table; tests swap one line to introduce one problem. */
const VALID = `name: shop
sources:
  db:
    type: cdc
    connection: postgres://sluice@127.0.0.1:5432/shop
    slot: shop
    publication: shop
    tables: [public.users]
  payments:
    type: generator
    key: user_id
    count: 10
tables:
  users: { from: db, table: public.users, key: id }
windows:
  spend:
    from: payments
    enrich:
      - table: users
        on: user_id
        fields: [country]
        onMissing: dead-letter
    window: { type: tumbling, size: 1m }
    groupBy: [country]
    aggregate:
      amount: sum(amount)
    to: [out]
sinks:
  out: { type: console }
  dlq: { type: console }
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

describe('lookup tables and enrich steps in the topology', () => {
  it('accepts a table and an enrich step, with the table name qualified and fields as pairs', () => {
    const topology = parseTopology(VALID, 'topo.yaml');
    assert.deepEqual(topology.tables.users, { from: 'db', table: 'public.users', key: 'id' });
    assert.deepEqual(topology.windows.spend.enrich, [
      {
        table: 'users',
        on: 'user_id',
        fields: [{ field: 'country', column: 'country' }],
        onMissing: 'dead-letter',
      },
    ]);
  });

  it('reads a fields map as event field → column, and defaults onMissing to keep', () => {
    const topology = parseTopology(
      VALID.replace('fields: [country]', 'fields: { user_country: country }').replace(
        '        onMissing: dead-letter\n',
        '',
      ),
      'topo.yaml',
    );
    assert.deepEqual(topology.windows.spend.enrich?.[0], {
      table: 'users',
      on: 'user_id',
      fields: [{ field: 'user_country', column: 'country' }],
      onMissing: 'keep',
    });
  });

  it('accepts an enrich step on a stream, fields absent (resolved at start)', () => {
    const text = `${VALID}streams:\n  enriched: { from: payments, enrich: [{ table: users, on: user_id }], to: [out] }\n`;
    const topology = parseTopology(text, 'topo.yaml');
    assert.deepEqual(topology.streams.enriched.enrich, [
      { table: 'users', on: 'user_id', onMissing: 'keep' },
    ]);
  });

  it('rejects an enrich step naming an unknown table, with its path and line', () => {
    const problem = onlyProblem(VALID.replace('      - table: users', '      - table: customers'));
    assert.equal(problem.path, 'windows.spend.enrich.0.table');
    assert.match(problem.message, /expected the name of a table, got 'customers'; tables are users/);
    assert.equal(problem.line, 19);
  });

  it('rejects a table whose source is not a cdc source', () => {
    const problem = onlyProblem(VALID.replace('{ from: db, table', '{ from: payments, table'));
    assert.equal(problem.path, 'tables.users.from');
    assert.match(problem.message, /expected the name of a cdc source, got 'payments', a generator source/);
    assert.equal(problem.line, 14);
  });

  it('rejects a table whose source does not exist', () => {
    const problem = onlyProblem(VALID.replace('{ from: db, table', '{ from: shopdb, table'));
    assert.equal(problem.path, 'tables.users.from');
    assert.match(problem.message, /cdc sources are db/);
  });

  it('rejects a table the cdc source does not capture, naming the ones it does', () => {
    const problem = onlyProblem(VALID.replace('table: public.users, key', 'table: public.accounts, key'));
    assert.equal(problem.path, 'tables.users.table');
    assert.match(problem.message, /one of the tables of source db \(public\.users\), got 'public\.accounts'/);
  });

  it('matches an unqualified table name against the public schema', () => {
    assert.equal(
      parseTopology(VALID.replace('table: public.users, key', 'table: users, key'), 't.yaml').tables.users
        .table,
      'public.users',
    );
  });

  it('rejects an unknown onMissing policy and a dotted output field', () => {
    const policy = onlyProblem(VALID.replace('onMissing: dead-letter', 'onMissing: ignore'));
    assert.equal(policy.path, 'windows.spend.enrich.0.onMissing');
    assert.match(policy.message, /'drop', 'keep', 'dead-letter'/);
    const field = problemsOf(VALID.replace('fields: [country]', "fields: { 'user.country': country }"));
    assert.ok(
      field.some((problem) => problem.path.startsWith('windows.spend.enrich.0.fields')),
      JSON.stringify(field),
    );
  });

  it('rejects an unknown field in an enrich step and lists the known ones', () => {
    const problem = onlyProblem(
      VALID.replace('        on: user_id', '        on: user_id\n        as: user'),
    );
    assert.equal(problem.path, 'windows.spend.enrich.0.as');
    assert.match(problem.message, /table, on, fields, onMissing/);
  });
});
