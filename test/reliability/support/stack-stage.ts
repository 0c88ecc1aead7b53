/**
 * One stack scenario's stage: an emulator, and worker processes each on a host of its own (its own
 * Toxiproxy links to the Temporal frontend and to the emulator) and signing with its own key, so
 * the emulator's request log says which host made a call.
 */
import { randomUUID } from 'node:crypto';
import {
  generateAccessKey,
  startEmulator,
  type AccessKeyConfig,
  type EmulatorOptions,
  type RunningEmulator,
} from '../../../src/emulator';
import { WorkerPool } from '../../../src/dev/worker-pool';
import { STACK_PLAN } from './plan';
import { stackSuite } from './stack-hooks';

/** A running stack stage. */
export interface StackStage {
  /** The emulator. */
  emulator: RunningEmulator;
  /** The worker processes (slot i on host `hosts[i]`). */
  pool: WorkerPool;
  /** Host names, by slot. */
  hosts: string[];
  /** Access keys, by slot. */
  keys: AccessKeyConfig[];
  /** Their task queue. */
  taskQueue: string;
  /** The slot whose key signed a request. */
  slotOf(accessKeyId: string | undefined): number | undefined;
  /** Stops workers, then the emulator. */
  stop(): Promise<void>;
}

/** Starts the emulator and the worker hosts, and waits until every worker polls. */
export async function startStackStage(opts: {
  id: string;
  emulator: EmulatorOptions;
  workers?: number;
  env?: Record<string, string>;
  respawnDelayMs?: number;
}): Promise<StackStage> {
  const { stack, bundlePath } = stackSuite();
  const n = opts.workers ?? STACK_PLAN.workers;
  const keys = Array.from({ length: n }, () => generateAccessKey());
  const emulator = await startEmulator({ requestLogLimit: 200_000, ...opts.emulator, accessKeys: keys });
  const suffix = randomUUID().slice(0, 6);
  const hosts = Array.from({ length: n }, (_, i) => `${opts.id}-${suffix}-h${i}`);
  for (const host of hosts) await stack.addHost(host, emulator.endpoint);
  const taskQueue = `${opts.id}-${suffix}`;
  const pool = new WorkerPool({
    size: n,
    address: stack.address,
    taskQueue,
    emulatorEndpoint: emulator.endpoint,
    keys,
    bundlePath,
    env: opts.env,
    slotEnv: (slot) => stack.hostEnv(hosts[slot] as string),
    respawnDelayMs: opts.respawnDelayMs,
  });
  try {
    await pool.start(120_000);
  } catch (err) {
    await pool.stop(2_000);
    await emulator.close();
    throw err;
  }
  return {
    emulator,
    pool,
    hosts,
    keys,
    taskQueue,
    slotOf: (accessKeyId) => {
      const i = keys.findIndex((k) => k.accessKeyId === accessKeyId);
      return i >= 0 ? i : undefined;
    },
    async stop() {
      await pool.stop();
      await emulator.close();
    },
  };
}
