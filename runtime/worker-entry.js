// Entry point of every worker thread: TypeScript is loaded through tsx (no build step),
// then the worker host takes over.
import { register } from 'tsx/esm/api';

register();
await import('./worker-host.ts');
