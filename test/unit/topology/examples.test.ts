import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadTopology } from '../../../runtime/topology/load-topology.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const topologies = [
  ...readdirSync(join(root, 'examples'))
    .filter((file) => file.endsWith('.yaml'))
    .map((file) => join('examples', file)),
  join('deploy', 'compose', 'topology.yaml'),
];

describe('shipped topologies', () => {
  for (const file of topologies) {
    it(`${file} validates against the schema`, async () => {
      const topology = await loadTopology(join(root, file));
      assert.ok(Object.keys(topology.sources).length > 0);
    });
  }
});
