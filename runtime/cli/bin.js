#!/usr/bin/env node
// The `sluice` command. TypeScript is loaded through tsx everywhere (CLI, tests,
// benches and worker threads), so this shim registers it and hands over.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
