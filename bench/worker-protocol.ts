/**
 * Messages between the harness and a benchmark worker process (Node IPC).
 */

/** How the worker process is set up. */
export interface WorkerProcessConfig {
  /** Temporal frontend `host:port`. */
  address: string;
  /** Namespace. */
  namespace: string;
  /** Task queue of this phase. */
  taskQueue: string;
  /** The prebuilt workflow bundle (every benchmark workflow). */
  workflowBundlePath: string;
  /** The emulator and its key; absent for the empty-workflow phase (no activities). */
  aps?: { endpoint: string; accessKeyId: string; accessKeySecret: string };
  /** The activity type whose executions are the waiting (their slots are tracked apart). */
  waitingActivity?: string;
  /** Worker option of the same name. */
  maxConcurrentActivityTaskExecutions: number;
  /** Worker option of the same name. */
  maxConcurrentWorkflowTaskExecutions: number;
  /** Worker option of the same name (SDK default when absent). */
  maxCachedWorkflows?: number;
  /** Worker option of the same name. */
  workflowThreadPoolSize: number;
  /** How often RSS and the worker status are sampled, ms. */
  sampleIntervalMs: number;
}

/** A step change of a count: `[epoch ms, new value]`. */
export type Step = [number, number];

/** What the worker process measured between `begin` and `end`. */
export interface WorkerReport {
  /** Epoch ms of `begin` and `end`. */
  beginAt: number;
  endAt: number;
  /** CPU time of the process between `begin` and `end`, ms. */
  cpuUserMs: number;
  cpuSystemMs: number;
  /** Largest sampled RSS between `begin` and `end`, bytes. */
  rssPeakBytes: number;
  /** process.memoryUsage() when the sampled RSS peaked (the V8 heap of the main thread only). */
  atRssPeak: { heapTotal: number; heapUsed: number; external: number; arrayBuffers: number };
  /** RSS at `begin`, bytes. */
  rssAtBeginBytes: number;
  /** The kernel's high-water mark of the process's RSS (VmHWM), bytes; null where /proc is absent. */
  vmHwmBytes: number | null;
  /** Largest sampled `Worker.getStatus().numCachedWorkflows`. */
  cachedWorkflowsPeak: number;
  /** Largest sampled `Worker.getStatus().numInFlightActivities`. */
  inFlightActivitiesSampledPeak: number;
  /** Most waits the in-process waiter held at once (no slot each), when the worker has one. */
  inProcessWaitsPeak: number | null;
  /** Heartbeats the waiter sent between begin and end (null without a waiter). */
  waiterHeartbeats: number | null;
  /** Delay of the worker's main event loop between begin and end, ms (perf_hooks histogram). */
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  /** Activity executions in flight (every type): every change. */
  allActivities: Step[];
  /** Executions of the waiting activity in flight: every change. */
  waitingActivities: Step[];
  /** Wall time of each execution of the waiting activity, ms. */
  waitingDurationsMs: number[];
  /** Activity executions that threw, by type (retries of `waitForApsJob` are expected). */
  activityFailures: Record<string, number>;
}

/** Harness → worker. */
export type ToWorker = { type: 'init'; config: WorkerProcessConfig } | { type: 'begin' } | { type: 'end' };

/** Worker → harness. */
export type FromWorker =
  { type: 'ready' } | { type: 'report'; report: WorkerReport } | { type: 'error'; message: string };
