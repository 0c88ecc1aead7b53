/**
 * One scenario's stage: an emulator, a pool of worker processes on a task queue of its own, and
 * the per-job accounting ("exactly one effective start per job") read from the emulator.
 */
import { randomUUID } from 'node:crypto';
import type { RunApsJobInput } from '../../../src/api';
import {
  startEmulator,
  type AccessKeyConfig,
  type EmulatorOptions,
  type RunningEmulator,
} from '../../../src/emulator';
import { suite } from './hooks';
import { PLAN } from './plan';
import { REGION, type Outcome } from './runs';
import { WorkerPool, type WorkerPoolOptions } from '../../../src/dev/worker-pool';

/** A running stage. */
export interface Stage {
  /** The emulator. */
  emulator: RunningEmulator;
  /** The worker processes. */
  pool: WorkerPool;
  /** Their task queue. */
  taskQueue: string;
  /** Stops workers, then the emulator. */
  stop(): Promise<void>;
}

/** Options of {@link startStage}. */
export interface StageOptions {
  /** Scenario ID (prefix of the task queue). */
  id: string;
  /** Emulator options, or an emulator another stage owns (not closed by this one). */
  emulator: EmulatorOptions | { shared: RunningEmulator };
  /** Worker processes (default: the plan's). */
  workers?: number;
  /** Keys the workers use (default: the emulator's first key). */
  keys?: AccessKeyConfig[];
  /** Extra worker environment. */
  env?: Record<string, string>;
  /** Extra worker environment per slot. */
  slotEnv?: WorkerPoolOptions['slotEnv'];
  /** Delay before a dead worker is started again, ms. */
  respawnDelayMs?: number;
  /** Task queue (default: `<id>-<uuid>`). */
  taskQueue?: string;
}

/** Starts the emulator and the worker processes, and waits until every worker polls. */
export async function startStage(opts: StageOptions): Promise<Stage> {
  const { server, bundlePath } = suite();
  const shared = 'shared' in opts.emulator ? opts.emulator.shared : undefined;
  const emulator =
    shared ?? (await startEmulator({ requestLogLimit: 200_000, ...(opts.emulator as EmulatorOptions) }));
  const closeEmulator = async (): Promise<void> => {
    if (!shared) await emulator.close();
  };
  const taskQueue = opts.taskQueue ?? `${opts.id}-${randomUUID().slice(0, 8)}`;
  const keys = opts.keys ?? [emulator.credentials[0] as AccessKeyConfig];
  const pool = new WorkerPool({
    size: opts.workers ?? PLAN.workers,
    address: server.address,
    taskQueue,
    emulatorEndpoint: emulator.endpoint,
    keys,
    bundlePath,
    env: opts.env,
    slotEnv: opts.slotEnv,
    respawnDelayMs: opts.respawnDelayMs,
  });
  try {
    await pool.start();
  } catch (err) {
    await pool.stop(2_000);
    await closeEmulator();
    throw err;
  }
  return {
    emulator,
    pool,
    taskQueue,
    async stop() {
      await pool.stop();
      await closeEmulator();
    },
  };
}

/** The input every reliability run uses unless a scenario says otherwise. */
export function jobInput(apsJobId: string, extra: Partial<RunApsJobInput> = {}): RunApsJobInput {
  return {
    regionId: REGION,
    apsJobId,
    // The shortest poll interval the workflow accepts; short activity timeouts so that an attempt
    // lost with a killed worker is retried within seconds.
    pollInterval: '1s',
    activityTimeout: '4s',
    // A run that cannot finish fails with ApsJobTimeout instead of waiting a day.
    timeout: '20m',
    ...extra,
  };
}

/** Job IDs `aps-<prefix>-000` … */
export function jobIds(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `aps-${prefix}-${String(i).padStart(3, '0')}`);
}

/** What the emulator says about the starts of the runs' jobs. */
export interface StartAccounting {
  /** Jobs started more than once. */
  doubleStarts: number;
  /** Completed runs whose job the emulator never saw started (a lost start). */
  lostStarts: number;
  /** Jobs by effective start count. */
  byCount: Record<string, number>;
  /** IDs of jobs started more than once, or completed without a start. */
  offenders: string[];
  /** StartApsJob calls, over all the runs' jobs, that reached a job already Starting or Running. */
  duplicateStartCalls: number;
  /** IDs of jobs that got such calls, with their number. */
  duplicateOffenders: string[];
}

/**
 * Counts effective starts per job (each job starts Suspended, so a completed run means exactly one),
 * and the StartApsJob calls that reached a job already live (a start the package should have
 * known not to send).
 */
export function accountStarts(emulator: RunningEmulator, outcomes: readonly Outcome[]): StartAccounting {
  const acc: StartAccounting = {
    doubleStarts: 0,
    lostStarts: 0,
    byCount: {},
    offenders: [],
    duplicateStartCalls: 0,
    duplicateOffenders: [],
  };
  for (const o of outcomes) {
    const dup = emulator.duplicateStartCalls(o.run.apsJobId);
    if (dup > 0) {
      acc.duplicateStartCalls += dup;
      acc.duplicateOffenders.push(`${o.run.apsJobId} (${dup} duplicate start calls)`);
    }
    const n = emulator.effectiveStarts(o.run.apsJobId);
    acc.byCount[n] = (acc.byCount[n] ?? 0) + 1;
    if (n > 1) {
      acc.doubleStarts += 1;
      acc.offenders.push(`${o.run.apsJobId} (${n} starts)`);
    } else if (n === 0 && o.state === 'completed') {
      acc.lostStarts += 1;
      acc.offenders.push(`${o.run.apsJobId} (completed, never started)`);
    }
  }
  return acc;
}
