import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  CliArgumentError,
  isUsageError,
  runtimeError,
  TopologyError,
  UnknownCommandError,
} from '../errors.ts';
import { wantsHelp } from './args.ts';

/**
 * The `sluice` command line: a table of commands, each a module in `./commands/`
 * exporting `summary`, `usage` and `run(argv)`. Modules are imported only when
 * needed, so a command whose dependencies are heavy (or not yet built) costs the
 * others nothing. `main` never throws: every failure becomes a one-line reason on
 * stderr and a non-zero exit code (2 for usage errors, 1 otherwise).
 */

/** What every module in `./commands/` exports. */
export interface Command {
  /** One line for the command list of `sluice --help`. */
  summary: string;
  /** Full help text shown for `sluice <command> --help`. */
  usage: string;
  /** Runs the command with the arguments after its name; resolves to the exit code. */
  run(argv: string[]): Promise<number>;
}

/** Command names in the order `--help` lists them. */
export const COMMAND_NAMES = ['start', 'validate', 'schema', 'produce', 'checkpoints', 'bench'] as const;

function commandUrl(name: string): URL {
  return new URL(`./commands/${name}.ts`, import.meta.url);
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === undefined) {
      process.stderr.write(`${await mainUsage()}\n`);
      return 2;
    }
    if (name === '--help' || name === '-h' || name === 'help') {
      if (rest[0] !== undefined && name === 'help') return await main([rest[0], '--help']);
      process.stdout.write(`${await mainUsage()}\n`);
      return 0;
    }
    if (name === '--version' || name === '-v') {
      process.stdout.write(`sluice ${packageVersion()}\n`);
      return 0;
    }
    if (!(COMMAND_NAMES as readonly string[]).includes(name))
      throw new UnknownCommandError(name, COMMAND_NAMES);
    const command = await loadCommand(name);
    if (wantsHelp(rest)) {
      process.stdout.write(`${command.usage}\n`);
      return 0;
    }
    return await command.run(rest);
  } catch (error) {
    return reportFailure(error);
  }
}

function loadCommand(name: string): Promise<Command> {
  return importCommand(name, commandUrl(name));
}

/** Imports a command module; a module that does not exist (yet) is a clear one-line error, not a stack. */
export async function importCommand(name: string, url: URL): Promise<Command> {
  try {
    return (await import(url.href)) as Command;
  } catch (error) {
    const missing =
      (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' &&
      (error as Error).message.includes(fileURLToPath(url));
    if (missing) {
      throw runtimeError('SLUICE_ERR_CLI_COMMAND_UNAVAILABLE', [name], error);
    }
    throw error;
  }
}

async function mainUsage(): Promise<string> {
  const width = Math.max(...COMMAND_NAMES.map((name) => name.length));
  const lines = await Promise.all(
    COMMAND_NAMES.map(async (name) => {
      const summary = await loadCommand(name).then(
        (command) => command.summary,
        (error: unknown) => `(unavailable: ${oneLine(error)})`,
      );
      return `  ${name.padEnd(width)}  ${summary}`;
    }),
  );
  return [
    'Usage: sluice <command> [arguments]',
    '',
    'Commands:',
    ...lines,
    '',
    'Options: -h, --help (also after a command), -v, --version',
    'Set SLUICE_DEBUG=1 to print stack traces of errors.',
  ].join('\n');
}

function reportFailure(error: unknown): number {
  if (error instanceof TopologyError) {
    process.stderr.write(`${error.message}\nsluice: ${error.summary}\n`);
  } else {
    const help = error instanceof CliArgumentError ? `sluice ${error.command} --help` : 'sluice --help';
    const hint = isUsageError(error) ? ` (see '${help}')` : '';
    process.stderr.write(`sluice: ${oneLine(error)}${hint}\n`);
  }
  if (process.env.SLUICE_DEBUG === '1' && error instanceof Error && error.stack) {
    process.stderr.write(`${error.stack}\n`);
  }
  return isUsageError(error) ? 2 : 1;
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0];
}

function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}
