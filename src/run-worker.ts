/**
 * The worker: one Runtime, one connection, one Worker on the `aps-jobs` task queue (by default),
 * and a clean shutdown on SIGINT/SIGTERM. Its process entries are `src/worker.ts` (`npm run
 * worker`, `node lib/worker.js`) and `aps-jobs worker`, which set the heap defaults first.
 */
import { existsSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';
import { inspect } from 'node:util';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogEntry } from '@temporalio/worker';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { AsyncCompletionClient } from '@temporalio/client';
import {
  createActivities,
  InProcessWaiter,
  RATE_LIMITED_CALLS_PER_ATTEMPT,
  RATE_LIMITED_ACTION_LOG_CALLS,
  RATE_LIMITED_ERR_MESSAGE_PAGES,
  type ActivityObservers,
} from './activities';
import { checkCredentials, createApsApi, type ApsClientOptions } from './aps/client';
import type { ApsApi } from './aps/types';
import {
  alibabaConfigFrom,
  ConfigError,
  heapFlagsFrom,
  type ApiRateLimits,
  resolveWorkerTuning,
  workerConfigFrom,
  type ObservabilityConfig,
  type WorkerConfig,
  type WorkerTuning,
} from './config';
import { validateRetryRules } from './retry';
import type { RetryRule } from './retry/types';
import { InputValidationError } from './validation';
import { createMetricObservers, recordApiCall } from './metrics';

/** Options of {@link createApsWorker}. */
export interface ApsWorkerOptions {
  /** Connection to the Temporal server. */
  connection: NativeConnection;
  /**
   * A connection of its own for the in-process waiter's calls (heartbeats, completions, hand-backs),
   * apart from the worker's polls; without it they share `connection`. BENCHMARKS.md has what it
   * changed with 1,000 jobs waiting. `runWorkerFromEnv` opens one.
   */
  waiterConnection?: NativeConnection;
  /** Namespace (default `default`). */
  namespace?: string;
  /** Task queue. */
  taskQueue: string;
  /** The APS API the activities call. */
  aps: ApsApi;
  /** Worker-wide retry rules, validated. */
  workerRules?: RetryRule[];
  /** Metric hooks. */
  observers?: ActivityObservers;
  /** A prebuilt workflow bundle (`npm run bundle`); otherwise the workflows are bundled at start. */
  workflowBundlePath?: string;
  /** Worker identity. */
  identity?: string;
  /** Cache and slot sizes; each unset one takes its `DEFAULT_WORKER_TUNING` value. */
  tuning?: Partial<WorkerTuning>;
  /**
   * Hold waits in process between reads (default true, false under a rate limit); false makes every
   * read one attempt.
   */
  inProcessWaits?: boolean;
  /** API rate limits, enforced through the activity rates ({@link rateLimitPlan}). */
  rateLimits?: ApiRateLimits;
}

/** How a worker enforces its API rate limits (see {@link rateLimitPlan}). */
export interface RateLimitPlan {
  /** Activity attempts per second across the task queue (`maxTaskQueueActivitiesPerSecond`). */
  maxTaskQueueActivitiesPerSecond?: number;
  /** Activity attempts per second of this worker (`maxActivitiesPerSecond`). */
  maxActivitiesPerSecond?: number;
  /** Whether waits are held in process. */
  inProcessWaits: boolean;
  /** The ErrMessage lookup's page cap, when a limit lowers it. */
  errMessagePages?: number;
  /** The reasons' DescribeApsActionLogs call cap, when a limit lowers it. */
  actionLogCalls?: number;
  /** API calls one attempt makes at most (the factor k), when a limit is set. */
  callsPerAttempt?: number;
}

/**
 * Turns API rate limits (calls per second) into activity rates (attempts per second): each limit
 * divided by the most calls one attempt makes, {@link RATE_LIMITED_CALLS_PER_ATTEMPT}. That bound
 * holds only when every read is an attempt of its own, so a limit turns waits held in process off
 * (the waiter reads on its own timers, with no task for the server to throttle) and caps the
 * ErrMessage and reasons lookups of a failed job. Conservative by that factor: most attempts make one or two calls.
 */
export function rateLimitPlan(limits: ApiRateLimits = {}, inProcessWaits?: boolean): RateLimitPlan {
  const { perSecond, perWorkerPerSecond } = limits;
  if (perSecond === undefined && perWorkerPerSecond === undefined) {
    return { inProcessWaits: inProcessWaits ?? true };
  }
  if (inProcessWaits === true) {
    throw new ConfigError(
      'an API rate limit cannot be enforced while waits are held in process (their reads are not activity tasks): drop inProcessWaits or the limit',
    );
  }
  const k = RATE_LIMITED_CALLS_PER_ATTEMPT;
  return {
    ...(perSecond !== undefined ? { maxTaskQueueActivitiesPerSecond: perSecond / k } : {}),
    ...(perWorkerPerSecond !== undefined ? { maxActivitiesPerSecond: perWorkerPerSecond / k } : {}),
    inProcessWaits: false,
    errMessagePages: RATE_LIMITED_ERR_MESSAGE_PAGES,
    actionLogCalls: RATE_LIMITED_ACTION_LOG_CALLS,
    callsPerAttempt: k,
  };
}

