import { topologyJsonSchema } from '../../topology/topology-schema.ts';
import { parseCommandArgs } from '../args.ts';

/** `sluice schema`: the topology schema as JSON Schema, for editors and CI checks. */

export const summary = 'Print the topology file schema as JSON Schema.';

export const usage = `Usage: sluice schema

Prints the JSON Schema (draft 2020-12) of topology files on standard output.
Editors use it for completion and inline docs, e.g. with the YAML language server:
  # yaml-language-server: $schema=./sluice.schema.json`;

export async function run(argv: string[]): Promise<number> {
  parseCommandArgs('schema', argv, {});
  process.stdout.write(`${JSON.stringify(topologyJsonSchema(), null, 2)}\n`);
  return 0;
}
