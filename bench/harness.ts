/**
 * The benchmark: for each configuration (N jobs that take K polls of interval I to run), run the
 * empty-workflow ceiling and the three ways of waiting, each on a fresh task queue, a fresh
 * emulator and a fresh worker process, on one dev server, and measure what each costs.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import { bundleWorkflowCode } from '@temporalio/worker';
import { jobWorkflowId } from '../src/api';
import { startJobRun } from '../src/client';
import { generateAccessKey, startEmulator, type JobScript, type RunningEmulator } from '../src/emulator';
import { TEMPORAL_CLI_VERSION } from '../src/dev/temporal-cli';
import { formatMs } from '../src/validation';
import { STRATEGIES, WAITING_ACTIVITY, type BenchJobInput, type StrategyName } from './api';
import { DEFAULT_WORKER_TUNING, WORKER_NODE_OPTIONS, resolveWorkerTuning } from '../src/config';
import {
  BENCH_DYNAMIC_CONFIG,
  startBenchServer,
  startStackBenchServer,
  type BenchServer,
  type ServerSample,
} from './dev-server';
import { max, mean, median, percentile, round, stepStats } from './stats';
import { startBenchWorker, type BenchWorker } from './worker-handle';
import type { WorkerProcessConfig, WorkerReport } from './worker-protocol';
import { emptyWorkflow, heartbeatPollApsJob, naivePollApsJob } from './workflows';

/** One configuration: N jobs, each Starting for about K poll intervals. */
export interface BenchConfig {
  /** Concurrent jobs (N). */
  jobs: number;
  /** Polls that answer Starting before the job runs (K). */
  polls: number;
  /** Poll interval (I), ms. */
  pollIntervalMs: number;
  /** runApsJob's `heartbeatTimeout` for ours, ms (absent: the default, derived from the interval). */
  heartbeatTimeoutMs?: number;
}

/** Options of {@link runBench}. */
export interface BenchOptions {
  /** The configurations, run in order. */
  configs: BenchConfig[];
  /** Which strategies to run in each configuration (default: all, the ceiling first). */
  strategies?: StrategyName[];
  /** Workflow starts in flight at once (default 50). */
  startConcurrency?: number;
  /**
   * maxConcurrentActivityTaskExecutions (default max(the package's default, N): the heartbeat
   * baseline needs one slot per job).
   */
  maxActivities?: number;
  /** maxConcurrentWorkflowTaskExecutions (default: the package's, `resolveWorkerTuning`). */
  maxWorkflowTasks?: number;
  /** maxCachedWorkflows (default: the package's); `'sdk'`: the SDK's, sized from the heap limit. */
  maxCachedWorkflows?: number | 'sdk';
  /** workflowThreadPoolSize (default: the package's, `APS_WORKFLOW_THREADS`). */
  workflowThreads?: number;
  /** Dynamic config of the server on top of BENCH_DYNAMIC_CONFIG. */
  serverConfig?: Record<string, unknown>;
  /** Node flags for the worker processes (default: the flags `npm run worker` sets). */
  workerNodeOptions?: string[];
  /** SQLite file for the server; in-memory when absent. */
  dbFile?: string;
  /** The server: the dev server (`dev`, the default) or the local production stack (`stack`). */
  server?: 'dev' | 'stack';
  /** Histories fetched per phase to check the visibility counts against (default 20). */
  historySample?: number;
  /** RSS and worker status sampling period in the worker process, ms (default 100). */
  sampleIntervalMs?: number;
  /** Pause after each phase before the server's counters are read, ms (default 2,000). */
  settleMs?: number;
  /** How long the idle server's CPU use is measured before the first phase, ms (default 3,000). */
  idleProbeMs?: number;
  /** Progress line period during a phase, ms (default 5,000). */
  progressEveryMs?: number;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
  /** The command line, recorded in the results. */
  command?: string;
}

