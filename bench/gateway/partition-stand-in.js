// Entry point of the gateway bench's partition stand-in thread: TypeScript through tsx.
import { register } from 'tsx/esm/api';

register();
await import('./partition-stand-in.ts');
