/**
 * The worker's process entry: `npm run worker` and `node lib/worker.js` (the image's command). It
 * gives the process the worker's heap defaults first (worker-heap.ts), then runs the worker from
 * the environment until SIGINT/SIGTERM (run-worker.ts). The SDK is loaded only after that choice,
 * in the process that runs the worker.
 */
import { ConfigError } from './config';
import { runWithWorkerHeapDefaults } from './worker-heap';

if (require.main === module) {
  runWithWorkerHeapDefaults(async () => {
    // A plain require, loaded only now: this entry also runs under `node --require tsx/cjs`.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runWorkerFromEnv } = require('./run-worker') as typeof import('./run-worker');
    await runWorkerFromEnv();
  }).catch((err: unknown) => {
    const msg = err instanceof ConfigError ? err.message : err instanceof Error ? err.message : String(err);
    process.stderr.write(`worker: ${msg}\n`);
    process.exit(1);
  });
}
