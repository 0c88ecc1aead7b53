/**
 * Real worker processes (src/worker.ts, as users run it) for crash tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { RunningEmulator } from '../../src/emulator';
import { testEnv } from './env';

const ROOT = join(__dirname, '..', '..');

/** A worker process; `output` collects its stdout and stderr. */
export interface WorkerProcess {
  child: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
}

/** Spawns `src/worker.ts` against the shared dev server and the emulator. */
export function spawnWorker(opts: {
  taskQueue: string;
  emulator: RunningEmulator;
  env?: Record<string, string>;
}): WorkerProcess {
  const key = opts.emulator.credentials[0];
  if (!key) throw new Error('emulator has no access key');
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', join(ROOT, 'src', 'worker.ts')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      TEMPORAL_ADDRESS: testEnv().address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: opts.taskQueue,
      ALIBABA_CLOUD_ACCESS_KEY_ID: key.accessKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: key.accessKeySecret,
      ...(key.securityToken ? { ALIBABA_CLOUD_SECURITY_TOKEN: key.securityToken } : {}),
      ADB_ENDPOINT: `http://${opts.emulator.endpoint}`,
      ADB_CONNECT_TIMEOUT: '3s',
      ADB_READ_TIMEOUT: '3s',
      APS_LOG_LEVEL: 'INFO',
      // No restart with the heap defaults: the process spawned is the worker, so a kill hits it.
      APS_WORKER_HEAP_DEFAULTS: 'off',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output, exited };
}

/** Kills a worker process (SIGKILL unless told) and waits for it to exit. */
export async function killWorker(w: WorkerProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill(signal);
  await w.exited;
}