/** Distribution summary. */
export interface Dist {
  p50: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

/** What one strategy cost in one configuration. */
export interface PhaseResult {
  strategy: StrategyName;
  jobs: number;
  /** Workflows that completed successfully. */
  completed: number;
  /** Workflows that failed, timed out or did not close in time. */
  notCompleted: number;
  /** First start request → last workflow close, s. */
  makespanS: number | null;
  /** Time to issue every start, s. */
  startPhaseS: number;
  /** First start request → the last job's effective StartApsJob, s (null for the ceiling). */
  effectiveStartsS: number | null;
  /** N / makespan. */
  jobsPerSec: number | null;
  /**
   * N / max over jobs of (close − the job's own Starting time − first start request): the
   * throughput had every job been ready at once, with the start ramp, the polling overhead and the
   * detection latency still in it. Equals jobsPerSec for the ceiling.
   */
  netJobsPerSec: number | null;
  /** The makespan behind netJobsPerSec, s. */
  netMakespanS: number | null;
  history: {
    /** Events per workflow (server's historyLength from visibility, every workflow). */
    events: Dist;
    /** Bytes per workflow (server's historySizeBytes). */
    bytes: Dist;
    /** Histories fetched with fetchHistory, and how many matched historyLength. */
    fetched: number;
    fetchedMatching: number;
  };
  /** APS calls per job from the emulator's request log; null for the ceiling. */
  api: {
    callsPerJob: Dist;
    pollsPerJob: Dist;
    /** Most DescribeApsJobDetail calls before the effective start, any job. */
    describesBeforeStartMax: number;
    /** Most StartApsJob calls, any job. */
    startsPerJobMax: number;
    /** Most calls beyond polls + 1 start, any job. */
    extraPerJobMax: number;
    /** p99 of the StartApsJob request's handling time in the emulator, ms (bound on the "became running" error). */
    startRequestP99Ms: number | null;
  } | null;
  /** Job became running → workflow closed, ms, and as a multiple of the poll interval. */
  detection: (Dist & { p50OverInterval: number | null; p99OverInterval: number | null }) | null;
  /**
   * Detection split in two, from the emulator's log: _read lag_ = became running → arrival of the
   * read that saw it (the job's last DescribeApsJobDetail), set by when reads fall; _answer to
   * close_ = that read's answer → workflow close, the path from the worker's read to the server's
   * close (completion, workflow task). Null for the ceiling.
   */
  detectionParts: {
    readLag: Dist;
    answerToClose: Dist;
    /** Of the fetched histories: that read answered → the ActivityTaskCompleted event, ms. */
    answerToCompleted: Dist;
    /** Of the fetched histories: ActivityTaskCompleted → the close event, ms. */
    completedToClose: Dist;
    /**
     * Of the fetched histories, that part split at the final workflow task's WorkflowTaskStarted
     * (the server handed it to a worker's poll): ActivityTaskCompleted → it (the server's dispatch),
     * then → the close (the worker's handling of the task and its answer), ms.
     */
    completedToTaskStarted: Dist;
    taskStartedToClose: Dist;
  } | null;
  worker: {
    rssPeakMb: number | null;
    rssAtBeginMb: number | null;
    vmHwmMb: number | null;
    /** Main-thread V8 heap (total / used) and external memory when RSS peaked, MB. */
    heapTotalAtPeakMb: number | null;
    heapUsedAtPeakMb: number | null;
    externalAtPeakMb: number | null;
    cpuS: number | null;
    cpuMsPerJob: number | null;
    cachedWorkflowsPeak: number;
    /** Most waits the worker's in-process waiter held at once (null: the strategy has none). */
    inProcessWaitsPeak: number | null;
    /** Heartbeats the in-process waiter sent, per job (null: the strategy has none). */
    waiterHeartbeatsPerJob: number | null;
    /** Delay of the worker's main event loop, ms (timer resolution 10 ms counted in). */
    eventLoopDelayMs: { p50: number | null; p99: number | null; max: number | null };
  };
  slots: {
    /** Activity executions in flight, any type, peak over the phase. */
    inFlightPeak: number;
    /** Same, sampled from Worker.getStatus(). */
    inFlightSampledPeak: number;
    /**
     * The window in which every job had started and none had become running yet, ms; the waiting
     * activity's slots are measured over it (null when the window is shorter than 1 s).
     */
    allWaitingWindowMs: number | null;
    waitingPeak: number | null;
    waitingMean: number | null;
    /** Activity-slot seconds the waiting activity held, per job. */
    waitingSlotSecondsPerJob: number | null;
    /** Most jobs waiting at once (effective start → workflow closed). */
    peakWaitingJobs: number | null;
    /** Slot-seconds held by the waiting activity ÷ job-seconds spent waiting: 1 = a slot per waiting job. */
    slotShareOfWait: number | null;
    /** Wall time of one waiting activity execution, ms. */
    waitingExecutionMs: Dist | null;
    /** Waiting activity executions. */
    waitingExecutions: number;
    /** Activity executions that threw, by type (waitForApsJob's "not ready yet" is one per poll). */
    activityFailures: Record<string, number>;
  } | null;
  server: {
    cpuS: number | null;
    cpuMsPerJob: number | null;
    persistenceRequestsPerJob: number | null;
    frontendRequestsPerJob: number | null;
  };
  /** 1-minute load average before and after. */
  load: [number, number];
}

/** One configuration and its phases. */
export interface ConfigResult extends BenchConfig {
  /** Mean time the jobs stay Starting (startingMs), ms. */
  startingMsMean: number;
  /** The worker's activity slots. */
  maxActivities: number;
  phases: Partial<Record<StrategyName, PhaseResult>>;
}

/** Everything a run measured. */
export interface BenchResult {
  meta: {
    startedAt: string;
    finishedAt: string;
    durationS: number;
    command: string;
    machine: { nproc: number; cpuModel: string; memoryGiB: number; node: string; platform: string };
    temporal: {
      cli: string;
      cliSource: string;
      cliRelease: string;
      storage: string;
      /** CPU the idle server used, % of one core. */
      serverIdleCpuPct: number | null;
      dynamicConfig: Record<string, unknown>;
    };
    worker: {
      maxWorkflowTasks: number;
      maxCachedWorkflows: number | 'SDK default';
      /** Threads that run workflow code (absent in runs from before it was a setting: 1). */
      workflowThreads?: number;
      maxActivities: string;
      nodeOptions: string[];
      startConcurrency: number;
      process: string;
    };
    load: { atStart: number[]; atEnd: number[]; maxSeen1m: number };
  };
  configs: ConfigResult[];
}

const REGION = 'cn-hangzhou';
const RUN_TIMEOUT_MS = 3_600_000;
const GOLDEN = 0.6180339887498949;
const quietLogger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  log: () => undefined,
};

