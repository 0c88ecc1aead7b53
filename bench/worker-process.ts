/**
 * A benchmark worker in a process of its own, so that its RSS and CPU are the worker's alone:
 * the package's activities plus the bench-only ones, every benchmark workflow, and counters of
 * the activity executions in flight. Driven over IPC by the harness (see worker-protocol.ts).
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { CompleteAsyncError } from '@temporalio/activity';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities, type InProcessWaiter } from '../src/activities';
import { createInProcessWaiter } from '../src/run-worker';
import { createApsApi } from '../src/aps/client';
import { createBenchActivities } from './activities';
import type { FromWorker, Step, ToWorker, WorkerProcessConfig, WorkerReport } from './worker-protocol';

type AnyActivity = (...args: never[]) => Promise<unknown>;

/** Counts executions in flight, overall and of the waiting activity, recording every change. */
class InFlightTracker {
  private all = 0;
  private waiting = 0;
  readonly allSteps: Step[] = [];
  readonly waitingSteps: Step[] = [];
  readonly waitingDurationsMs: number[] = [];
  readonly failures: Record<string, number> = {};

  constructor(private readonly waitingActivity: string | undefined) {}

  wrap(activities: Record<string, AnyActivity>): Record<string, AnyActivity> {
    const out: Record<string, AnyActivity> = {};
    for (const [name, fn] of Object.entries(activities)) {
      const isWaiting = (this.waitingActivity ?? '').split(',').includes(name);
      out[name] = async (...args: never[]) => {
        const started = Date.now();
        this.change(isWaiting, +1, started);
        try {
          return await fn(...args);
        } catch (err) {
          // A wait handed to the in-process waiter ends the function early; it is no failure.
          if (!(err instanceof CompleteAsyncError)) this.failures[name] = (this.failures[name] ?? 0) + 1;
          throw err;
        } finally {
          const ended = Date.now();
          this.change(isWaiting, -1, ended);
          if (isWaiting) this.waitingDurationsMs.push(ended - started);
        }
      };
    }
    return out;
  }

  private change(isWaiting: boolean, delta: number, at: number): void {
    this.all += delta;
    this.allSteps.push([at, this.all]);
    if (isWaiting) {
      this.waiting += delta;
      this.waitingSteps.push([at, this.waiting]);
    }
  }
}

function vmHwmBytes(): number | null {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m?.[1] ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

function send(msg: FromWorker): void {
  process.send?.(msg);
}

async function main(config: WorkerProcessConfig): Promise<void> {
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => {
      // The ceiling's worker has no activities on purpose.
      if (entry.message.startsWith('No activities registered')) return;
      process.stderr.write(`worker: [${entry.level}] ${entry.message} ${JSON.stringify(entry.meta ?? {})}\n`);
    }),
  });
  const tracker = new InFlightTracker(config.waitingActivity);
  let activities: Record<string, AnyActivity> | undefined;
  const connection = await NativeConnection.connect({ address: config.address });
  // The package's worker holds waits in process, their calls on a connection of their own
  // (runWorkerFromEnv does the same).
  let waiter: InProcessWaiter | undefined;
  let waiterConnection: NativeConnection | undefined;
  if (config.aps) {
    waiterConnection = await NativeConnection.connect({ address: config.address });
    waiter = createInProcessWaiter(
      waiterConnection,
      config.namespace,
      config.maxConcurrentActivityTaskExecutions,
    );
    const aps = createApsApi({
      credentials: {
        kind: 'access-key',
        accessKeyId: config.aps.accessKeyId,
        accessKeySecret: config.aps.accessKeySecret,
      },
      endpoint: config.aps.endpoint,
      protocol: 'http',
      connectTimeoutMs: 10_000,
      readTimeoutMs: 10_000,
    });
    activities = tracker.wrap({ ...createActivities({ aps, waiter }), ...createBenchActivities({ aps }) });
  }
  const worker = await Worker.create({
    connection,
    namespace: config.namespace,
    taskQueue: config.taskQueue,
    workflowBundle: { codePath: config.workflowBundlePath },
    activities,
    maxConcurrentActivityTaskExecutions: config.maxConcurrentActivityTaskExecutions,
    maxConcurrentWorkflowTaskExecutions: config.maxConcurrentWorkflowTaskExecutions,
    ...(config.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: config.maxCachedWorkflows } : {}),
    workflowThreadPoolSize: config.workflowThreadPoolSize,
    shutdownGraceTime: '2s',
  });

  let beginAt = 0;
  let cpuAtBegin: NodeJS.CpuUsage | undefined;
  let rssAtBegin = 0;
  let rssPeak = 0;
  let cachedPeak = 0;
  let inFlightPeak = 0;
  let sampler: NodeJS.Timeout | undefined;
  let atRssPeak: WorkerReport['atRssPeak'] = { heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  const sample = (): void => {
    const rss = process.memoryUsage.rss();
    if (rss > rssPeak) {
      rssPeak = rss;
      const { heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
      atRssPeak = { heapTotal, heapUsed, external, arrayBuffers };
    }
    const status = worker.getStatus();
    cachedPeak = Math.max(cachedPeak, status.numCachedWorkflows);
    inFlightPeak = Math.max(inFlightPeak, status.numInFlightActivities);
  };

  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  let heartbeatsAtBegin = 0;
  const running = worker.run();
  process.on('message', (msg: ToWorker) => {
    if (msg.type === 'begin') {
      beginAt = Date.now();
      cpuAtBegin = process.cpuUsage();
      rssAtBegin = process.memoryUsage.rss();
      rssPeak = rssAtBegin;
      sampler = setInterval(sample, config.sampleIntervalMs);
      loopDelay.enable();
      heartbeatsAtBegin = waiter?.stats().heartbeats ?? 0;
    } else if (msg.type === 'end') {
      const endAt = Date.now();
      const cpu = process.cpuUsage(cpuAtBegin);
      clearInterval(sampler);
      loopDelay.disable();
      sample();
      const report: WorkerReport = {
        beginAt,
        endAt,
        cpuUserMs: cpu.user / 1000,
        cpuSystemMs: cpu.system / 1000,
        rssPeakBytes: rssPeak,
        rssAtBeginBytes: rssAtBegin,
        atRssPeak,
        vmHwmBytes: vmHwmBytes(),
        cachedWorkflowsPeak: cachedPeak,
        inFlightActivitiesSampledPeak: inFlightPeak,
        inProcessWaitsPeak: waiter ? waiter.stats().peak : null,
        waiterHeartbeats: waiter ? waiter.stats().heartbeats - heartbeatsAtBegin : null,
        eventLoopDelayMs: {
          p50: loopDelay.percentile(50) / 1e6,
          p99: loopDelay.percentile(99) / 1e6,
          max: loopDelay.max / 1e6,
        },
        allActivities: tracker.allSteps.filter(([t]) => t >= beginAt),
        waitingActivities: tracker.waitingSteps.filter(([t]) => t >= beginAt),
        waitingDurationsMs: tracker.waitingDurationsMs,
        activityFailures: tracker.failures,
      };
      send({ type: 'report', report });
      worker.shutdown();
    }
  });
  send({ type: 'ready' });
  await running;
  await waiter?.close();
  await waiterConnection?.close();
  await connection.close();
}

process.once('message', (msg: ToWorker) => {
  if (msg.type !== 'init') return;
  main(msg.config)
    .then(() => process.disconnect?.())
    .catch((err: unknown) => {
      send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      process.exitCode = 1;
      process.disconnect?.();
    });
});