/**
 * The worker's in-process waiter on its own connection: waits are completed, heartbeated and handed
 * back through it. Close it after the worker stopped and before the connection closes.
 */
export function createInProcessWaiter(
  connection: NativeConnection,
  namespace = 'default',
  maxConcurrentSteps?: number,
): InProcessWaiter {
  return new InProcessWaiter({
    completion: new AsyncCompletionClient({ connection, namespace }),
    ...(maxConcurrentSteps !== undefined ? { maxConcurrentSteps } : {}),
  });
}

/**
 * Creates the worker with the package's workflows and activities. Its `run()` also hands back the
 * waits it holds in process when the worker stops, so another worker takes them over at once.
 */
export async function createApsWorker(opts: ApsWorkerOptions): Promise<Worker> {
  const tuning = resolveWorkerTuning(opts.tuning);
  const plan = rateLimitPlan(opts.rateLimits, opts.inProcessWaits);
  const waiter = !plan.inProcessWaits
    ? undefined
    : createInProcessWaiter(
        opts.waiterConnection ?? opts.connection,
        opts.namespace ?? 'default',
        tuning.maxConcurrentActivityTaskExecutions,
      );
  const worker = await Worker.create({
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    taskQueue: opts.taskQueue,
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...(opts.workflowBundlePath
      ? { workflowBundle: { codePath: opts.workflowBundlePath } }
      : { workflowsPath: require.resolve('./workflows') }),
    activities: createActivities({
      aps: opts.aps,
      workerRules: opts.workerRules,
      observers: opts.observers,
      ...(waiter ? { waiter } : {}),
      ...(plan.errMessagePages !== undefined ? { errMessagePages: plan.errMessagePages } : {}),
      ...(plan.actionLogCalls !== undefined ? { actionLogCalls: plan.actionLogCalls } : {}),
    }),
    ...tuning,
    // Sent with every activity poll: the server's task-queue limit is the last value it received,
    // so every worker of the queue must send the same one.
    ...(plan.maxTaskQueueActivitiesPerSecond !== undefined
      ? { maxTaskQueueActivitiesPerSecond: plan.maxTaskQueueActivitiesPerSecond }
      : {}),
    ...(plan.maxActivitiesPerSecond !== undefined
      ? { maxActivitiesPerSecond: plan.maxActivitiesPerSecond }
      : {}),
    // An activity executed eagerly (handed back with a workflow task's completion) is never
    // dispatched by the task queue, so it would escape its rate limit.
    ...(plan.callsPerAttempt !== undefined ? { maxEagerActivityReservationsPerWorkflowTask: 0 } : {}),
  });
  if (waiter) {
    const run = worker.run.bind(worker);
    worker.run = async () => {
      try {
        await run();
      } finally {
        await waiter.close();
      }
    };
  }
  return worker;
}

/** Validates the worker-wide rules from the environment; a bad rule is a {@link ConfigError}. */
export function workerRulesFrom(config: WorkerConfig): RetryRule[] | undefined {
  if (config.retryRules === undefined) return undefined;
  try {
    return validateRetryRules(config.retryRules, config.retryRulesSource ?? 'APS_RETRY_RULES');
  } catch (err) {
    if (err instanceof InputValidationError) throw new ConfigError(err.message);
    throw err;
  }
}

/** The APS client options from the worker config. */
export function apsClientOptions(
  config: WorkerConfig,
  extra: Partial<ApsClientOptions> = {},
): ApsClientOptions {
  // The Alibaba Cloud settings are the client's connection options, field for field.
  return { ...config.alibaba, ...extra };
}

/**
 * The APS client as the package's worker configures it from the environment (`ALIBABA_CLOUD_*`,
 * `ADB_*`; see the README's configuration table): for a worker of your own. Throws a
 * {@link ConfigError} naming the variable when a value is unusable.
 */
export function apsApiFromEnv(env: NodeJS.ProcessEnv = process.env): ApsApi {
  return createApsApi(alibabaConfigFrom(env));
}

/**
 * One log entry as one line: JSON, or text (`time [LEVEL] message {meta}`) with the metadata kept
 * on the same line however long it is, so that a grep for a message and a field finds the entry.
 */
