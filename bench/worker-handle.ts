/**
 * The harness's side of a benchmark worker process: spawn, wait until it polls, mark the start
 * and the end of the measured phase, collect its report.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { FromWorker, ToWorker, WorkerProcessConfig, WorkerReport } from './worker-protocol';

/** A running worker process. */
export interface BenchWorker {
  /** Its process ID. */
  readonly pid: number | undefined;
  /** Marks the start of the measured phase (CPU baseline, sampling on). */
  begin(): void;
  /** Marks the end; resolves with the report once the process has exited. */
  end(): Promise<WorkerReport>;
  /** Kills the process (cleanup after a failure). */
  kill(): void;
}

const READY_TIMEOUT_MS = 120_000;

/** Forks bench/worker-process.ts (TypeScript through tsx) and waits until its worker runs. */
export async function startBenchWorker(
  config: WorkerProcessConfig,
  nodeOptions: readonly string[] = [],
): Promise<BenchWorker> {
  const child: ChildProcess = fork(join(__dirname, 'worker-process.ts'), [], {
    execArgv: [...nodeOptions, '--require', 'tsx/cjs'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const messages: FromWorker[] = [];
  const waiters: Array<() => void> = [];
  child.on('message', (msg: FromWorker) => {
    messages.push(msg);
    for (const w of waiters.splice(0)) w();
  });
  const next = async <T extends FromWorker['type']>(
    type: T,
    timeoutMs: number,
  ): Promise<Extract<FromWorker, { type: T }>> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const error = messages.find((m) => m.type === 'error');
      if (error?.type === 'error') throw new Error(`benchmark worker failed: ${error.message}`);
      const hit = messages.find((m): m is Extract<FromWorker, { type: T }> => m.type === type);
      if (hit) return hit;
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`benchmark worker exited (${child.exitCode ?? child.signalCode}) before '${type}'`);
      }
      const left = until - Date.now();
      if (left <= 0) throw new Error(`benchmark worker sent no '${type}' within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1_000));
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  };
  const post = (msg: ToWorker): void => {
    child.send(msg);
  };

  post({ type: 'init', config });
  try {
    await next('ready', READY_TIMEOUT_MS);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    pid: child.pid,
    begin: () => post({ type: 'begin' }),
    async end() {
      post({ type: 'end' });
      const { report } = await next('report', 60_000);
      await exited;
      return report;
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
