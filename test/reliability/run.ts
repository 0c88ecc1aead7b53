/**
 * Runs the reliability suite: `npm run test:reliability` (full size) or
 * `npm run test:reliability -- --quick` (CI size; same as RELIABILITY_SIZE=quick). `--stack` runs
 * the stack scenarios on the local production stack (PostgreSQL, a 4-shard server, worker hosts
 * behind Toxiproxy) instead of the dev server. Other arguments go to mocha (e.g. `--grep worker-crash`).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

const args = process.argv.slice(2);
let size = process.env.RELIABILITY_SIZE ?? 'full';
const rest: string[] = [];
let config = 'test/reliability/.mocharc.cjs';
for (const arg of args) {
  if (arg === '--stack') config = 'test/reliability/.mocharc.stack.cjs';
  else if (arg === '--quick') size = 'quick';
  else if (arg === '--full') size = 'full';
  else rest.push(arg);
}

const child = spawn(process.execPath, [require.resolve('mocha/bin/mocha.js'), '--config', config, ...rest], {
  cwd: ROOT,
  stdio: 'inherit',
  env: { ...process.env, RELIABILITY_SIZE: size },
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => child.kill(signal));
}
child.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal ? 1 : 0);
});