/** Human-readable configuration label. */
export function configLabel(c: BenchConfig): string {
  const h = c.heartbeatTimeoutMs === undefined ? '' : ` H=${formatMs(c.heartbeatTimeoutMs)}`;
  return `N=${c.jobs} K=${c.polls} I=${formatMs(c.pollIntervalMs)}${h}`;
}

/**
 * How long job `i` stays Starting: (K − 1)·I plus a fraction of I spread evenly over the jobs (a
 * golden-ratio sequence), so the moment it becomes running falls anywhere between two polls, as
 * it would for real jobs, and about K polls answer Starting.
 */
export function startingMsFor(config: BenchConfig, i: number): number {
  const frac = ((i + 1) * GOLDEN) % 1;
  return Math.round((config.polls - 1 + frac) * config.pollIntervalMs);
}

function dist(values: readonly number[], digits = 1): Dist {
  return {
    p50: round(median(values), digits),
    p99: round(percentile(values, 99), digits),
    max: round(max(values), digits),
    mean: round(mean(values), digits),
  };
}

function mb(bytes: number | null): number | null {
  return bytes === null ? null : round(bytes / 1024 / 1024, 1);
}

function delta(a: number | null, b: number | null): number | null {
  return a === null || b === null ? null : b - a;
}

async function pool<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  });
  await Promise.all(runners);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface JobPlan {
  index: number;
  apsJobId: string;
  workflowId: string;
  startingMs: number;
}

interface PhaseContext {
  server: BenchServer;
  client: Client;
  bundlePath: string;
  runTag: string;
  configIndex: number;
  config: BenchConfig;
  maxActivities: number;
  opts: Required<
    Omit<
      BenchOptions,
      | 'dbFile'
      | 'server'
      | 'maxActivities'
      | 'maxCachedWorkflows'
      | 'strategies'
      | 'configs'
      | 'command'
      | 'idleProbeMs'
      | 'serverConfig'
    >
  > & { maxCachedWorkflows: number | undefined };
  onLoad: (load: number) => void;
}

function planJobs(ctx: PhaseContext, strategy: StrategyName): JobPlan[] {
  return Array.from({ length: ctx.config.jobs }, (_, index) => {
    const apsJobId = `aps-bench-${ctx.runTag}-${ctx.configIndex}-${strategy}-${index}`;
    return {
      index,
      apsJobId,
      workflowId:
        strategy === 'empty'
          ? `bench-empty-${ctx.runTag}-${ctx.configIndex}-${index}`
          : jobWorkflowId(REGION, apsJobId),
      startingMs: startingMsFor(ctx.config, index),
    };
  });
}

async function startOne(
  ctx: PhaseContext,
  strategy: StrategyName,
  taskQueue: string,
  job: JobPlan,
): Promise<void> {
  const input: BenchJobInput = {
    regionId: REGION,
    apsJobId: job.apsJobId,
    pollIntervalMs: ctx.config.pollIntervalMs,
    timeoutMs: RUN_TIMEOUT_MS,
  };
  switch (strategy) {
    case 'empty':
      await ctx.client.workflow.start(emptyWorkflow, { taskQueue, workflowId: job.workflowId });
      return;
    case 'ours':
      // The package's own client helper, as users start jobs (search attributes off: the bench
      // server does not register them, so no upserts are recorded).
      await startJobRun(
        ctx.client,
        {
          regionId: REGION,
          apsJobId: job.apsJobId,
          pollInterval: ctx.config.pollIntervalMs,
          timeout: '1h',
          ...(ctx.config.heartbeatTimeoutMs !== undefined
            ? { heartbeatTimeout: ctx.config.heartbeatTimeoutMs }
            : {}),
        },
        { taskQueue, searchAttributes: false },
      );
      return;
    case 'naive':
      await ctx.client.workflow.start(naivePollApsJob, {
        taskQueue,
        workflowId: job.workflowId,
        args: [input],
      });
      return;
    case 'heartbeat':
      await ctx.client.workflow.start(heartbeatPollApsJob, {
        taskQueue,
        workflowId: job.workflowId,
        args: [input],
      });
      return;
  }
}

interface ClosedWorkflow {
  status: string;
  closeTime: number | undefined;
  historyLength: number;
  historySize: number | undefined;
}

async function listWorkflows(client: Client, taskQueue: string): Promise<Map<string, ClosedWorkflow>> {
  const out = new Map<string, ClosedWorkflow>();
  for await (const wf of client.workflow.list({ query: `TaskQueue="${taskQueue}"`, pageSize: 1000 })) {
    out.set(wf.workflowId, {
      status: wf.status.name,
      closeTime: wf.closeTime?.getTime(),
      historyLength: wf.historyLength,
      historySize: wf.historySize,
    });
  }
  return out;
}

