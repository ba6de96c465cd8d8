// Starts thread-worker.ts from the TypeScript sources (tests, `tsx`): threads.ts uses this file
// when it runs as .ts itself; built code starts dist/pipeline/thread-worker.js directly.
import { register } from 'tsx/esm/api';

register();
await import('./thread-worker.ts');
