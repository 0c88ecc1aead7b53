/**
 * The embedded Temporal dev server the benchmark runs on: the CLI from resolveTemporalCli, limits
 * raised so that rate limiters do not decide the result, Prometheus metrics on, and the server
 * process found so that its CPU time can be read.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { TestWorkflowEnvironment } from '@temporalio/testing';
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

function cpuMsOf(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of /proc/<pid>/stat (utime, stime), in clock ticks of 1/100 s on Linux.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
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
    async sample() {
      const at = Date.now();
      const cpuMs = cpuMsOf(pid);
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
    },
    stop: () => env.teardown(),
  };
}
