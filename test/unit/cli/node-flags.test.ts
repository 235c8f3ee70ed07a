import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { NODE_FLAGS } from '../../../runtime/cli/node-flags.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const text = (path: string) => readFile(join(root, path), 'utf8');

describe("sluice's Node flags", () => {
  it('are on every launcher: the shebang of the sluice command, npm run demo and the container entrypoint', async () => {
    const [shebang] = (await text('runtime/cli/bin.js')).split('\n');
    assert.equal(shebang, `#!/usr/bin/env -S node ${NODE_FLAGS.join(' ')}`);
    const scripts = JSON.parse(await text('package.json')).scripts as Record<string, string>;
    assert.equal(scripts.demo, `node ${NODE_FLAGS.join(' ')} runtime/cli/bin.js start examples/demo.yaml`);
    const entrypoint = /^ENTRYPOINT (.*)$/m.exec(await text('deploy/compose/Dockerfile'));
    assert.deepEqual(JSON.parse(entrypoint?.[1] ?? 'null'), ['node', ...NODE_FLAGS, 'runtime/cli/bin.js']);
  });

  it('are accepted by this Node: the sluice command runs through its shebang', async () => {
    const { stdout } = await promisify(execFile)(join(root, 'runtime/cli/bin.js'), ['--help'], { cwd: root });
    assert.match(stdout, /^Usage: sluice <command>/);
  });
});
