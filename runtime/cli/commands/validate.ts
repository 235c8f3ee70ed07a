import { TopologyError, TopologyFileUnreadableError } from '../../errors.ts';
import { loadTopology } from '../../topology/load-topology.ts';
import { parseCommandArgs } from '../args.ts';

/** `sluice validate`: checks topology files without starting anything. */

export const summary = 'Check topology files without running them; list every problem with its line.';

export const usage = `Usage: sluice validate <topology.yaml> [more.yaml ...]

Loads each topology file as \`sluice start\` would, without starting anything.
Prints "ok: <name> — …" for a valid file, or every problem as
  file:line:col  field.path  what was expected
Exit code 0 when all files are valid, 1 otherwise.`;

export async function run(argv: string[]): Promise<number> {
  const { positionals, rest } = parseCommandArgs('validate', argv, { required: ['topology'], rest: 'more' });
  let failures = 0;
  for (const file of [positionals.topology, ...rest]) {
    try {
      const topology = await loadTopology(file);
      const counts = [
        count(Object.keys(topology.sources).length, 'source'),
        count(Object.keys(topology.windows).length, 'window'),
        ...(Object.keys(topology.streams).length > 0
          ? [count(Object.keys(topology.streams).length, 'stream')]
          : []),
        count(Object.keys(topology.sinks).length, 'sink'),
      ];
      process.stdout.write(`ok: ${topology.name} — ${counts.join(', ')}\n`);
    } catch (error) {
      failures += 1;
      if (error instanceof TopologyError) process.stderr.write(`${error.message}\n${error.summary}\n`);
      else if (error instanceof TopologyFileUnreadableError)
        process.stderr.write(`sluice: ${error.message}\n`);
      else throw error;
    }
  }
  return failures === 0 ? 0 : 1;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
