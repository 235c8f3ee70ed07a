import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { importCommand } from '../../../runtime/cli/main.ts';
import { SluiceError } from '../../../runtime/errors.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = join(root, 'runtime/cli/bin.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function sluice(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: root, env: { ...process.env, SLUICE_DEBUG: '', ...env } },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: unknown }).code ?? 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line.length > 0);
}

describe('sluice CLI', () => {
  let dir: string;
  let broken: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-cli-'));
    broken = join(dir, 'broken.yaml');
    const example = await readFile(join(root, 'examples/clicks-file.yaml'), 'utf8');
    await writeFile(
      broken,
      example.replace('from: events', 'from: evnts').replace('size: 1m', 'size: 1 minute'),
    );
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('validate prints ok with counts and exits 0 for the example', async () => {
    const run = await sluice(['validate', 'examples/clicks-file.yaml']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'ok: clicks — 1 source, 1 window, 3 sinks\n');
  });

  it('validate lists every problem as file:line:col, path, reason and exits 1', async () => {
    const run = await sluice(['validate', broken]);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.deepEqual(lines(run.stderr), [
      `${broken}:12:11  windows.per_user.from  expected the name of a source, got 'evnts'; sources are events`,
      `${broken}:13:37  windows.per_user.window.size  expected a duration such as 500ms, 5s, 1m, 1h or 1d, or a whole number of milliseconds, got "1 minute"`,
      `topology ${broken} has 2 problems`,
    ]);
  });

  it('validate names an unreadable file in one line and exits 1', async () => {
    const run = await sluice(['validate', 'no/such/file.yaml']);
    assert.equal(run.code, 1);
    assert.equal(run.stderr, 'sluice: cannot read topology no/such/file.yaml: ENOENT\n');
  });

  it('schema prints a JSON Schema that parses', async () => {
    const run = await sluice(['schema']);
    assert.equal(run.code, 0, run.stderr);
    const schema = JSON.parse(run.stdout) as { $schema: string; properties: Record<string, unknown> };
    assert.match(schema.$schema, /json-schema\.org/);
    assert.ok('sources' in schema.properties && 'windows' in schema.properties);
  });

  it('--help lists every command and exits 0', async () => {
    const run = await sluice(['--help']);
    assert.equal(run.code, 0);
    for (const name of ['start', 'validate', 'schema'])
      assert.match(run.stdout, new RegExp(`^  ${name} `, 'm'));
  });

  it('--help after a command prints that command usage', async () => {
    const validate = await sluice(['validate', '--help']);
    assert.equal(validate.code, 0);
    assert.match(validate.stdout, /^Usage: sluice validate <topology.yaml>/);
    const schema = await sluice(['schema', '-h']);
    assert.match(schema.stdout, /^Usage: sluice schema/);
  });

  it('no command prints usage to stderr and exits 2', async () => {
    const run = await sluice([]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^Usage: sluice <command>/);
  });

  it('an unknown command gives one line of reason and exit code 2', async () => {
    const run = await sluice(['strat', 'x.yaml']);
    assert.equal(run.code, 2);
    assert.equal(
      run.stderr,
      "sluice: unknown command 'strat'; commands are start, validate, schema, produce, checkpoints, bench (see 'sluice --help')\n",
    );
  });

  it('a bad argument gives one line of reason, no stack, and exit code 2', async () => {
    const run = await sluice(['validate', '--strict', 'x.yaml']);
    assert.equal(run.code, 2);
    assert.equal(lines(run.stderr).length, 1);
    assert.match(run.stderr, /^sluice: validate: Unknown option '--strict' \(see 'sluice validate --help'\)/);
  });

  it('prints the stack trace only when SLUICE_DEBUG=1', async () => {
    const debug = await sluice(['validate'], { SLUICE_DEBUG: '1' });
    assert.equal(debug.code, 2);
    assert.match(debug.stderr, /CliArgumentError[\s\S]*\n {4}at /);
  });
});

describe('importCommand', () => {
  it('turns a missing command module into a one-line SluiceError', async () => {
    const url = new URL('./no-such-command.ts', import.meta.url);
    await assert.rejects(importCommand('ghost', url), (error: unknown) => {
      assert.ok(error instanceof SluiceError);
      assert.equal(error.code, 'SLUICE_ERR_CLI_COMMAND_UNAVAILABLE');
      assert.equal(error.message, "command 'ghost' is not available in this build");
      return true;
    });
  });

  it('loads an existing command module with its summary, usage and run', async () => {
    const command = await importCommand(
      'schema',
      new URL('../../../runtime/cli/commands/schema.ts', import.meta.url),
    );
    assert.equal(typeof command.summary, 'string');
    assert.equal(typeof command.run, 'function');
  });
});
