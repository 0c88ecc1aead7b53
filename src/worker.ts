/**
 * The worker's process entry: `npm run worker` and `node lib/worker.js` (the image's command). It
 * runs the worker from the environment until SIGINT/SIGTERM (run-worker.ts).
 */
import { ConfigError } from './config';

if (require.main === module) {
  // A plain require: this entry also runs under `node --require tsx/cjs`.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runWorkerFromEnv } = require('./run-worker') as typeof import('./run-worker');
  runWorkerFromEnv().catch((err: unknown) => {
    const msg = err instanceof ConfigError ? err.message : err instanceof Error ? err.message : String(err);
    process.stderr.write(`worker: ${msg}\n`);
    process.exit(1);
  });
}