export function formatLogLine(entry: LogEntry, format: 'text' | 'json'): string {
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  if (format === 'json') {
    return `${JSON.stringify({ time, level: entry.level, message: entry.message, ...entry.meta })}\n`;
  }
  const meta =
    entry.meta && Object.keys(entry.meta).length > 0
      ? ` ${inspect(entry.meta, { breakLength: Infinity, compact: true, depth: 4 })}`
      : '';
  return `${time} [${entry.level}] ${entry.message}${meta}\n`;
}

/** Installs the Runtime: logger (text or JSON lines) and, when configured, the Prometheus exporter. */
export function installRuntime(obs: ObservabilityConfig): void {
  const logger = new DefaultLogger(obs.logLevel, (entry) => {
    process.stderr.write(formatLogLine(entry, obs.logFormat));
  });
  Runtime.install({
    logger,
    telemetryOptions: obs.metricsAddress
      ? { metrics: { prometheus: { bindAddress: obs.metricsAddress } } }
      : undefined,
  });
}

/** Reads the environment, checks it, and runs the worker until SIGINT/SIGTERM. */
export async function runWorkerFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = workerConfigFrom(env);
  const workerRules = workerRulesFrom(config);
  installRuntime(config.observability);
  Runtime.instance().logger.debug('worker process', {
    pid: process.pid,
    heapLimitMiB: heapLimitMiB(),
    heapFlags: heapFlagsFrom(process.execArgv),
  });
  const metricsOn = config.observability.metricsAddress !== undefined;
  const clientOptions = apsClientOptions(config, metricsOn ? { onCall: recordApiCall } : {});
  await checkCredentials(clientOptions).catch((err: unknown) => {
    throw new ConfigError(`Alibaba Cloud credentials are unusable: ${(err as Error).message}`);
  });
  const connect = loadClientConnectConfig();
  const address = connect.connectionOptions.address ?? 'localhost:7233';
  const connection = await NativeConnection.connect(connect.connectionOptions).catch((err: unknown) => {
    const detail = err instanceof Error ? err.message : String(err);
    throw new ConfigError(`cannot reach Temporal at ${address} (TEMPORAL_ADDRESS): ${detail}`);
  });
  const bundle = config.workflowBundlePath;
  if (bundle && !existsSync(bundle)) {
    throw new ConfigError(`APS_WORKFLOW_BUNDLE: no file at ${bundle}; run 'npm run bundle' or unset it`);
  }
  // The waiter's heartbeats and completions go over a connection of their own, apart from the polls.
  let waiterConnection: NativeConnection | undefined;
  try {
    if (rateLimitPlan(config.rateLimits).inProcessWaits) {
      waiterConnection = await NativeConnection.connect(connect.connectionOptions);
    }
    const worker = await createApsWorker({
      connection,
      ...(waiterConnection ? { waiterConnection } : {}),
      namespace: connect.namespace,
      taskQueue: config.taskQueue,
      aps: createApsApi(clientOptions),
      workerRules,
      observers: metricsOn
        ? createMetricObservers({ workerRuleNames: workerRules?.map((r) => r.name) })
        : undefined,
      workflowBundlePath: bundle,
      tuning: config.tuning,
      rateLimits: config.rateLimits,
    });
    const plan = rateLimitPlan(config.rateLimits);
    Runtime.instance().logger.info('worker started', {
      taskQueue: config.taskQueue,
      namespace: connect.namespace ?? 'default',
      endpoint: clientOptions.endpoint ?? `per-region (${clientOptions.endpointType})`,
      metrics: config.observability.metricsAddress ?? 'off',
      ...config.tuning,
      inProcessWaits: plan.inProcessWaits,
      apiRateLimit: config.rateLimits.perSecond ?? 'off',
      apiRateLimitPerWorker: config.rateLimits.perWorkerPerSecond ?? 'off',
      ...(plan.callsPerAttempt !== undefined ? { apiCallsPerAttempt: plan.callsPerAttempt } : {}),
      ...(plan.maxTaskQueueActivitiesPerSecond !== undefined
        ? { maxTaskQueueActivitiesPerSecond: round3(plan.maxTaskQueueActivitiesPerSecond) }
        : {}),
      ...(plan.maxActivitiesPerSecond !== undefined
        ? { maxActivitiesPerSecond: round3(plan.maxActivitiesPerSecond) }
        : {}),
      heapLimitMiB: heapLimitMiB(),
    });
    // The Runtime turns SIGINT/SIGTERM into a graceful shutdown: in-flight activities finish or
    // are cancelled with reason "worker shutdown", which never suspends a job.
    await worker.run();
  } finally {
    await waiterConnection?.close();
    await connection.close();
  }
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/** The V8 heap limit of this process in MiB (old space and young generation). */
function heapLimitMiB(): number {
  return Math.round(getHeapStatistics().heap_size_limit / 2 ** 20);
}
