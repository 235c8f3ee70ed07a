import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCommandArgs, wantsHelp } from '../../../runtime/cli/args.ts';
import { CliArgumentError } from '../../../runtime/errors.ts';

describe('parseCommandArgs', () => {
  it('names required positionals and collects the rest', () => {
    const args = parseCommandArgs('validate', ['a.yaml', 'b.yaml', 'c.yaml'], {
      required: ['topology'],
      rest: 'more',
    });
    assert.deepEqual(args.positionals, { topology: 'a.yaml' });
    assert.deepEqual(args.rest, ['b.yaml', 'c.yaml']);
  });

  it('reads declared options, long and short', () => {
    const spec = { required: ['topology'], options: { json: { type: 'boolean' as const, short: 'j' } } };
    assert.equal(parseCommandArgs('x', ['t.yaml', '-j'], spec).options.json, true);
    assert.equal(parseCommandArgs('x', ['--json', 't.yaml'], spec).options.json, true);
  });

  it('refuses a missing positional, naming it', () => {
    assert.throws(
      () => parseCommandArgs('start', [], { required: ['topology'] }),
      (error: unknown) => error instanceof CliArgumentError && error.message === 'start: missing <topology>',
    );
  });

  it('refuses an extra positional when the command takes none', () => {
    assert.throws(() => parseCommandArgs('schema', ['x'], {}), /schema: unexpected argument 'x'/);
  });

  it('refuses an unknown option with a one-line reason', () => {
    assert.throws(
      () => parseCommandArgs('schema', ['--colour'], {}),
      (error: unknown) =>
        error instanceof CliArgumentError &&
        /Unknown option '--colour'/.test(error.message) &&
        !error.message.includes('\n'),
    );
  });
});

describe('wantsHelp', () => {
  it('finds --help or -h anywhere before --', () => {
    assert.ok(wantsHelp(['t.yaml', '--help']));
    assert.ok(wantsHelp(['-h']));
    assert.ok(!wantsHelp(['t.yaml']));
    assert.ok(!wantsHelp(['--', '-h']));
  });
});
