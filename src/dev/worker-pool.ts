/**
 * A pool of real worker processes (`src/worker.ts`, configured through the environment as users
 * run it; the reliability suite and the local stack use it) on one task queue. A slot whose process dies (SIGKILL from a test, or a crash) is
 * started again after a short delay until the pool is stopped; every line any incarnation printed
 * is kept.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AccessKeyConfig } from '../emulator';

const ROOT = join(__dirname, '..', '..');
// From source (tests, `npm run stack`) the worker runs through tsx; from the build, as compiled.
const WORKER_COMMAND: readonly string[] = __filename.endsWith('.ts')
  ? ['--require', 'tsx/cjs', join(ROOT, 'src', 'worker.ts')]
  : [join(ROOT, 'lib', 'worker.js')];

/** Options of {@link WorkerPool}. */
export interface WorkerPoolOptions {
  /** Processes. */
  size: number;
  /** Temporal frontend `host:port`. */
  address: string;
  /** Task queue. */
  taskQueue: string;
  /** The emulator's `host:port`. */
  emulatorEndpoint: string;
  /** Access keys; slot `i` uses `keys[i % keys.length]`. */
  keys: readonly AccessKeyConfig[];
  /** The prebuilt workflow bundle (`APS_WORKFLOW_BUNDLE`). */
  bundlePath: string;
  /** Extra environment for every slot. */
  env?: Record<string, string>;
  /** Extra environment per slot (wins over `env`). */
  slotEnv?: (slot: number) => Record<string, string>;
  /** Delay before a dead slot is started again, ms (default 300). */
  respawnDelayMs?: number;
}

/** One slot of the pool. */
interface Slot {
  index: number;
  key: AccessKeyConfig;
  child?: ChildProcess;
  /** The current process printed "worker started". */
  ready: boolean;
  /** The current process is being killed on purpose. */
  killing: boolean;
  /** Processes started in this slot. */
  incarnations: number;
  /** Everything printed, by every incarnation. */
  output: string[];
}

/** Counters of a pool. */
export interface WorkerPoolStats {
  /** Processes started (initial ones included). */
  spawns: number;
  /** SIGKILLs sent by the test. */
  kills: number;
  /** Graceful restarts (SIGTERM) sent by the test. */
  restarts: number;
  /** Processes that exited without being killed by the test (a crash, a lost server). */
  unexpectedExits: number;
  /** Exit codes of those. */
  unexpectedExitCodes: (number | string)[];
}

/** Worker processes on one task queue. */
export class WorkerPool {
  private readonly slots: Slot[];
  private stopping = false;
  private readonly exits = new Set<Promise<void>>();
  readonly stats: WorkerPoolStats = {
    spawns: 0,
    kills: 0,
    restarts: 0,
    unexpectedExits: 0,
    unexpectedExitCodes: [],
  };

  constructor(private readonly opts: WorkerPoolOptions) {
    if (opts.keys.length === 0) throw new Error('WorkerPool needs at least one access key');
    this.slots = Array.from({ length: opts.size }, (_, index) => ({
      index,
      key: opts.keys[index % opts.keys.length] as AccessKeyConfig,
      ready: false,
      killing: false,
      incarnations: 0,
      output: [],
    }));
  }

  /** Starts every slot and waits until each printed "worker started". */
  async start(timeoutMs = 90_000): Promise<void> {
    for (const slot of this.slots) this.spawn(slot);
    await this.waitReady(this.slots.length, timeoutMs);
  }