async function countClosed(client: Client, taskQueue: string): Promise<number> {
  const { count } = await client.workflow.count(`TaskQueue="${taskQueue}" AND ExecutionStatus!="Running"`);
  return count;
}

async function terminateLeftovers(
  client: Client,
  taskQueue: string,
  log: (line: string) => void,
): Promise<void> {
  const ids: string[] = [];
  for await (const wf of client.workflow.list({
    query: `TaskQueue="${taskQueue}" AND ExecutionStatus="Running"`,
  })) {
    ids.push(wf.workflowId);
  }
  let failed = 0;
  await pool(ids, 20, async (id) => {
    try {
      await client.workflow.getHandle(id).terminate('benchmark phase timed out');
    } catch (err) {
      // One that closed meanwhile is fine; anything else is reported, and the run goes on.
      failed += 1;
      if (failed <= 3) log(`  could not terminate ${id}: ${String(err)}`);
    }
  });
}

async function runPhase(ctx: PhaseContext, strategy: StrategyName): Promise<PhaseResult> {
  const { config, client, opts } = ctx;
  const log = opts.log;
  const n = config.jobs;
  const taskQueue = `bench-${ctx.runTag}-${ctx.configIndex}-${strategy}`;
  const jobs = planJobs(ctx, strategy);
  const waits = strategy !== 'empty';
  const maxStartingMs = waits ? max(jobs.map((j) => j.startingMs)) : 0;

  let emulator: RunningEmulator | undefined;
  let worker: BenchWorker | undefined;
  try {
    let aps: WorkerProcessConfig['aps'];
    if (waits) {
      const key = generateAccessKey();
      const scripts: JobScript[] = jobs.map((j) => ({
        apsJobId: j.apsJobId,
        regionId: REGION,
        kind: 'streaming',
        // Time-based only: the job turns Running exactly startingMs after the effective start,
        // whoever polls when, so "became running" is known without the poll that saw it.
        startingMs: j.startingMs,
      }));
      emulator = await startEmulator({
        accessKeys: [key],
        jobs: scripts,
        requestLogLimit: n * (config.polls + 20) + 1_000,
      });
      aps = {
        endpoint: emulator.endpoint,
        accessKeyId: key.accessKeyId,
        accessKeySecret: key.accessKeySecret,
      };
    }
    worker = await startBenchWorker(
      {
        address: ctx.server.address,
        namespace: 'default',
        taskQueue,
        workflowBundlePath: ctx.bundlePath,
        aps,
        waitingActivity: WAITING_ACTIVITY[strategy],
        maxConcurrentActivityTaskExecutions: ctx.maxActivities,
        maxConcurrentWorkflowTaskExecutions: opts.maxWorkflowTasks,
        maxCachedWorkflows: opts.maxCachedWorkflows,
        workflowThreadPoolSize: opts.workflowThreads,
        sampleIntervalMs: opts.sampleIntervalMs,
      },
      opts.workerNodeOptions,
    );

    const loadBefore = loadavg()[0] ?? 0;
    ctx.onLoad(loadBefore);
    const serverBefore: ServerSample = await ctx.server.sample();
    worker.begin();
    const t0 = Date.now();
    let started = 0;
    let startErrors = 0;
    let closed = 0;
    let startsDoneAt = 0;
    const starting = pool(jobs, opts.startConcurrency, async (job) => {
      try {
        await startOne(ctx, strategy, taskQueue, job);
        started += 1;
      } catch (err) {
        startErrors += 1;
        if (startErrors <= 3) log(`  ${strategy}: start of ${job.workflowId} failed: ${String(err)}`);
      }
    }).then(() => {
      startsDoneAt = Date.now();
    });

    const deadline = t0 + maxStartingMs + 120_000 + n * 100;
    let lastProgress = t0;
    let firstCloseAt = 0;
    for (;;) {
      await sleep(500);
      closed = await countClosed(client, taskQueue).catch(() => closed);
      const now = Date.now();
      if (closed > 0 && firstCloseAt === 0) firstCloseAt = now;
      if (startsDoneAt > 0 && closed >= started) break;
      if (now > deadline) {
        log(`  ${strategy}: deadline passed with ${closed}/${n} closed; terminating the rest`);
        break;
      }
      if (now - lastProgress >= opts.progressEveryMs) {
        lastProgress = now;
        const elapsed = (now - t0) / 1000;
        let eta: string;
        if (closed > 0 && firstCloseAt > 0 && now > firstCloseAt) {
          const rate = closed / ((now - firstCloseAt) / 1000);
          eta = `~${Math.ceil((n - closed) / Math.max(rate, 0.001))}s`;
        } else {
          const startRate = started / Math.max(elapsed, 0.001);
          const startsLeft = startsDoneAt > 0 ? 0 : (n - started) / Math.max(startRate, 0.001);
          eta = `~${Math.ceil(Math.max(0, startsLeft + (t0 + maxStartingMs - now) / 1000) + 2)}s`;
        }
        log(
          `  ${strategy}: started ${started}/${n}, closed ${closed}/${n}, ${elapsed.toFixed(0)}s, ETA ${eta}`,
        );
      }
    }
    await starting;
    const report: WorkerReport = await worker.end();
    worker = undefined;
    // The server exports its metrics on a reporting interval, and visibility work trails the last
    // close: both belong to this phase, so let them land before the counters are read.
    await sleep(opts.settleMs);
    const serverAfter = await ctx.server.sample();
    const loadAfter = loadavg()[0] ?? 0;
    ctx.onLoad(loadAfter);
    if (closed < n) await terminateLeftovers(client, taskQueue, log);

    const listed = await listWorkflows(client, taskQueue);
    const statuses: Record<string, number> = {};
    for (const wf of listed.values()) statuses[wf.status] = (statuses[wf.status] ?? 0) + 1;
    if ((statuses.COMPLETED ?? 0) < n) log(`  ${strategy}: workflow statuses ${JSON.stringify(statuses)}`);
    const rows = jobs.map((j) => ({ job: j, wf: listed.get(j.workflowId) }));
    const completedRows = rows.filter((r) => r.wf?.status === 'COMPLETED' && r.wf.closeTime !== undefined);
    const closeTimes = completedRows.map((r) => r.wf?.closeTime as number);
    const lastClose = closeTimes.length > 0 ? max(closeTimes) : Number.NaN;
    const makespanMs = closeTimes.length === n ? lastClose - t0 : Number.NaN;
    const netMakespanMs =
      closeTimes.length === n
        ? max(completedRows.map((r) => (r.wf?.closeTime as number) - (waits ? r.job.startingMs : 0))) - t0
        : Number.NaN;

    // fetchHistory on an even sample: the visibility counts must match the histories themselves.
    const sampleRows = completedRows.filter(
      (_, i) => i % Math.max(1, Math.floor(completedRows.length / opts.historySample)) === 0,
    );
    let fetched = 0;
    /**
     * The last ActivityTaskCompleted, the last WorkflowTaskStarted and the close event's times, per
     * fetched history.
     */
    const completedAt = new Map<string, { completed: number; taskStarted?: number; closed: number }>();
    let fetchedMatching = 0;
    await pool(sampleRows.slice(0, opts.historySample), 10, async (r) => {
      const history = await client.workflow.getHandle(r.job.workflowId).fetchHistory();
      fetched += 1;
      const events = history.events ?? [];
      const completed = optionalTsToMs(
        events.filter((e) => e.activityTaskCompletedEventAttributes).at(-1)?.eventTime,
      );
      const taskStarted = optionalTsToMs(
        events.filter((e) => e.workflowTaskStartedEventAttributes).at(-1)?.eventTime,
      );
      const closed = optionalTsToMs(events.at(-1)?.eventTime);
      if (completed !== undefined && closed !== undefined) {
        completedAt.set(r.job.workflowId, { completed, taskStarted, closed });
      }
      if (events.length === r.wf?.historyLength) fetchedMatching += 1;
    });

    let api: PhaseResult['api'] = null;
    let detection: PhaseResult['detection'] = null;
    let detectionParts: PhaseResult['detectionParts'] = null;
    let window: { from: number; to: number } | undefined;
    let effectiveStartsS: number | null = null;
    let peakWaitingJobs: number | null = null;
    let waitingJobSeconds = 0;
    if (emulator) {
      const log2 = emulator.requests();
      const perJob = new Map<string, typeof log2>();
      for (const e of log2) {
        if (e.apsJobId === undefined) continue;
        let list = perJob.get(e.apsJobId);
        if (!list) perJob.set(e.apsJobId, (list = []));
        list.push(e);
      }
      const calls: number[] = [];
      const polls: number[] = [];
      const latencies: number[] = [];
      const readLags: number[] = [];
      const answerToClose: number[] = [];
      const answerToCompleted: number[] = [];
      const completedToClose: number[] = [];
      const completedToTaskStarted: number[] = [];
      const taskStartedToClose: number[] = [];
      const startTimes: number[] = [];
      const runningTimes: number[] = [];
      const startDurations: number[] = [];
      const waitSteps: Array<[number, number]> = [];
      let describesBeforeStartMax = 0;
      let startsMax = 0;
      let extraMax = 0;
      for (const { job, wf } of rows) {
        const entries = perJob.get(job.apsJobId) ?? [];
        const start = entries.find((e) => e.action === 'StartApsJob' && e.applied);
        const starts = entries.filter((e) => e.action === 'StartApsJob').length;
        const describes = entries.filter((e) => e.action === 'DescribeApsJobDetail');
        const before = start ? describes.filter((e) => e.seq < start.seq).length : describes.length;
        const after = describes.length - before;
        calls.push(entries.length);
        polls.push(after);
        describesBeforeStartMax = Math.max(describesBeforeStartMax, before);
        startsMax = Math.max(startsMax, starts);
        extraMax = Math.max(extraMax, entries.length - after - 1);
        if (!start) continue;
        startDurations.push(start.durationMs);
        const startedAt = Date.parse(start.time);
        const runningAt = startedAt + job.startingMs;
        startTimes.push(startedAt);
        runningTimes.push(runningAt);
        if (wf?.status === 'COMPLETED' && wf.closeTime !== undefined) {
          latencies.push(wf.closeTime - runningAt);
          const seen = describes.at(-1);
          if (seen && seen.seq > start.seq) {
            const seenAt = Date.parse(seen.time);
            readLags.push(seenAt - runningAt);
            answerToClose.push(wf.closeTime - (seenAt + seen.durationMs));
            const h = completedAt.get(job.workflowId);
            if (h) {
              answerToCompleted.push(h.completed - (seenAt + seen.durationMs));
              completedToClose.push(h.closed - h.completed);
              if (h.taskStarted !== undefined && h.taskStarted >= h.completed) {
                completedToTaskStarted.push(h.taskStarted - h.completed);
                taskStartedToClose.push(h.closed - h.taskStarted);
              }
            }
          }
          waitSteps.push([startedAt, +1], [wf.closeTime, -1]);
        }
      }
      api = {
        callsPerJob: dist(calls),
        pollsPerJob: dist(polls),
        describesBeforeStartMax,
        startsPerJobMax: startsMax,
        extraPerJobMax: extraMax,
        startRequestP99Ms: round(percentile(startDurations, 99), 1),
      };
      const d = dist(latencies, 0);
      detection = {
        ...d,
        p50OverInterval: d.p50 === null ? null : round(d.p50 / config.pollIntervalMs, 2),
        p99OverInterval: d.p99 === null ? null : round(d.p99 / config.pollIntervalMs, 2),
      };
      detectionParts = {
        readLag: dist(readLags, 0),
        answerToClose: dist(answerToClose, 0),
        answerToCompleted: dist(answerToCompleted, 0),
        completedToClose: dist(completedToClose, 0),
        completedToTaskStarted: dist(completedToTaskStarted, 0),
        taskStartedToClose: dist(taskStartedToClose, 0),
      };
      if (startTimes.length === n) window = { from: max(startTimes), to: Math.min(...runningTimes) };
      effectiveStartsS = startTimes.length === n ? round((max(startTimes) - t0) / 1000, 2) : null;
      waitSteps.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      let level = 0;
      peakWaitingJobs = 0;
      for (const [t, d] of waitSteps) {
        waitingJobSeconds -= (d * t) / 1000;
        level += d;
        peakWaitingJobs = Math.max(peakWaitingJobs, level);
      }
    }

    const endAt = report.endAt;
    const waitingActivity = WAITING_ACTIVITY[strategy];
    let slots: PhaseResult['slots'] = null;
    if (waitingActivity) {
      const inWindow =
        window && window.to - window.from >= 1_000
          ? stepStats(report.waitingActivities, window.from, window.to)
          : undefined;
      const whole = stepStats(report.waitingActivities, report.beginAt, endAt);
      slots = {
        inFlightPeak: stepStats(report.allActivities, report.beginAt, endAt).peak,
        inFlightSampledPeak: report.inFlightActivitiesSampledPeak,
        allWaitingWindowMs: inWindow && window ? window.to - window.from : null,
        waitingPeak: inWindow ? inWindow.peak : null,
        waitingMean: inWindow ? round(inWindow.mean, 2) : null,
        waitingSlotSecondsPerJob: round(whole.integral / n, 3),
        peakWaitingJobs,
        slotShareOfWait: waitingJobSeconds > 0 ? round(whole.integral / waitingJobSeconds, 4) : null,
        waitingExecutionMs: dist(report.waitingDurationsMs, 0),
        waitingExecutions: report.waitingDurationsMs.length,
        activityFailures: report.activityFailures,
      };
    }

    const cpuMs = report.cpuUserMs + report.cpuSystemMs;
    const serverCpu = delta(serverBefore.cpuMs, serverAfter.cpuMs);
    const persistence = delta(serverBefore.persistenceRequests, serverAfter.persistenceRequests);
    const frontend = delta(serverBefore.frontendRequests, serverAfter.frontendRequests);
    const makespanS = makespanMs / 1000;
    const netMakespanS = netMakespanMs / 1000;
    return {
      strategy,
      jobs: n,
      completed: completedRows.length,
      notCompleted: n - completedRows.length,
      makespanS: round(makespanS, 2),
      startPhaseS: round(((startsDoneAt || Date.now()) - t0) / 1000, 2) ?? 0,
      effectiveStartsS,
      jobsPerSec: round(n / makespanS, 1),
      netJobsPerSec: round(n / netMakespanS, 1),
      netMakespanS: round(netMakespanS, 2),
      history: {
        events: dist(
          completedRows.map((r) => r.wf?.historyLength as number),
          0,
        ),
        bytes: dist(
          completedRows.map((r) => r.wf?.historySize).filter((v): v is number => v !== undefined),
          0,
        ),
        fetched,
        fetchedMatching,
      },
      api,
      detection,
      detectionParts,
      worker: {
        rssPeakMb: mb(report.rssPeakBytes),
        rssAtBeginMb: mb(report.rssAtBeginBytes),
        vmHwmMb: mb(report.vmHwmBytes),
        heapTotalAtPeakMb: mb(report.atRssPeak.heapTotal),
        heapUsedAtPeakMb: mb(report.atRssPeak.heapUsed),
        externalAtPeakMb: mb(report.atRssPeak.external),
        cpuS: round(cpuMs / 1000, 2),
        cpuMsPerJob: round(cpuMs / n, 2),
        cachedWorkflowsPeak: report.cachedWorkflowsPeak,
        inProcessWaitsPeak: report.inProcessWaitsPeak ?? null,
        waiterHeartbeatsPerJob:
          report.waiterHeartbeats === null ? null : round(report.waiterHeartbeats / n, 2),
        eventLoopDelayMs: {
          p50: round(report.eventLoopDelayMs.p50, 1),
          p99: round(report.eventLoopDelayMs.p99, 1),
          max: round(report.eventLoopDelayMs.max, 1),
        },
      },
      slots,
      server: {
        cpuS: serverCpu === null ? null : round(serverCpu / 1000, 2),
        cpuMsPerJob: serverCpu === null ? null : round(serverCpu / n, 2),
        persistenceRequestsPerJob: persistence === null ? null : round(persistence / n, 1),
        frontendRequestsPerJob: frontend === null ? null : round(frontend / n, 1),
      },
      load: [round(loadBefore, 2) ?? 0, round(loadAfter, 2) ?? 0],
    };
  } finally {
    worker?.kill();
    await emulator?.close();
  }
}

