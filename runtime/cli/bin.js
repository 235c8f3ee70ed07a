#!/usr/bin/env -S node --v8-pool-size=0
// The `sluice` command. TypeScript is loaded through tsx everywhere (CLI, tests,
// benches and worker threads), so this shim registers it and hands over. The shebang
// carries sluice's Node flags (runtime/cli/node-flags.ts).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