  /** Waits until at least `count` slots are ready. */
  async waitReady(count: number, timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.readyCount() < count) {
      if (Date.now() > until) {
        throw new Error(
          `only ${this.readyCount()} of ${count} workers became ready in ${timeoutMs} ms; last output:\n${this.tail(40)}`,
        );
      }
      await sleep(50);
    }
  }

  /** Slots whose process is up and polling. */
  readyCount(): number {
    return this.slots.filter((s) => s.ready && !s.killing).length;
  }

  /** Whether slot `i` is up and polling. */
  isReady(i: number): boolean {
    const s = this.slots[i];
    return s !== undefined && s.ready && !s.killing;
  }

  /** The slot whose processes sign with this access key ID (unique keys per slot only). */
  slotOf(accessKeyId: string | undefined): number | undefined {
    if (accessKeyId === undefined) return undefined;
    const hits = this.slots.filter((s) => s.key.accessKeyId === accessKeyId);
    return hits.length === 1 ? hits[0]?.index : undefined;
  }

  /** Number of slots. */
  get size(): number {
    return this.slots.length;
  }

  /** SIGKILLs slot `i`'s process (it is started again); false when it was not up. */
  kill(i: number): boolean {
    const slot = this.slots[i];
    const child = slot?.child;
    if (!slot || !child || slot.killing || child.exitCode !== null || child.signalCode !== null) return false;
    slot.killing = true;
    slot.ready = false;
    this.stats.kills += 1;
    child.kill('SIGKILL');
    return true;
  }

  /**
   * Restarts slot `i` gracefully: SIGTERM (the worker drains its tasks), then a new process, as a
   * rolling deploy does; resolves when the new one polls. False when it was not up.
   */
  async restart(i: number, timeoutMs = 60_000): Promise<boolean> {
    const slot = this.slots[i];
    const child = slot?.child;
    if (!slot || !child || slot.killing || child.exitCode !== null || child.signalCode !== null) return false;
    slot.killing = true;
    slot.ready = false;
    this.stats.restarts += 1;
    const incarnation = slot.incarnations;
    child.kill('SIGTERM');
    const until = Date.now() + timeoutMs;
    while (!(slot.incarnations > incarnation && slot.ready)) {
      if (Date.now() > until)
        throw new Error(`worker ${i} did not come back within ${timeoutMs} ms:\n${this.tail(20)}`);
      await sleep(50);
    }
    return true;
  }

  /** The PID of slot `i`'s current process. */
  pid(i: number): number | undefined {
    const child = this.slots[i]?.child;
    return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
  }

  /** Every line printed by every process of the pool. */
  output(): string {
    return this.slots.map((s) => s.output.join('')).join('');
  }

  /** Everything slot `i` printed. */
  slotOutput(i: number): string {
    return this.slots[i]?.output.join('') ?? '';
  }

  /** The last lines printed (for failure messages). */
  tail(lines: number): string {
    return this.slots
      .map((s) => `--- worker ${s.index} ---\n${s.output.join('').split('\n').slice(-lines).join('\n')}`)
      .join('\n');
  }

  /** Stops for good: no more respawns; SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    for (const slot of this.slots) {
      const child = slot.child;
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    }
    const all = Promise.all([...this.exits]);
    const timer = sleep(graceMs).then(() => 'timeout' as const);
    if ((await Promise.race([all.then(() => 'done' as const), timer])) === 'timeout') {
      for (const slot of this.slots) {
        const child = slot.child;
        if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      await all;
    }
  }

  private spawn(slot: Slot): void {
    if (this.stopping) return;
    const o = this.opts;
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      TEMPORAL_ADDRESS: o.address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: o.taskQueue,
      ALIBABA_CLOUD_ACCESS_KEY_ID: slot.key.accessKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: slot.key.accessKeySecret,
      ...(slot.key.securityToken ? { ALIBABA_CLOUD_SECURITY_TOKEN: slot.key.securityToken } : {}),
      ALIBABA_CLOUD_ECS_METADATA_DISABLED: 'true',
      ALIBABA_CLOUD_CLI_PROFILE_DISABLED: 'true',
      ADB_ENDPOINT: `http://${o.emulatorEndpoint}`,
      ADB_CONNECT_TIMEOUT: '3s',
      ADB_READ_TIMEOUT: '3s',
      APS_LOG_LEVEL: 'INFO',
      APS_WORKFLOW_BUNDLE: o.bundlePath,
      // No restart with the heap defaults: the process spawned is the worker, so a kill hits it.
      APS_WORKER_HEAP_DEFAULTS: 'off',
      ...o.env,
      ...o.slotEnv?.(slot.index),
    };
    const child = spawn(process.execPath, [...WORKER_COMMAND], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    slot.child = child;
    slot.ready = false;
    slot.killing = false;
    slot.incarnations += 1;
    this.stats.spawns += 1;
    let seen = '';
    const onData = (d: Buffer): void => {
      const text = d.toString();
      slot.output.push(text);
      if (!slot.ready && slot.child === child) {
        // The marker may arrive split across chunks.
        seen = (seen + text).slice(-4096);
        if (seen.includes('worker started')) slot.ready = true;
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        if (slot.child === child) slot.ready = false;
        if (!slot.killing && !this.stopping) {
          this.stats.unexpectedExits += 1;
          this.stats.unexpectedExitCodes.push(code ?? signal ?? 'unknown');
        }
        slot.output.push(`[pool] worker ${slot.index} exited (${code ?? signal})\n`);
        if (!this.stopping) setTimeout(() => this.spawn(slot), o.respawnDelayMs ?? 300);
        resolve();
      });
    });
    this.exits.add(exited);
    void exited.then(() => this.exits.delete(exited));
  }
}
