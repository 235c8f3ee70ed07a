import { parseArgs } from 'node:util';
import { CliArgumentError } from '../errors.ts';

/**
 * The argv parsing every command shares: node's own `util.parseArgs` (no extra
 * dependency), with its errors turned into `CliArgumentError` so that every bad
 * invocation ends the same way: one line, exit code 2.
 */

export interface CommandArgsSpec {
  /** Names of the required positional arguments, in order (shown as `<name>` in errors). */
  required?: readonly string[];
  /** Name of a trailing list of further positionals, if the command takes one. */
  rest?: string;
  /** Options besides --help, which main handles for every command. */
  options?: Record<string, { type: 'boolean' | 'string'; short?: string }>;
}

export interface CommandArgs {
  /** Positionals by name; a `rest` list is in `rest`. */
  positionals: Record<string, string>;
  rest: string[];
  options: Record<string, string | boolean | undefined>;
}

export function parseCommandArgs(
  command: string,
  argv: readonly string[],
  spec: CommandArgsSpec,
): CommandArgs {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: spec.options ?? {},
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new CliArgumentError(command, firstLine((error as Error).message));
  }
  const required = spec.required ?? [];
  const given = parsed.positionals;
  if (given.length < required.length) {
    throw new CliArgumentError(
      command,
      `missing ${required
        .slice(given.length)
        .map((name) => `<${name}>`)
        .join(' ')}`,
    );
  }
  if (spec.rest === undefined && given.length > required.length) {
    throw new CliArgumentError(command, `unexpected argument '${given[required.length]}'`);
  }
  const positionals: Record<string, string> = {};
  required.forEach((name, index) => {
    positionals[name] = given[index];
  });
  return {
    positionals,
    rest: given.slice(required.length),
    options: parsed.values as CommandArgs['options'],
  };
}

/** True when argv asks for help: `--help` or `-h` anywhere before a `--`. */
export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

function firstLine(text: string): string {
  return text.split('\n')[0].replace(/\. To specify a positional argument.*$/, '');
}
