/**
 * The only reader of `process.env`: typed settings with their defaults in one place.
 * Every setting is listed in {@link SETTINGS} (the README's configuration table mirrors it).
 */
import { InputValidationError, parseDuration, validateEnum, validateRegionId } from './validation';
import { RATE_LIMITED_CALLS_PER_ATTEMPT } from './activities/call-budget';

/** One environment variable the project reads. */
export interface SettingDoc {
  /** Variable name. */
  name: string;
  /** Default, as text (empty when none). */
  default: string;
  /** What it does. */
  description: string;
}

/** How many workflow runs, workflow tasks and activities one worker holds at once. */
export interface WorkerTuning {
  /** Runs kept in the sticky cache (0: no cache). */
  maxCachedWorkflows: number;
  /** Workflow tasks executed at once. */
  maxConcurrentWorkflowTaskExecutions: number;
  /** Activities executed at once. */
  maxConcurrentActivityTaskExecutions: number;
  /**
   * Threads that run workflow code, each with its own V8 isolate (the SDK's default with its reused
   * V8 context is 1).
   */
  workflowThreadPoolSize: number;
}

/**
 * The worker's defaults. The cache is far below the SDK's heap-sized default (about 2,300 runs on
 * a 4 GiB heap): a `runApsJob` run wakes about three times per job, so keeping every waiting run in
 * memory buys little, and each cached run costs ~150 KB (see BENCHMARKS.md).
 */
export const DEFAULT_WORKER_TUNING: Readonly<WorkerTuning> = {
  maxCachedWorkflows: 100,
  maxConcurrentWorkflowTaskExecutions: 40,
  maxConcurrentActivityTaskExecutions: 100,
  workflowThreadPoolSize: 1,
};

/**
 * The Node flags of the worker when none of its heap flags is given: a 256 MiB old space and 2 MiB
 * semi-spaces, for the main isolate and the workflow thread alike. Without them (a 4 GiB heap on a
 * large machine, 16 MiB semi-spaces) V8 lets its heaps grow lazily; with them a worker with 1,000
 * waiting jobs stays near 300 MB at the same CPU (BENCHMARKS.md, Worker RSS). Raise the old space
 * with the cache. `npm run worker` puts them in `NODE_OPTIONS` when that is unset; `aps-jobs
 * worker` and `node lib/worker.js` restart themselves with them ({@link workerHeapPlan}).
 */
export const WORKER_NODE_OPTIONS = '--max-old-space-size=256 --max-semi-space-size=2';

/**
 * Set by a worker on the child it restarts with the heap defaults, so that the child knows its
 * parent relays signals (and never restarts again). Internal: not a setting.
 */
export const HEAP_RELAY_MARKER = 'APS_WORKER_HEAP_RELAY';

/** Default of ADB_CONNECT_TIMEOUT and ADB_READ_TIMEOUT. */
const DEFAULT_ADB_TIMEOUT = '30s';

