/**
 * Finds or builds the Temporal CLI that the tests, the demo and the benchmarks run a dev server on,
 * and prints which one it chose. `npm run temporal-cli`.
 */
import { resolveTemporalCli } from '../src/dev/temporal-cli';

resolveTemporalCli()
  .then((cli) => {
    process.stdout.write(`${cli.path ?? '(downloaded by the Temporal SDK on first use)'}\n`);
  })
  .catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