/**
 * Rough duration of a phase, s, for the ETA before anything was measured: on a 2-core machine the
 * ceiling completes ~70 workflows/s and the waiting strategies start ~25 jobs/s while others poll.
 */
function estimatePhaseS(config: BenchConfig, strategy: StrategyName): number {
  if (strategy === 'empty') return 6 + config.jobs / 70;
  return 8 + (config.polls * config.pollIntervalMs) / 1000 + config.jobs / 25;
}

/**
 * The configurations a run will go through and its rough duration, from the same estimate as the
 * ETA of each phase's progress line: one line per configuration and a last one with the total.
 */
export function describePlan(options: Pick<BenchOptions, 'configs' | 'strategies'>): string[] {
  const strategies = STRATEGIES.filter((s) => (options.strategies ?? STRATEGIES).includes(s));
  const estimates = options.configs.map((config) =>
    strategies.reduce((sum, strategy) => sum + estimatePhaseS(config, strategy), 0),
  );
  const total = estimates.reduce((sum, s) => sum + s, 0);
  return [
    ...options.configs.map(
      (config, i) =>
        `bench: configuration ${i + 1}/${options.configs.length}: ${configLabel(config)}, ~${formatMs(Math.round(estimates[i] ?? 0) * 1000)}`,
    ),
    `bench: ${options.configs.length} configurations × ${strategies.length} strategies (${strategies.join(', ')}); run ETA ~${formatMs(Math.round(total) * 1000)}`,
  ];
}

