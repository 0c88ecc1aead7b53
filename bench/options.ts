/**
 * Command-line flags of `npm run bench` → the harness's options.
 */
import { Command } from 'commander';
import { DEFAULT_WORKER_TUNING, WORKER_NODE_OPTIONS } from '../src/config';
import { HEARTBEAT_TIMEOUT_BOUNDS } from '../src/input';
import { parseDuration } from '../src/validation';
import { STRATEGIES, type StrategyName } from './api';
import type { BenchConfig, BenchOptions } from './harness';

/** What `npm run bench` runs without flags. */
export const DEFAULT_FLAGS = {
  sizes: '100,1000',
  polls: '10',
  pollInterval: '1s,8s',
  longPolls: '100',
  longJobs: '100',
  longPollInterval: '1s',
  strategies: STRATEGIES.join(','),
  startConcurrency: '50',
  historySample: '20',
  out: 'bench/results',
  name: 'latest',
};

/**
 * The grid `--matrix` runs: N ∈ {100, 1000} × I ∈ {1s, 8s, 30s}, K = 10 polls, and K = 3 at 30 s
 * (fewer polls, to keep the run short).
 */
export const MATRIX_CONFIGS: readonly BenchConfig[] = [100, 1000].flatMap((jobs) =>
  [1_000, 8_000, 30_000].map((pollIntervalMs) => ({
    jobs,
    polls: pollIntervalMs >= 30_000 ? 3 : 10,
    pollIntervalMs,
  })),
);

/** Results file name of a `--matrix` run without `--name`. */
export const MATRIX_NAME = 'matrix';

/** The flags that set the configurations, which `--matrix` sets itself. */
const MATRIX_CONFLICTS = [
  ['sizes', '--sizes'],
  ['pollInterval', '--poll-interval'],
  ['polls', '--polls'],
] as const;

/** A bad flag value; the message says which and why. */
export class BenchArgsError extends Error {
  override readonly name = 'BenchArgsError';
}

/** Parsed command line. */
export interface CliOptions {
  bench: BenchOptions;
  /** Directory of the results. */
  outDir: string;
  /** File name of the results, without `.json` / `.md`. */
  name: string;
  /** Whether `--matrix` chose the configurations. */
  matrix: boolean;
  /** The servers to run on, in order (`--server`); with two, a side-by-side table too. */
  servers: ('dev' | 'stack')[];
}

function positiveInt(value: string, what: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new BenchArgsError(
      `${what}: a whole number ≥ 1${max < Number.MAX_SAFE_INTEGER ? ` and ≤ ${max}` : ''}, got ${value}`,
    );
  }
  return n;
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function duration(
  value: string,
  what: string,
  bounds: { minMs?: number; maxMs?: number } = { minMs: 1000 },
): number {
  try {
    return parseDuration(/^\d+$/.test(value) ? Number(value) : value, what, bounds);
  } catch (err) {
    throw new BenchArgsError(err instanceof Error ? err.message : String(err));
  }
}

function serverConfig(value: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of list(value)) {
    const eq = item.indexOf('=');
    if (eq < 1) throw new BenchArgsError(`--server-config: expected key=JSON, got ${item}`);
    try {
      out[item.slice(0, eq)] = JSON.parse(item.slice(eq + 1));
    } catch {
      throw new BenchArgsError(
        `--server-config: the value of ${item.slice(0, eq)} is not JSON: ${item.slice(eq + 1)}`,
      );
    }
  }
  return out;
}

