/**
 * The integration stack of one test: the emulator, the real APS client pointed at it, and a real
 * worker on a task queue of its own, on the shared dev server.
 */
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities, type ActivityObservers, type InProcessWaiter } from '../../src/activities';
import { createApsApi } from '../../src/aps/client';
import type { ApsApi } from '../../src/aps/types';
import { startEmulator, type RunningEmulator } from '../../src/emulator';
import type { EmulatorOptions } from '../../src/emulator/types';
import type { RetryRule } from '../../src/retry/types';
import { createInProcessWaiter } from '../../src/run-worker';
import type { WorkflowHandle } from '@temporalio/client';
import { statusQuery } from '../../src/api';
import { liveWaitOf } from '../../src/client';
import { testEnv, uniqueTaskQueue } from './env';

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The package's workflows, bundled once per test run. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../../src/workflows'),
    logger: quietLogger,
  });
  return bundle;
}

const noop = (): void => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop };

/** A running stack; `stop()` in the test's `after`/`finally`. */
export interface Stack {
  emulator: RunningEmulator;
  aps: ApsApi;
  taskQueue: string;
  worker: Worker;
  /** The worker's in-process waiter (absent with `inProcessWaits: false`). */
  waiter?: InProcessWaiter;
  stop(): Promise<void>;
}

/** Options of {@link startStack}. */
export interface StackOptions {
  emulator?: EmulatorOptions;
  workerRules?: RetryRule[];
  observers?: ActivityObservers;
  readTimeoutMs?: number;
  /** Hold waits in process (default true), as `createApsWorker` does. */
  inProcessWaits?: boolean;
  /** The worker's activity slots (default: the SDK's). */
  maxConcurrentActivityTaskExecutions?: number;
  /** Use this task queue (default: a fresh one). */
  taskQueue?: string;
}

/** Starts the emulator and a worker polling a fresh task queue. */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const emulator = await startEmulator(opts.emulator ?? {});
  const key = emulator.credentials[0];
  if (!key) throw new Error('emulator has no access key');
  const aps = createApsApi({
    credentials: {
      kind: 'access-key',
      accessKeyId: key.accessKeyId,
      accessKeySecret: key.accessKeySecret,
      securityToken: key.securityToken,
    },
    endpoint: emulator.endpoint,
    protocol: 'http',
    connectTimeoutMs: opts.readTimeoutMs ?? 2000,
    readTimeoutMs: opts.readTimeoutMs ?? 2000,
  });
  const taskQueue = opts.taskQueue ?? uniqueTaskQueue('aps');
  const waiter =
    opts.inProcessWaits === false ? undefined : createInProcessWaiter(testEnv().nativeConnection, 'default');
  const worker = await Worker.create({
    connection: testEnv().nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: createActivities({
      aps,
      workerRules: opts.workerRules,
      observers: opts.observers,
      ...(waiter ? { waiter } : {}),
    }),
    ...(opts.maxConcurrentActivityTaskExecutions !== undefined
      ? { maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivityTaskExecutions }
      : {}),
  });
  const running = worker.run();
  return {
    emulator,
    aps,
    taskQueue,
    worker,
    ...(waiter ? { waiter } : {}),
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await waiter?.close();
      await emulator.close();
    },
  };
}

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function eventually<T>(
  check: () => T | Promise<T>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) {
      throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A runApsJob's phase as `aps-jobs status` shows it: `waiting` also while its start activity waits
 * for the target in the same attempt (its heartbeat says the start took effect).
 */
export async function livePhase(handle: WorkflowHandle): Promise<string> {
  const [status, desc] = await Promise.all([handle.query(statusQuery), handle.describe()]);
  const pending = desc.raw.pendingActivities?.[0];
  const live = pending ? liveWaitOf(pending) : undefined;
  return live?.waiting && status.phase === 'starting' ? 'waiting' : status.phase;
}

/** Reads (DescribeApsJobDetail) of a job after its StartApsJob, with their arrival times. */
export function readsAfterStart(emulator: RunningEmulator, apsJobId: string): number[] {
  const log = emulator.requests().filter((r) => r.apsJobId === apsJobId);
  const startAt = log.find((r) => r.action === 'StartApsJob' && r.applied);
  if (!startAt) return [];
  return log
    .filter((r) => r.action === 'DescribeApsJobDetail' && r.seq > startAt.seq)
    .map((r) => Date.parse(r.time));
}