/**
 * The worker's cache and workflow-task slots: the package's defaults (`resolveWorkerTuning`, what
 * `createApsWorker` and the `worker` command run with) unless set; `maxCachedWorkflows: 'sdk'`
 * leaves the cache to the SDK (sized from the heap limit, ~2,300 runs on a 4 GiB heap).
 */
function workerTuningOf(options: BenchOptions): {
  maxWorkflowTasks: number;
  maxCachedWorkflows: number | undefined;
  workflowThreads: number;
} {
  const workflowThreads = options.workflowThreads ?? DEFAULT_WORKER_TUNING.workflowThreadPoolSize;
  if (options.maxCachedWorkflows === 'sdk') {
    return {
      maxWorkflowTasks: options.maxWorkflowTasks ?? DEFAULT_WORKER_TUNING.maxConcurrentWorkflowTaskExecutions,
      maxCachedWorkflows: undefined,
      workflowThreads,
    };
  }
  const tuning = resolveWorkerTuning({
    maxCachedWorkflows: options.maxCachedWorkflows,
    maxConcurrentWorkflowTaskExecutions: options.maxWorkflowTasks,
    workflowThreadPoolSize: workflowThreads,
  });
  return {
    maxWorkflowTasks: tuning.maxConcurrentWorkflowTaskExecutions,
    maxCachedWorkflows: tuning.maxCachedWorkflows,
    workflowThreads: tuning.workflowThreadPoolSize,
  };
}