/** Every environment variable the worker, client and CLI read. */
export const SETTINGS: readonly SettingDoc[] = [
  { name: 'TEMPORAL_ADDRESS', default: 'localhost:7233', description: 'Temporal frontend host:port' },
  { name: 'TEMPORAL_NAMESPACE', default: 'default', description: 'Temporal namespace' },
  { name: 'TEMPORAL_API_KEY', default: '', description: 'API key for Temporal Cloud (implies TLS)' },
  {
    name: 'TEMPORAL_TLS_*',
    default: '',
    description:
      'TLS settings read by @temporalio/envconfig (TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH, TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_SERVER_NAME, …); also TEMPORAL_PROFILE and TEMPORAL_CONFIG_FILE',
  },
  {
    name: 'TEMPORAL_TASK_QUEUE',
    default: 'aps-jobs',
    description: 'Task queue the worker polls and clients start on',
  },
  {
    name: 'ALIBABA_CLOUD_ACCESS_KEY_ID',
    default: '',
    description:
      'Access key ID; with the secret, used directly. Unset: the @alicloud/credentials default chain',
  },
  { name: 'ALIBABA_CLOUD_ACCESS_KEY_SECRET', default: '', description: 'Access key secret (never logged)' },
  {
    name: 'ALIBABA_CLOUD_SECURITY_TOKEN',
    default: '',
    description: 'STS token that goes with a temporary key pair',
  },
  {
    name: 'ADB_ENDPOINT',
    default: '',
    description:
      'Endpoint override: host[:port] (HTTPS) or http(s)://host[:port]; beats the per-region adb.<region>.aliyuncs.com',
  },
  {
    name: 'ADB_ENDPOINT_TYPE',
    default: 'public',
    description: "'public' (adb.<region>…) or 'vpc' (adb-vpc.<region>…)",
  },
  {
    name: 'ADB_CONNECT_TIMEOUT',
    default: DEFAULT_ADB_TIMEOUT,
    description:
      'Connect timeout of one API call; the HTTP layer also applies it as an idle timer to the whole exchange, so keep it ≥ ADB_READ_TIMEOUT',
  },
  { name: 'ADB_READ_TIMEOUT', default: DEFAULT_ADB_TIMEOUT, description: 'Read timeout of one API call' },
  {
    name: 'APS_RETRY_RULES',
    default: '',
    description: 'Worker-wide retry rules (JSON array), placed before the built-in defaults',
  },
  {
    name: 'APS_RETRY_RULES_FILE',
    default: '',
    description: 'Path of a JSON file with worker-wide retry rules',
  },
  {
    name: 'APS_METRICS_ADDRESS',
    default: '',
    description: 'host:port for the Prometheus endpoint (/metrics); off when unset',
  },
  {
    name: 'APS_WORKFLOW_BUNDLE',
    default: '',
    description:
      'Path of a prebuilt workflow bundle (`npm run bundle`); unset: workflows are bundled at worker start',
  },
  {
    name: 'APS_MAX_CACHED_WORKFLOWS',
    default: String(DEFAULT_WORKER_TUNING.maxCachedWorkflows),
    description:
      'Workflow runs kept in memory between their tasks; 0 turns the cache off. An evicted run replays its short history (≈17 events) when it wakes. See [Sizing the worker](#sizing-the-worker)',
  },
  {
    name: 'APS_MAX_CONCURRENT_WORKFLOW_TASKS',
    default: String(DEFAULT_WORKER_TUNING.maxConcurrentWorkflowTaskExecutions),
    description: 'Workflow tasks run at once; at most APS_MAX_CACHED_WORKFLOWS unless the cache is off',
  },
  {
    name: 'APS_MAX_CONCURRENT_ACTIVITIES',
    default: String(DEFAULT_WORKER_TUNING.maxConcurrentActivityTaskExecutions),
    description: 'Activities run at once (one APS call each; a waiting job holds no slot between polls)',
  },
  {
    name: 'APS_WORKFLOW_THREADS',
    default: String(DEFAULT_WORKER_TUNING.workflowThreadPoolSize),
    description:
      'Threads that run workflow code (each with its own V8 isolate, about 40–50 MB), 1 to 16. See [Sizing the worker](#sizing-the-worker)',
  },
  {
    name: 'APS_API_RATE_LIMIT',
    default: '',
    description: `APS API calls per second across all workers of the task queue, enforced by the Temporal server as the task queue's activity rate (this ÷ ${RATE_LIMITED_CALLS_PER_ATTEMPT}, the most calls one attempt makes); turns off waits held in process. Give every worker the same value. See [An API rate limit](#an-api-rate-limit)`,
  },
  {
    name: 'APS_API_RATE_LIMIT_PER_WORKER',
    default: '',
    description: `APS API calls per second of this worker alone (its activity rate: this ÷ ${RATE_LIMITED_CALLS_PER_ATTEMPT}); also turns off waits held in process`,
  },
  {
    name: 'APS_WORKER_HEAP_DEFAULTS',
    default: 'on',
    description: `'on': a worker started without a heap flag restarts itself once with ${WORKER_NODE_OPTIONS}; 'off': it keeps Node's own heap sizes. See [Sizing the worker](#sizing-the-worker)`,
  },
  { name: 'APS_LOG_FORMAT', default: 'text', description: "'text' or 'json' (one JSON object a line)" },
  { name: 'APS_LOG_LEVEL', default: 'INFO', description: 'TRACE, DEBUG, INFO, WARN or ERROR' },
];

/** Raised when the environment holds an unusable value; names the variable and the fix. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** How the Alibaba client gets its credentials. */
export type CredentialsConfig =
  | {
      /** An explicit key pair (optionally an STS token). */
      kind: 'access-key';
      /** Access key ID. */
      accessKeyId: string;
      /** Access key secret. */
      accessKeySecret: string;
      /** STS security token. */
      securityToken?: string;
    }
  | {
      /** The `@alicloud/credentials` default chain (env, OIDC, profile, ECS RAM role, URI). */
      kind: 'default-chain';
    };