/** Parses argv (without node and the script). */
export function parseBenchArgs(argv: string[]): CliOptions {
  const program = new Command('bench')
    .description(
      'Benchmark the cost of waiting for APS jobs: the empty-workflow ceiling, runApsJob (polling by activity ' +
        'retry), a naive sleep-and-describe workflow and a heartbeating polling activity, side by side.',
    )
    .option(
      '--matrix',
      `run the grid N ∈ {100,1000} × I ∈ {1s,8s,30s} with K=10 polls (K=3 at 30s), named ${MATRIX_NAME} ` +
        'unless --name is given; excludes --sizes, --polls and --poll-interval; the long-wait configuration ' +
        'only if --long-polls is given',
    )
    .option('--sizes <list>', 'concurrent jobs per configuration, comma-separated', DEFAULT_FLAGS.sizes)
    .option('--polls <k>', 'polls that answer Starting before a job runs (K)', DEFAULT_FLAGS.polls)
    .option(
      '--poll-interval <list>',
      'poll interval (I), at least 1s: one for every size, or one per size (e.g. 1s,5s)',
      DEFAULT_FLAGS.pollInterval,
    )
    .option(
      '--long-polls <k>',
      'K of the extra long-wait configuration; 0 skips it (with --matrix: none unless given)',
      DEFAULT_FLAGS.longPolls,
    )
    .option('--long-jobs <n>', 'N of the long-wait configuration', DEFAULT_FLAGS.longJobs)
    .option(
      '--long-poll-interval <duration>',
      'I of the long-wait configuration',
      DEFAULT_FLAGS.longPollInterval,
    )
    .option(
      '--heartbeat-timeout <list>',
      "ours' heartbeatTimeout (10s to 10m), comma-separated: each configuration runs once per value, " +
        'and the results get a frontier table (default: the derived one, one run)',
    )
    .option('--strategies <list>', `which to run, from ${STRATEGIES.join(',')}`, DEFAULT_FLAGS.strategies)
    .option('--start-concurrency <n>', 'workflow starts in flight at once', DEFAULT_FLAGS.startConcurrency)
    .option(
      '--max-activities <n>',
      `maxConcurrentActivityTaskExecutions (default: max(${DEFAULT_WORKER_TUNING.maxConcurrentActivityTaskExecutions}, N))`,
    )
    .option(
      '--max-workflow-tasks <n>',
      `maxConcurrentWorkflowTaskExecutions (default: the worker's, ${DEFAULT_WORKER_TUNING.maxConcurrentWorkflowTaskExecutions}, at most the cache)`,
    )
    .option(
      '--max-cached-workflows <n>',
      `maxCachedWorkflows (default: the worker's, ${DEFAULT_WORKER_TUNING.maxCachedWorkflows}); 'sdk' for the SDK's heap-sized default`,
    )
    .option(
      '--workflow-threads <n>',
      `workflowThreadPoolSize, threads that run workflow code (default: the worker's, ${DEFAULT_WORKER_TUNING.workflowThreadPoolSize})`,
    )
    .option(
      '--server-config <list>',
      'extra dynamic config of the dev server, comma-separated key=JSON, e.g. system.enableActivityEagerExecution=true',
    )
    .option(
      '--worker-node-options <flags>',
      `Node flags of the worker processes, space-separated (default: ${WORKER_NODE_OPTIONS}, as npm run worker; '' for none)`,
    )
    .option(
      '--name <name>',
      `results file name (without extension; ${MATRIX_NAME} with --matrix)`,
      DEFAULT_FLAGS.name,
    )
    .option(
      '--history-sample <n>',
      'histories fetched per phase to cross-check event counts',
      DEFAULT_FLAGS.historySample,
    )
    .option('--db-file <path>', 'SQLite file for the dev server (default: in-memory)')
    .option(
      '--server <list>',
      'the server: dev (temporal server start-dev, SQLite), stack (npm run stack: PostgreSQL, 4 history shards), or dev,stack for both in one run with a side-by-side table (<name>-servers.md)',
      'dev',
    )
    .option('--out <dir>', 'directory of the results', DEFAULT_FLAGS.out)
    .exitOverride();
  program.parse(argv, { from: 'user' });
  const o = program.opts<Record<string, string | undefined>>();
  const given = (key: string): boolean => program.getOptionValueSource(key) === 'cli';
  const matrix = program.getOptionValue('matrix') === true;
  let configs: BenchConfig[];
  if (matrix) {
    const conflicts = MATRIX_CONFLICTS.filter(([key]) => given(key)).map(([, flag]) => flag);
    if (conflicts.length > 0) {
      throw new BenchArgsError(
        `--matrix sets the sizes, poll intervals and polls itself: drop ${conflicts.join(', ')}, or run without --matrix`,
      );
    }
    configs = MATRIX_CONFIGS.map((c) => ({ ...c }));
  } else {
    const polls = positiveInt(o.polls as string, '--polls');
    const sizes = list(o.sizes as string).map((s) => positiveInt(s, '--sizes'));
    const intervals = list(o.pollInterval as string).map((s) => duration(s, '--poll-interval'));
    if (intervals.length !== 1 && intervals.length !== sizes.length) {
      throw new BenchArgsError(
        `--poll-interval: one interval, or one per size (${sizes.length}), got ${intervals.length}`,
      );
    }
    configs = sizes.map((jobs, i) => ({
      jobs,
      polls,
      pollIntervalMs: (intervals.length === 1 ? intervals[0] : intervals[i]) as number,
    }));
  }
  if (o.heartbeatTimeout !== undefined) {
    const values = list(o.heartbeatTimeout).map((v) =>
      duration(v, '--heartbeat-timeout', HEARTBEAT_TIMEOUT_BOUNDS),
    );
    if (values.length === 0)
      throw new BenchArgsError('--heartbeat-timeout: one duration or more, e.g. 10s,30s,2m');
    configs = configs.flatMap((c) => values.map((heartbeatTimeoutMs) => ({ ...c, heartbeatTimeoutMs })));
  }
  const longPolls = Number(o.longPolls);
  if (!Number.isInteger(longPolls) || longPolls < 0) {
    throw new BenchArgsError(`--long-polls: a whole number ≥ 0, got ${o.longPolls}`);
  }
  if (longPolls > 0 && (!matrix || given('longPolls'))) {
    configs.push({
      jobs: positiveInt(o.longJobs as string, '--long-jobs'),
      polls: longPolls,
      pollIntervalMs: duration(o.longPollInterval as string, '--long-poll-interval'),
    });
  }
  const strategies = list(o.strategies as string);
  for (const s of strategies) {
    if (!(STRATEGIES as readonly string[]).includes(s)) {
      throw new BenchArgsError(`--strategies: unknown ${s} (known: ${STRATEGIES.join(', ')})`);
    }
  }
  const servers = list(o.server as string);
  for (const s of servers) {
    if (s !== 'dev' && s !== 'stack') throw new BenchArgsError(`--server: unknown ${s} (known: dev, stack)`);
  }
  if (servers.length === 0 || new Set(servers).size !== servers.length) {
    throw new BenchArgsError(`--server: dev, stack or dev,stack, got ${o.server}`);
  }
  if (o.dbFile !== undefined && !servers.includes('dev')) {
    throw new BenchArgsError('--db-file is a dev server setting; the stack keeps its data in PostgreSQL');
  }
  return {
    servers: servers as ('dev' | 'stack')[],
    outDir: o.out as string,
    name: matrix && !given('name') ? MATRIX_NAME : (o.name as string),
    matrix,
    bench: {
      configs,
      strategies: strategies as StrategyName[],
      startConcurrency: positiveInt(o.startConcurrency as string, '--start-concurrency'),
      maxActivities:
        o.maxActivities === undefined ? undefined : positiveInt(o.maxActivities, '--max-activities'),
      maxWorkflowTasks:
        o.maxWorkflowTasks === undefined
          ? undefined
          : positiveInt(o.maxWorkflowTasks, '--max-workflow-tasks'),
      maxCachedWorkflows:
        o.maxCachedWorkflows === undefined || o.maxCachedWorkflows === 'sdk'
          ? o.maxCachedWorkflows
          : positiveInt(o.maxCachedWorkflows, '--max-cached-workflows'),
      workflowThreads:
        o.workflowThreads === undefined
          ? undefined
          : positiveInt(o.workflowThreads, '--workflow-threads', 16),
      serverConfig: o.serverConfig === undefined ? undefined : serverConfig(o.serverConfig),
      historySample: positiveInt(o.historySample as string, '--history-sample'),
      dbFile: o.dbFile,
      workerNodeOptions: o.workerNodeOptions?.split(' ').filter((f) => f !== ''),
      command: ['npm run bench', ...(argv.length > 0 ? ['--', ...argv] : [])].join(' '),
    },
  };
}