/** Runs every configuration and strategy; returns what was measured. */
export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const strategies = STRATEGIES.filter((s) => (options.strategies ?? STRATEGIES).includes(s));
  const opts: PhaseContext['opts'] = {
    startConcurrency: options.startConcurrency ?? 50,
    ...workerTuningOf(options),
    historySample: options.historySample ?? 20,
    sampleIntervalMs: options.sampleIntervalMs ?? 100,
    progressEveryMs: options.progressEveryMs ?? 5_000,
    settleMs: options.settleMs ?? 2_000,
    workerNodeOptions: options.workerNodeOptions ?? WORKER_NODE_OPTIONS.split(' '),
    log,
  };
  const startedAt = new Date();
  const loadAtStart = loadavg();
  let maxLoad = loadAtStart[0] ?? 0;
  const runTag = randomBytes(3).toString('hex');

  const server =
    options.server === 'stack'
      ? (log('bench: starting the local production stack (PostgreSQL, 4 history shards)'),
        await startStackBenchServer({ log, extraConfig: options.serverConfig }))
      : (log(
          `bench: starting the Temporal dev server (${options.dbFile ? `SQLite file ${options.dbFile}` : 'in-memory SQLite'})`,
        ),
        await startBenchServer({ dbFile: options.dbFile, log, extraConfig: options.serverConfig }));
  const tmp = mkdtempSync(join(tmpdir(), 'aps-bench-'));
  try {
    log('bench: bundling the workflows');
    const bundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('./workflows'),
      logger: quietLogger,
    });
    const bundlePath = join(tmp, 'workflow-bundle.js');
    writeFileSync(bundlePath, bundle.code);

    // What the idle server burns, to read its per-phase CPU against.
    const idleFrom = await server.sample();
    await sleep(options.idleProbeMs ?? 3_000);
    const idleTo = await server.sample();
    const idleCpu = delta(idleFrom.cpuMs, idleTo.cpuMs);
    const serverIdleCpuPct = idleCpu === null ? null : round((100 * idleCpu) / (idleTo.at - idleFrom.at), 1);

    const plan = options.configs.flatMap((config, configIndex) =>
      strategies.map((strategy) => ({ config, configIndex, strategy })),
    );
    let estimateLeft = plan.reduce((s, p) => s + estimatePhaseS(p.config, p.strategy), 0);
    let scale = 1;
    const configs: ConfigResult[] = options.configs.map((config) => ({
      ...config,
      startingMsMean: Math.round(
        mean(Array.from({ length: config.jobs }, (_, i) => startingMsFor(config, i))),
      ),
      maxActivities:
        options.maxActivities ??
        Math.max(DEFAULT_WORKER_TUNING.maxConcurrentActivityTaskExecutions, config.jobs),
      phases: {},
    }));

    for (const [i, p] of plan.entries()) {
      const header = `[${i + 1}/${plan.length}] ${configLabel(p.config)} ${p.strategy}`;
      log(
        `${header}: ${p.config.jobs} workflows${p.strategy === 'empty' ? '' : `, jobs Starting ~${formatMs(configs[p.configIndex]?.startingMsMean ?? 0)}`}; run ETA ~${formatMs(Math.round(estimateLeft * scale) * 1000)}`,
      );
      const est = estimatePhaseS(p.config, p.strategy);
      const began = Date.now();
      const ctx: PhaseContext = {
        server,
        client: server.env.client,
        bundlePath,
        runTag,
        configIndex: p.configIndex,
        config: p.config,
        maxActivities:
          configs[p.configIndex]?.maxActivities ?? DEFAULT_WORKER_TUNING.maxConcurrentActivityTaskExecutions,
        opts,
        onLoad: (l) => {
          maxLoad = Math.max(maxLoad, l);
        },
      };
      const result = await runPhase(ctx, p.strategy);
      const tookS = (Date.now() - began) / 1000;
      estimateLeft -= est;
      scale = 0.5 * scale + 0.5 * (tookS / est);
      (configs[p.configIndex] as ConfigResult).phases[p.strategy] = result;
      log(
        `${header}: done in ${tookS.toFixed(0)}s: ${result.completed}/${result.jobs} completed, ${result.jobsPerSec ?? '-'} jobs/s, ` +
          `${result.history.events.p50 ?? '-'} events/wf` +
          (result.detection ? `, detection p99 ${result.detection.p99 ?? '-'} ms` : '') +
          `, worker RSS ${result.worker.rssPeakMb ?? '-'} MB`,
      );
    }

    const finishedAt = new Date();
    return {
      meta: {
        startedAt: startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        durationS: Math.round((finishedAt.getTime() - startedAt.getTime()) / 1000),
        command: options.command ?? 'npm run bench',
        machine: {
          nproc: cpus().length,
          cpuModel: cpus()[0]?.model ?? 'unknown',
          memoryGiB: round(totalmem() / 1024 ** 3, 1) ?? 0,
          node: process.version,
          platform: `${process.platform} ${process.arch}`,
        },
        temporal: {
          cli: server.cli.version ?? 'unknown',
          cliSource: server.cli.source,
          cliRelease: TEMPORAL_CLI_VERSION,
          storage: server.storage,
          serverIdleCpuPct,
          dynamicConfig: { ...BENCH_DYNAMIC_CONFIG, ...options.serverConfig },
        },
        worker: {
          maxWorkflowTasks: opts.maxWorkflowTasks,
          maxCachedWorkflows: opts.maxCachedWorkflows ?? 'SDK default',
          workflowThreads: opts.workflowThreads,
          maxActivities:
            options.maxActivities === undefined
              ? `max(${DEFAULT_WORKER_TUNING.maxConcurrentActivityTaskExecutions}, N)`
              : String(options.maxActivities),
          nodeOptions: opts.workerNodeOptions,
          startConcurrency: opts.startConcurrency,
          process: 'one child process per phase (node --require tsx/cjs bench/worker-process.ts)',
        },
        load: {
          atStart: loadAtStart.map((l) => round(l, 2) ?? 0),
          atEnd: loadavg().map((l) => round(l, 2) ?? 0),
          maxSeen1m: round(maxLoad, 2) ?? 0,
        },
      },
      configs,
    };
  } finally {
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}