/** Settings of the Alibaba Cloud side. */
export interface AlibabaConfig {
  /** Credentials. */
  credentials: CredentialsConfig;
  /** Explicit endpoint (host[:port]); when unset the per-region endpoint is used. */
  endpoint?: string;
  /** Protocol for the endpoint. */
  protocol: 'https' | 'http';
  /** Public or VPC per-region endpoint. */
  endpointType: 'public' | 'vpc';
  /** Connect timeout in ms. */
  connectTimeoutMs: number;
  /** Read timeout in ms. */
  readTimeoutMs: number;
}

/** Settings of logs and metrics. */
export interface ObservabilityConfig {
  /** host:port of the Prometheus endpoint, or undefined when off. */
  metricsAddress?: string;
  /** Log format. */
  logFormat: 'text' | 'json';
  /** Log level. */
  logLevel: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
}

/** API rate limits of the worker, in APS API calls per second (unset: none). */
export interface ApiRateLimits {
  /** Across all workers of the task queue (APS_API_RATE_LIMIT). */
  perSecond?: number;
  /** Of this worker alone (APS_API_RATE_LIMIT_PER_WORKER). */
  perWorkerPerSecond?: number;
}

/** What the worker needs. */
export interface WorkerConfig {
  /** Task queue. */
  taskQueue: string;
  /** Alibaba side. */
  alibaba: AlibabaConfig;
  /** Worker-wide retry rules, unvalidated (validated by the retry module at start). */
  retryRules?: unknown;
  /** Where the worker-wide rules came from, for error messages. */
  retryRulesSource?: string;
  /** Logs and metrics. */
  observability: ObservabilityConfig;
  /** A prebuilt workflow bundle, when set. */
  workflowBundlePath?: string;
  /** Cache and slot sizes. */
  tuning: WorkerTuning;
  /** API rate limits (empty when none is set). */
  rateLimits: ApiRateLimits;
}

function get(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function wrap<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof InputValidationError) {
      throw new ConfigError(`${name}: expected ${err.expected}, got ${err.got}`);
    }
    throw err;
  }
}

/** The task queue (TEMPORAL_TASK_QUEUE, default `aps-jobs`). */
export function taskQueueFrom(env: NodeJS.ProcessEnv = process.env): string {
  return get(env, 'TEMPORAL_TASK_QUEUE') ?? 'aps-jobs';
}

/** The region for a CLI command: the flag, else ADB_REGION_ID; validated. */
export function regionFrom(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const value = flag ?? get(env, 'ADB_REGION_ID');
  if (value === undefined) {
    throw new ConfigError('--region is required (or set ADB_REGION_ID), e.g. --region cn-hangzhou');
  }
  return flag !== undefined
    ? validateRegionId(value, '--region')
    : wrap('ADB_REGION_ID', () => validateRegionId(value));
}

