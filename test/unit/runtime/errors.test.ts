import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CliArgumentError,
  isUsageError,
  RUNTIME_ERRORS,
  runtimeError,
  SluiceError,
  TopologyError,
  TopologyFileUnreadableError,
  UnknownCommandError,
} from '../../../runtime/errors.ts';

describe('runtime error catalogue', () => {
  it('gives every catalogue code the SLUICE_ERR_ prefix', () => {
    for (const code of Object.keys(RUNTIME_ERRORS)) assert.match(code, /^SLUICE_ERR_[A-Z_]+$/);
  });

  it('builds a SluiceError from a code and its template arguments', () => {
    const cause = new Error('EIO');
    const error = runtimeError('SLUICE_ERR_ACTOR_FAILED', ['sink:out', 'disk full'], cause);
    assert.ok(error instanceof SluiceError);
    assert.equal(error.code, 'SLUICE_ERR_ACTOR_FAILED');
    assert.equal(error.retriable, false);
    assert.equal(error.message, 'actor sink:out failed: disk full');
    assert.equal(error.cause, cause);
  });

  it('lists every topology problem on its own line with file, line, column and path', () => {
    const error = new TopologyError('t.yaml', [
      { path: 'workers', expected: 'an integer', message: 'expected an integer', line: 2, column: 10 },
      { path: 'sinks', expected: 'an object', message: 'expected an object' },
    ]);
    assert.equal(error.code, 'SLUICE_ERR_TOPOLOGY_INVALID');
    assert.equal(
      error.message,
      't.yaml:2:10  workers  expected an integer\nt.yaml  sinks  expected an object',
    );
    assert.equal(error.summary, 'topology t.yaml has 2 problems');
    assert.ok(error instanceof SluiceError);
  });

  it('names the errno code of an unreadable topology file', () => {
    const cause = Object.assign(new Error('nope'), { code: 'ENOENT' });
    const error = new TopologyFileUnreadableError('/x.yaml', cause);
    assert.equal(error.message, 'cannot read topology /x.yaml: ENOENT');
    assert.equal(error.code, 'SLUICE_ERR_TOPOLOGY_UNREADABLE');
  });

  it('treats unknown commands and bad arguments as usage errors and nothing else', () => {
    assert.ok(isUsageError(new UnknownCommandError('strat', ['start'])));
    assert.ok(isUsageError(new CliArgumentError('validate', 'missing <topology>')));
    assert.ok(!isUsageError(new SluiceError('SLUICE_ERR_X', 'x')));
    assert.equal(new UnknownCommandError('strat', ['start', 'schema']).name, 'UnknownCommandError');
  });
});
