/**
 * The embedded Temporal dev server the benchmark runs on: the CLI from resolveTemporalCli, limits
 * raised so that rate limiters do not decide the result, Prometheus metrics on, and the server
 * process found so that its CPU time can be read.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack } from '../src/dev/stack';
import { resolveTemporalCli, type ResolvedTemporalCli } from '../src/dev/temporal-cli';
import { freePort } from '../src/dev/net';

/**
 * Dynamic config of the benchmark server. The dev server's defaults (frontend 2,400 RPS, matching
 * 1,200 RPS, 4 task-queue partitions, 100 visibility RPS) would throttle a thousand jobs polled
 * every second on one task queue; one partition avoids forwarding between partitions, which a
 * single worker only pays for.
 */
export const BENCH_DYNAMIC_CONFIG: Record<string, number> = {
  'frontend.rps': 100_000,
  'frontend.namespaceRPS': 100_000,
  'frontend.namespaceRPS.visibility': 100_000,
  'frontend.namespaceCount': 100_000,
  'frontend.persistenceMaxQPS': 100_000,
  'history.rps': 100_000,
  'history.persistenceMaxQPS': 100_000,
  'matching.rps': 100_000,
  'matching.persistenceMaxQPS': 100_000,
  'matching.numTaskqueueReadPartitions': 1,
  'matching.numTaskqueueWritePartitions': 1,
};

/** Server-side counters at one moment. */
export interface ServerSample {
  /** Epoch ms. */
  at: number;
  /** CPU time of the server process (user + system), ms; null when the process was not found. */
  cpuMs: number | null;
  /** Sum of `persistence_requests` over every series; null without metrics. */
  persistenceRequests: number | null;
  /** Sum of `service_requests` of the frontend; null without metrics. */
  frontendRequests: number | null;
}

/** A running benchmark server. */
export interface BenchServer {
  /** The client and native connection. */
  env: TestWorkflowEnvironment;
  /** The CLI it runs on. */
  cli: ResolvedTemporalCli;
  /** `host:port` of the frontend. */
  address: string;
  /** Where its state lives: `in-memory SQLite` or the file. */
  storage: string;
  /** The server process, when found. */
  pid: number | undefined;
  /** Reads the counters. */
  sample(): Promise<ServerSample>;
  /** Stops the server. */
  stop(): Promise<void>;
}

/** The dev server is a child of this process (the SDK's core spawns it): find it by its arguments. */
function findServerPid(): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmdline.includes('start-dev')) return Number(entry);
    } catch {
      // The process ended while being read: not ours.
    }
  }
  return undefined;
}

/** Fields 3 on of /proc/<pid>/stat (state, ppid, …), or undefined when the process is gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

function cpuMsOf(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  const fields = statFields(pid);
  // Fields 14 and 15 of /proc/<pid>/stat (utime, stime), in clock ticks of 1/100 s on Linux.
  return fields ? (Number(fields[11]) + Number(fields[12])) * 10 : null;
}

/**
 * CPU time of a PostgreSQL server, ms: the postmaster with its reaped children (cutime, cstime)
 * and the backends alive now.
 */
function postgresCpuMs(postmaster: number | undefined): number | null {
  if (postmaster === undefined) return null;
  const own = statFields(postmaster);
  if (!own) return null;
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields && Number(fields[1]) === postmaster) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks * 10;
}

function sumMetric(text: string, name: string, filter?: RegExp): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (filter && !filter.test(line)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}

/** Options of {@link startBenchServer}. */
export interface BenchServerOptions {
  /** SQLite file; in-memory when absent. */
  dbFile?: string;
  /** Progress lines. */
  log?: (line: string) => void;
  /** Dynamic config on top of {@link BENCH_DYNAMIC_CONFIG} (`--server-config`). */
  extraConfig?: Record<string, unknown>;
}

/** Starts the dev server with {@link BENCH_DYNAMIC_CONFIG} and metrics on a free port. */
export async function startBenchServer(opts: BenchServerOptions = {}): Promise<BenchServer> {
  const cli = await resolveTemporalCli({ log: opts.log });
  const metricsPort = await freePort();
  const extraArgs = ['--metrics-port', String(metricsPort)];
  for (const [key, value] of Object.entries({ ...BENCH_DYNAMIC_CONFIG, ...opts.extraConfig })) {
    extraArgs.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  }
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: cli.executable,
      ...(opts.dbFile ? { dbFilename: opts.dbFile } : {}),
      log: { format: 'pretty', level: 'error' },
      extraArgs,
    },
  });
  const pid = findServerPid();
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  return {
    env,
    cli,
    address: env.address,
    storage: opts.dbFile ? `SQLite file ${opts.dbFile}` : 'in-memory SQLite',
    pid,
    sample: () => sampleServer(pid, metricsUrl),
    stop: () => env.teardown(),
  };
}

/** Samples a server's counters: CPU from /proc, requests from its Prometheus endpoint. */
async function sampleServer(
  pid: number | undefined,
  metricsUrl: string,
  postmaster?: number,
): Promise<ServerSample> {
  const at = Date.now();
  const server = cpuMsOf(pid);
  const db = postmaster === undefined ? 0 : postgresCpuMs(postmaster);
  const cpuMs = server === null || db === null ? null : server + db;
  try {
    const text = await (await fetch(metricsUrl)).text();
    return {
      at,
      cpuMs,
      persistenceRequests: sumMetric(text, 'persistence_requests'),
      frontendRequests: sumMetric(text, 'service_requests', /service_name="frontend"/),
    };
  } catch {
    return { at, cpuMs, persistenceRequests: null, frontendRequests: null };
  }
}

/**
 * The local production stack as the benchmark server (`--server stack`): PostgreSQL and a 4-shard
 * Temporal server with the compose dynamic config plus {@link BENCH_DYNAMIC_CONFIG}, no workers of
 * its own (the benchmark brings them, connected straight to the frontend). Its CPU is the Temporal
 * server's and PostgreSQL's together: with the dev server, SQLite runs inside the server process.
 */
export async function startStackBenchServer(opts: BenchServerOptions = {}): Promise<BenchServer> {
  const cli = await resolveTemporalCli({ log: opts.log });
  const dir = mkdtempSync(join(tmpdir(), 'aps-bench-stack-'));
  const stack = await Stack.up({
    dir,
    workers: 0,
    extraDynamicConfig: { ...BENCH_DYNAMIC_CONFIG, ...opts.extraConfig },
    log: opts.log,
  });
  const env = await TestWorkflowEnvironment.createFromExistingServer({
    address: stack.address,
    namespace: 'default',
  });
  const state = stack.state();
  return {
    env,
    cli,
    address: stack.address,
    storage: `PostgreSQL 15, ${state.server.shards} history shards (${state.server.version ?? 'temporal-server'}); server CPU counts PostgreSQL's too`,
    pid: stack.serverPid,
    sample: () => sampleServer(stack.serverPid, stack.serverMetricsUrl, stack.postgres.pid()),
    async stop() {
      await env.teardown();
      await stack.down();
    },
  };
}