/** Parses an endpoint override: `host[:port]` or `http(s)://host[:port]`. */
export function parseEndpoint(
  value: string,
  name = 'ADB_ENDPOINT',
): { endpoint: string; protocol: 'https' | 'http' } {
  const m = /^(?:(https?):\/\/)?([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(?::(\d{1,5}))?\/?$/.exec(value);
  if (!m || (m[3] !== undefined && (Number(m[3]) < 1 || Number(m[3]) > 65535))) {
    throw new ConfigError(
      `${name}: expected host[:port] or http(s)://host[:port] (e.g. adb.cn-hangzhou.aliyuncs.com or http://127.0.0.1:9000), got ${JSON.stringify(value)}`,
    );
  }
  const protocol = (m[1] ?? 'https') as 'https' | 'http';
  return { endpoint: m[3] ? `${m[2]}:${m[3]}` : (m[2] as string), protocol };
}

/** Reads the Alibaba settings. Secrets stay in the returned object only; they are never printed. */
export function alibabaConfigFrom(env: NodeJS.ProcessEnv = process.env): AlibabaConfig {
  const id = get(env, 'ALIBABA_CLOUD_ACCESS_KEY_ID');
  const secret = get(env, 'ALIBABA_CLOUD_ACCESS_KEY_SECRET');
  const token = get(env, 'ALIBABA_CLOUD_SECURITY_TOKEN');
  let credentials: CredentialsConfig;
  if (id && secret) {
    credentials = { kind: 'access-key', accessKeyId: id, accessKeySecret: secret, securityToken: token };
  } else if (id || secret) {
    throw new ConfigError(
      `${id ? 'ALIBABA_CLOUD_ACCESS_KEY_SECRET' : 'ALIBABA_CLOUD_ACCESS_KEY_ID'} is not set: set both ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or neither to use the default credential chain`,
    );
  } else {
    credentials = { kind: 'default-chain' };
  }
  const override = get(env, 'ADB_ENDPOINT');
  const parsed = override ? parseEndpoint(override) : undefined;
  const endpointType = wrap('ADB_ENDPOINT_TYPE', () =>
    validateEnum(get(env, 'ADB_ENDPOINT_TYPE') ?? 'public', 'ADB_ENDPOINT_TYPE', ['public', 'vpc'] as const),
  );
  const connectText = get(env, 'ADB_CONNECT_TIMEOUT');
  const readText = get(env, 'ADB_READ_TIMEOUT');
  const connectTimeoutMs = wrap('ADB_CONNECT_TIMEOUT', () =>
    parseDuration(connectText ?? DEFAULT_ADB_TIMEOUT, 'ADB_CONNECT_TIMEOUT', {
      minMs: 100,
      maxMs: 600_000,
    }),
  );
  const readTimeoutMs = wrap('ADB_READ_TIMEOUT', () =>
    parseDuration(readText ?? DEFAULT_ADB_TIMEOUT, 'ADB_READ_TIMEOUT', { minMs: 100, maxMs: 600_000 }),
  );
  // httpx arms the connect timeout as the socket's idle timer for the whole exchange: below the
  // read timeout it, not the read timeout, would end every slow answer (as a ConnectTimeout).
  if (connectTimeoutMs < readTimeoutMs) {
    const shown = (text: string | undefined): string => text ?? `${DEFAULT_ADB_TIMEOUT}, the default`;
    throw new ConfigError(
      `ADB_CONNECT_TIMEOUT (${shown(connectText)}) must be at least ADB_READ_TIMEOUT (${shown(readText)}): ` +
        `the client's connect timer also bounds the whole exchange; set ADB_CONNECT_TIMEOUT=${readText ?? DEFAULT_ADB_TIMEOUT} or more`,
    );
  }
  return {
    credentials,
    endpoint: parsed?.endpoint,
    protocol: parsed?.protocol ?? 'https',
    endpointType,
    connectTimeoutMs,
    readTimeoutMs,
  };
}

/** Reads the log and metrics settings. */
export function observabilityConfigFrom(env: NodeJS.ProcessEnv = process.env): ObservabilityConfig {
  const metricsAddress = get(env, 'APS_METRICS_ADDRESS');
  if (metricsAddress !== undefined && !/^[^\s:]*:\d{1,5}$/.test(metricsAddress)) {
    throw new ConfigError(
      `APS_METRICS_ADDRESS: expected host:port such as 0.0.0.0:9464, got ${JSON.stringify(metricsAddress)}`,
    );
  }
  const logFormat = wrap('APS_LOG_FORMAT', () =>
    validateEnum(get(env, 'APS_LOG_FORMAT') ?? 'text', 'APS_LOG_FORMAT', ['text', 'json'] as const),
  );
  const logLevel = wrap('APS_LOG_LEVEL', () =>
    validateEnum((get(env, 'APS_LOG_LEVEL') ?? 'INFO').toUpperCase(), 'APS_LOG_LEVEL', [
      'TRACE',
      'DEBUG',
      'INFO',
      'WARN',
      'ERROR',
    ] as const),
  );
  return { metricsAddress, logFormat, logLevel };
}

/** Reads everything the worker needs; throws {@link ConfigError} naming the variable on bad input. */
export function workerConfigFrom(
  env: NodeJS.ProcessEnv = process.env,
  readFile: (path: string) => string = defaultReadFile,
): WorkerConfig {
  let retryRules: unknown;
  let retryRulesSource: string | undefined;
  const inline = get(env, 'APS_RETRY_RULES');
  const file = get(env, 'APS_RETRY_RULES_FILE');
  if (inline && file) throw new ConfigError('Set APS_RETRY_RULES or APS_RETRY_RULES_FILE, not both');
  if (inline || file) {
    retryRulesSource = inline ? 'APS_RETRY_RULES' : `APS_RETRY_RULES_FILE (${file})`;
    let text: string;
    try {
      text = inline ?? readFile(file as string);
    } catch (err) {
      throw new ConfigError(`${retryRulesSource}: cannot read the file: ${(err as Error).message}`);
    }
    try {
      retryRules = JSON.parse(text);
    } catch (err) {
      throw new ConfigError(
        `${retryRulesSource}: expected a JSON array of retry rules, but it is not valid JSON (${(err as Error).message})`,
      );
    }
  }
  return {
    taskQueue: taskQueueFrom(env),
    alibaba: alibabaConfigFrom(env),
    retryRules,
    retryRulesSource,
    observability: observabilityConfigFrom(env),
    workflowBundlePath: get(env, 'APS_WORKFLOW_BUNDLE'),
    tuning: workerTuningFrom(env),
    rateLimits: rateLimitsFrom(env),
  };
}

/** Most API calls per second a limit may say: far above any adb quota, below float trouble. */
const MAX_RATE_LIMIT = 1_000_000;

function rateFrom(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = get(env, name);
  if (raw === undefined) return undefined;
  const value = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
  if (!(value > 0 && value <= MAX_RATE_LIMIT)) {
    throw new ConfigError(
      `${name}: expected a positive number of API calls per second (e.g. 400, or 2.5), at most ${MAX_RATE_LIMIT}, got ${JSON.stringify(raw)}; unset it for no limit`,
    );
  }
  return value;
}

/** Reads APS_API_RATE_LIMIT and APS_API_RATE_LIMIT_PER_WORKER (calls per second, positive). */
export function rateLimitsFrom(env: NodeJS.ProcessEnv = process.env): ApiRateLimits {
  const perSecond = rateFrom(env, 'APS_API_RATE_LIMIT');
  const perWorkerPerSecond = rateFrom(env, 'APS_API_RATE_LIMIT_PER_WORKER');
  if (perSecond !== undefined && perWorkerPerSecond !== undefined && perWorkerPerSecond > perSecond) {
    throw new ConfigError(
      `APS_API_RATE_LIMIT_PER_WORKER (${perWorkerPerSecond}) exceeds APS_API_RATE_LIMIT (${perSecond}): one worker cannot make more calls than all of them together; lower the first or raise the second`,
    );
  }
  return {
    ...(perSecond !== undefined ? { perSecond } : {}),
    ...(perWorkerPerSecond !== undefined ? { perWorkerPerSecond } : {}),
  };
}

function countFrom(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined {
  const raw = get(env, name);
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    const fallback = SETTINGS.find((s) => s.name === name)?.default;
    throw new ConfigError(
      `${name}: expected a whole number from ${min} to ${max} (default ${fallback}), got ${JSON.stringify(raw)}`,
    );
  }
  return Number(raw);
}

/**
 * The cache and slot sizes a worker runs with: the given ones over {@link DEFAULT_WORKER_TUNING},
 * with the default workflow-task slots lowered to the cache size when the cache is smaller (the SDK
 * needs a cached run per workflow task).
 */
export function resolveWorkerTuning(given: Partial<WorkerTuning> = {}): WorkerTuning {
  const maxCachedWorkflows = given.maxCachedWorkflows ?? DEFAULT_WORKER_TUNING.maxCachedWorkflows;
  const wftDefault = DEFAULT_WORKER_TUNING.maxConcurrentWorkflowTaskExecutions;
  return {
    maxCachedWorkflows,
    maxConcurrentWorkflowTaskExecutions:
      given.maxConcurrentWorkflowTaskExecutions ??
      (maxCachedWorkflows > 0 ? Math.max(2, Math.min(wftDefault, maxCachedWorkflows)) : wftDefault),
    maxConcurrentActivityTaskExecutions:
      given.maxConcurrentActivityTaskExecutions ?? DEFAULT_WORKER_TUNING.maxConcurrentActivityTaskExecutions,
    workflowThreadPoolSize: given.workflowThreadPoolSize ?? DEFAULT_WORKER_TUNING.workflowThreadPoolSize,
  };
}

/** Reads the worker's cache and slot sizes; checks that they fit together. */
export function workerTuningFrom(env: NodeJS.ProcessEnv = process.env): WorkerTuning {
  const given: Partial<WorkerTuning> = {};
  const count = (name: string, key: keyof WorkerTuning, min: number, max: number): void => {
    const v = countFrom(env, name, min, max);
    if (v !== undefined) given[key] = v;
  };
  count('APS_MAX_CACHED_WORKFLOWS', 'maxCachedWorkflows', 0, 1_000_000);
  count('APS_MAX_CONCURRENT_WORKFLOW_TASKS', 'maxConcurrentWorkflowTaskExecutions', 2, 10_000);
  count('APS_MAX_CONCURRENT_ACTIVITIES', 'maxConcurrentActivityTaskExecutions', 1, 100_000);
  count('APS_WORKFLOW_THREADS', 'workflowThreadPoolSize', 1, 16);
  if (given.maxCachedWorkflows === 1) {
    throw new ConfigError('APS_MAX_CACHED_WORKFLOWS: expected 0 (no cache) or at least 2, got "1"');
  }
  const tuning = resolveWorkerTuning(given);
  if (
    tuning.maxCachedWorkflows > 0 &&
    tuning.maxConcurrentWorkflowTaskExecutions > tuning.maxCachedWorkflows
  ) {
    throw new ConfigError(
      `APS_MAX_CONCURRENT_WORKFLOW_TASKS (${tuning.maxConcurrentWorkflowTaskExecutions}) exceeds APS_MAX_CACHED_WORKFLOWS (${tuning.maxCachedWorkflows}): each workflow task needs its run in the cache; lower the first or raise the second`,
    );
  }
  return tuning;
}

const HEAP_FLAG = /^--max[-_](old|semi)[-_]space[-_]size(=|$)/;
const INSPECT_FLAG = /^--inspect(-brk|-wait)?(=|$)/;

/** The Node flags in effect: the process's own (`process.execArgv`), then those of NODE_OPTIONS. */
function nodeFlags(execArgv: readonly string[], env: NodeJS.ProcessEnv): string[] {
  return [...execArgv, ...(get(env, 'NODE_OPTIONS')?.split(/\s+/) ?? [])];
}

/** The V8 heap-size flags in effect (`--max-old-space-size=…`, `--max-semi-space-size=…`). */
export function heapFlagsFrom(execArgv: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] {
  return nodeFlags(execArgv, env).filter((f) => HEAP_FLAG.test(f));
}

/** What a worker process does about its heap flags before it starts. */
export type WorkerHeapPlan =
  /** Restart with these flags added (in a child process that this one relays to). */
  | { action: 'restart'; flags: string[] }
  /** Run here; `relayed` when this is the restarted child; `warning` when the defaults are missing. */
  | { action: 'run'; relayed: boolean; warning?: string };

/**
 * Decides whether a worker restarts itself with {@link WORKER_NODE_OPTIONS}: only when neither heap
 * flag is given (a heap chosen in part is a choice), APS_WORKER_HEAP_DEFAULTS is not `off`, and it
 * is not already the restarted child. Under an inspector it warns instead: a child would not be
 * the process being debugged.
 */
export function workerHeapPlan(
  execArgv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): WorkerHeapPlan {
  const setting = wrap('APS_WORKER_HEAP_DEFAULTS', () =>
    validateEnum(get(env, 'APS_WORKER_HEAP_DEFAULTS') ?? 'on', 'APS_WORKER_HEAP_DEFAULTS', [
      'on',
      'off',
    ] as const),
  );
  if (get(env, HEAP_RELAY_MARKER) === '1') return { action: 'run', relayed: true };
  if (setting === 'off' || heapFlagsFrom(execArgv, env).length > 0) return { action: 'run', relayed: false };
  if (nodeFlags(execArgv, env).some((f) => INSPECT_FLAG.test(f))) {
    return {
      action: 'run',
      relayed: false,
      warning:
        `running without the worker's heap defaults under the inspector; start Node with ` +
        `${WORKER_NODE_OPTIONS} (or NODE_OPTIONS="${WORKER_NODE_OPTIONS}") to have them`,
    };
  }
  return { action: 'restart', flags: WORKER_NODE_OPTIONS.split(' ') };
}

/** The environment of the child a worker restarts in: this one, marked as relayed. */
export function relayedChildEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, [HEAP_RELAY_MARKER]: '1' };
}

function defaultReadFile(path: string): string {
  // Loaded lazily so that this module stays importable where `fs` is not wanted.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fs = require('node:fs') as typeof import('node:fs');
  return fs.readFileSync(path, 'utf8');
}
