/**
 * The production shape of docker-compose.yml, run as processes on one machine: PostgreSQL, the
 * schema set-up, a multi-shard Temporal server on it, the namespace set-up, the APS emulator, and
 * N worker processes, each a "host" of its own behind Toxiproxy links to Temporal and to the APS
 * endpoint. `npm run stack` drives it; the reliability suite (`--stack`) and the benchmark
 * (`--server stack`) run on it.
 *
 * The schema and namespace steps are the compose stack's own scripts (deploy/temporal/), and the
 * server reads the config template its image reads (`config/docker.yaml`, `--env docker`) with the
 * compose service's environment: {@link COMPOSE_SERVER_ENV} is checked against docker-compose.yml.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startEmulator, type AccessKeyConfig, type RunningEmulator } from '../emulator';
import { freePort, freePortInRange } from './net';
import { ensurePostgres, Postgres, postgresHome, removeOutsideHome } from './postgres';
import { resolveTemporalCli } from './temporal-cli';
import { resolveTemporalServer, type ResolvedTemporalServer } from './temporal-server';
import { resolveToxiproxy, Toxiproxy } from './toxiproxy';
import { WorkerPool } from './worker-pool';

const ROOT = join(__dirname, '..', '..');

/** The compose scripts the stack runs with local paths. */
export const STACK_SCRIPTS = {
  schema: join(ROOT, 'deploy', 'temporal', 'setup-schema.sh'),
  namespace: join(ROOT, 'deploy', 'temporal', 'setup-namespace.sh'),
  dynamicConfig: join(ROOT, 'deploy', 'temporal', 'dynamicconfig', 'development-sql.yaml'),
} as const;

/**
 * The `temporal` service's settings in docker-compose.yml that the stack runs with too (the
 * compose test proves they are the same). Hosts, ports and the password are the stack's own.
 */
export const COMPOSE_SERVER_ENV = {
  DB: 'postgres12',
  NUM_HISTORY_SHARDS: '4',
  /** The file name under deploy/temporal/dynamicconfig. */
  DYNAMIC_CONFIG_FILE: 'development-sql.yaml',
  POSTGRES_USER: 'temporal',
} as const;

/** PostgreSQL's `max_connections` in the stack and in compose's `postgresql` command. */
export const POSTGRES_MAX_CONNECTIONS = 200;

/** The links of one worker host. */
export type StackLink = 'temporal' | 'aps';

/** Addresses a worker host uses: its proxied Temporal frontend and APS endpoint, and its metrics. */
export interface HostLinks {
  /** `host:port` that leads to the Temporal frontend. */
  temporal: string;
  /** `host:port` that leads to the APS endpoint. */
  aps: string;
  /** `host:port` of the worker's metrics. */
  metrics: string;
}

/** Options of {@link Stack.up}. */
export interface StackOptions {
  /** Folder of the stack (data, logs, state); created when absent. */
  dir: string;
  /** Worker processes (default 3); 0 for none. */
  workers?: number;
  /** Their task queue (default `aps-jobs`). */
  taskQueue?: string;
  /** Namespace (default `default`). */
  namespace?: string;
  /** An APS endpoint and its keys; absent: the stack runs its own emulator (jobs `aps-…` created on first use). */
  aps?: { endpoint: string; keys: readonly AccessKeyConfig[] };
  /** Extra worker environment. */
  workerEnv?: Record<string, string>;
  /** Extra worker environment per slot. */
  slotEnv?: (slot: number) => Record<string, string>;
  /** Dynamic config on top of the compose file's (the benchmark raises rate limits with it). */
  extraDynamicConfig?: Record<string, unknown>;
  /** Progress lines. */
  log?: (line: string) => void;
}

/**
 * The compose dynamic config file, or a copy of it in `dir` with `extra` appended (each key with
 * one unconstrained value), and its path.
 */
function dynamicConfigFile(dir: string, extra: Record<string, unknown> | undefined): string {
  if (!extra || Object.keys(extra).length === 0) return STACK_SCRIPTS.dynamicConfig;
  const base = readFileSync(STACK_SCRIPTS.dynamicConfig, 'utf8');
  const lines = Object.entries(extra).map(
    ([key, value]) => `${key}:\n  - value: ${JSON.stringify(value)}\n    constraints: {}\n`,
  );
  const file = join(dir, 'dynamicconfig.yaml');
  writeFileSync(file, `${base}\n# Added for this stack:\n${lines.join('')}`);
  return file;
}

/** What runs where (`stack status`). */
export interface StackState {
  /** The stack folder. */
  dir: string;
  /** The frontend `host:port` clients use. */
  address: string;
  /** Namespace. */
  namespace: string;
  /** Task queue of the workers. */
  taskQueue: string;
  /** Server metrics (Prometheus). */
  serverMetrics: string;
  /** PostgreSQL `host:port` and its data directory. */
  postgres: { address: string; dataDir: string; pid?: number };
  /** The server process. */
  server: { pid?: number; version?: string; shards: number; log: string };
  /** The APS endpoint the workers reach (through their proxies), and whether it is the stack's emulator. */
  aps: { endpoint: string; emulator: boolean };
  /** Toxiproxy's API. */
  toxiproxy: { api: string; pid?: number };
  /** Workers: slot, pid, proxied addresses, metrics. */
  workers: { slot: number; pid?: number; temporal: string; aps: string; metrics: string }[];
  /** Where a UI can be had. */
  ui: string;
}

/** A running stack. */
export class Stack {
  /** Server restarts and kills so far. */
  serverRestarts = 0;
  private server?: ChildProcess;
  private constructor(
    private readonly opts: StackOptions,
    readonly postgres: Postgres,
    private readonly temporal: ResolvedTemporalServer,
    private readonly serverEnv: NodeJS.ProcessEnv,
    /** The frontend `host:port`. */
    readonly address: string,
    readonly serverMetricsUrl: string,
    readonly toxiproxy: Toxiproxy,
    /** The workers (undefined with `workers: 0`). */
    readonly pool: WorkerPool | undefined,
    /** The stack's own emulator, when it runs one. */
    readonly emulator: RunningEmulator | undefined,
    private readonly apsEndpoint: string,
  ) {}

  private readonly hosts = new Map<string, HostLinks>();

  /**
   * Creates worker host `name`: its own links to Temporal and to `apsEndpoint` (default: the
   * stack's), and a metrics port.
   */
  async addHost(name: string, apsEndpoint: string = this.apsEndpoint): Promise<HostLinks> {
    const links: HostLinks = {
      temporal: `127.0.0.1:${await freePort()}`,
      aps: `127.0.0.1:${await freePort()}`,
      metrics: `127.0.0.1:${await freePort()}`,
    };
    await this.toxiproxy.create(`${name}-temporal`, links.temporal, this.address);
    await this.toxiproxy.create(`${name}-aps`, links.aps, apsEndpoint);
    this.hosts.set(name, links);
    return links;
  }

  /** The worker environment that puts a process on host `name`. */
  hostEnv(name: string): Record<string, string> {
    const links = this.hosts.get(name);
    if (!links) throw new Error(`no stack host ${name}`);
    return {
      TEMPORAL_ADDRESS: links.temporal,
      ADB_ENDPOINT: `http://${links.aps}`,
      APS_METRICS_ADDRESS: links.metrics,
    };
  }

  /** Brings the whole stack up, in the order of docker-compose.yml's `depends_on`. */
  static async up(opts: StackOptions): Promise<Stack> {
    const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const namespace = opts.namespace ?? 'default';
    const taskQueue = opts.taskQueue ?? 'aps-jobs';
    const workers = opts.workers ?? 3;
    assertStackFolder(opts.dir);
    mkdirSync(opts.dir, { recursive: true });
    // PostgreSQL runs as `postgres` when this runs as root: it must be able to reach its folder.
    chmodSync(opts.dir, 0o711);
    const logs = join(opts.dir, 'logs');
    mkdirSync(logs, { recursive: true, mode: 0o700 });

    const [cli, temporal, toxiproxyBin] = [
      await resolveTemporalCli({ log }),
      await resolveTemporalServer({ log }),
      await resolveToxiproxy({ log }),
    ];
    if (!cli.path)
      throw new Error(
        'the stack needs a local Temporal CLI (for its namespace set-up); run `npm run temporal-cli`',
      );

    // The database password: generated once per stack folder, readable by this user only, and
    // handed to the tools through the environment, never on a command line.
    const secretFile = join(opts.dir, 'db-password');
    if (!existsSync(secretFile))
      writeFileSync(secretFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
    const password = readFileSync(secretFile, 'utf8').trim();

    const pgPort = await freePort();
    const postgres = new Postgres({
      bin: ensurePostgres(log),
      home: postgresHome(opts.dir),
      port: pgPort,
      password,
      maxConnections: POSTGRES_MAX_CONNECTIONS,
    });
    if (!existsSync(join(postgres.dataDir, 'PG_VERSION'))) {
      log(`stack: initialising PostgreSQL in ${postgres.dataDir}`);
      postgres.init();
    }
    // What is started is stopped again when a later step fails (PostgreSQL, Toxiproxy, the emulator).
    const undo: (() => unknown)[] = [];
    try {
      await postgres.start();
      undo.push(() => postgres.stop());
      log(`stack: PostgreSQL on 127.0.0.1:${pgPort}`);

      const toolPath = `${join(temporal.sqlTool, '..')}:${join(cli.path, '..')}:${process.env.PATH ?? ''}`;
      log('stack: schema (deploy/temporal/setup-schema.sh)');
      runScript(STACK_SCRIPTS.schema, join(logs, 'setup-schema.log'), {
        PATH: toolPath,
        POSTGRES_SEEDS: '127.0.0.1',
        DB_PORT: String(pgPort),
        POSTGRES_USER: postgres.user,
        POSTGRES_PWD: password,
        SCHEMA_ROOT: temporal.schemaDir,
      });

      // Temporal keeps membership ports in a smallint column: they must stay below 32768.
      const membershipPort = (): Promise<number> => freePortInRange(20_000, 32_000);
      const ports = {
        frontend: await freePort(),
        frontendHttp: await freePort(),
        frontendMembership: await membershipPort(),
        internalHttp: await freePort(),
        history: await freePort(),
        historyMembership: await membershipPort(),
        matching: await freePort(),
        matchingMembership: await membershipPort(),
        worker: await freePort(),
        workerMembership: await membershipPort(),
        metrics: await freePort(),
      };
      const address = `127.0.0.1:${ports.frontend}`;
      // The compose service's environment (COMPOSE_SERVER_ENV), with local addresses and ports.
      const serverEnv: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        DB: COMPOSE_SERVER_ENV.DB,
        DB_PORT: String(pgPort),
        // The template reads the visibility store's port from these, not from DB_PORT.
        VISIBILITY_DB_PORT: String(pgPort),
        POSTGRES_SEEDS: '127.0.0.1',
        POSTGRES_USER: postgres.user,
        POSTGRES_PWD: password,
        NUM_HISTORY_SHARDS: COMPOSE_SERVER_ENV.NUM_HISTORY_SHARDS,
        DYNAMIC_CONFIG_FILE_PATH: dynamicConfigFile(opts.dir, opts.extraDynamicConfig),
        BIND_ON_IP: '127.0.0.1',
        TEMPORAL_BROADCAST_ADDRESS: '127.0.0.1',
        FRONTEND_GRPC_PORT: String(ports.frontend),
        FRONTEND_HTTP_PORT: String(ports.frontendHttp),
        FRONTEND_MEMBERSHIP_PORT: String(ports.frontendMembership),
        INTERNAL_FRONTEND_HTTP_PORT: String(ports.internalHttp),
        HISTORY_GRPC_PORT: String(ports.history),
        HISTORY_MEMBERSHIP_PORT: String(ports.historyMembership),
        MATCHING_GRPC_PORT: String(ports.matching),
        MATCHING_MEMBERSHIP_PORT: String(ports.matchingMembership),
        WORKER_GRPC_PORT: String(ports.worker),
        WORKER_MEMBERSHIP_PORT: String(ports.workerMembership),
        PROMETHEUS_ENDPOINT: `127.0.0.1:${ports.metrics}`,
        LOG_LEVEL: process.env.APS_STACK_SERVER_LOG ?? 'warn',
      };

      const toxiproxy = await Toxiproxy.start(toxiproxyBin, await freePort(), join(logs, 'toxiproxy.log'));
      undo.push(() => toxiproxy.stop());
      let emulator: RunningEmulator | undefined;
      let aps = opts.aps;
      if (!aps) {
        emulator = await startEmulator({ autoCreateJobs: true });
        undo.push(() => emulator?.close());
        aps = { endpoint: emulator.endpoint, keys: emulator.credentials };
        log(`stack: APS emulator at http://${emulator.endpoint} (jobs aps-… exist on first use)`);
      }
      const stack = new Stack(
        opts,
        postgres,
        temporal,
        serverEnv,
        address,
        `http://127.0.0.1:${ports.metrics}/metrics`,
        toxiproxy,
        undefined,
        emulator,
        aps.endpoint,
      );
      // From here the stack stops all it started.
      undo.splice(0, undo.length, () => stack.down({ keep: true, quiet: true }));
      await stack.startServer();
      log(
        `stack: Temporal server ${temporal.version ?? ''} on ${address} (${COMPOSE_SERVER_ENV.NUM_HISTORY_SHARDS} history shards)`,
      );
      log('stack: namespace and search attributes (deploy/temporal/setup-namespace.sh)');
      runScript(STACK_SCRIPTS.namespace, join(logs, 'setup-namespace.log'), {
        PATH: toolPath,
        TEMPORAL_ADDRESS: address,
        TEMPORAL_NAMESPACE: namespace,
      });
      for (let i = 0; i < workers; i++) await stack.addHost(`w${i}`);
      if (workers > 0) {
        const { code } = await bundleWorkflowCode({
          workflowsPath: require.resolve('../workflows'),
          logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
        });
        const bundlePath = join(opts.dir, 'workflow-bundle.js');
        writeFileSync(bundlePath, code);
        const pool = new WorkerPool({
          size: workers,
          address,
          taskQueue,
          emulatorEndpoint: aps.endpoint,
          keys: aps.keys,
          bundlePath,
          env: { TEMPORAL_NAMESPACE: namespace, ...opts.workerEnv },
          slotEnv: (slot) => ({ ...stack.hostEnv(`w${slot}`), ...opts.slotEnv?.(slot) }),
        });
        (stack as { pool: WorkerPool | undefined }).pool = pool;
        await pool.start(180_000);
        log(`stack: ${workers} workers polling ${taskQueue}`);
      }
      return stack;
    } catch (err) {
      for (const stop of undo.reverse()) await stop();
      throw err;
    }
  }

  /** Starts the server process and waits until its frontend serves. */
  async startServer(): Promise<void> {
    const logFile = join(this.opts.dir, 'logs', 'temporal-server.log');
    const fd = openSync(logFile, 'a');
    this.server = spawn(
      this.temporal.server,
      [
        '--root',
        join(this.temporal.configDir, '..'),
        '--config',
        'config',
        '--env',
        'docker',
        '--allow-no-auth',
        'start',
      ],
      { env: this.serverEnv, stdio: ['ignore', fd, fd] },
    );
    closeSync(fd);
    const until = Date.now() + 120_000;
    while (!(await this.serving())) {
      if (this.server.exitCode !== null || Date.now() > until) {
        const tail = readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');
        throw new Error(
          `the Temporal server did not come up on ${this.address}; last lines of ${logFile}:\n${tail}`,
        );
      }
      await sleep(250);
    }
  }

  /** Whether the frontend answers its gRPC health check. */
  async serving(): Promise<boolean> {
    const cli = await resolveTemporalCli({ log: () => undefined, allowBuild: false });
    if (!cli.path) return false;
    const path = cli.path;
    return new Promise((resolve) => {
      execFile(
        path,
        ['operator', 'cluster', 'health', '--address', this.address],
        { encoding: 'utf8', timeout: 10_000, env: { HOME: process.env.HOME, PATH: process.env.PATH } },
        (err, stdout) => resolve(!err && /SERVING/.test(stdout)),
      );
    });
  }

  /** SIGKILLs the server process (no shutdown: in-flight requests are lost as in a crash). */
  async killServer(): Promise<void> {
    const child = this.server;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
    this.serverRestarts += 1;
  }

  /** The server's PID. */
  get serverPid(): number | undefined {
    return this.server?.exitCode === null ? this.server.pid : undefined;
  }

  /** Cuts one worker host's link (`drop`: a partition; `refuse`: connections refused). */
  cut(host: string, link: StackLink, mode: 'drop' | 'refuse' = 'drop'): Promise<void> {
    return this.toxiproxy.cut(`${host}-${link}`, mode);
  }

  /** Heals one worker host's link. */
  heal(host: string, link: StackLink): Promise<void> {
    return this.toxiproxy.heal(`${host}-${link}`);
  }

  /** `pg_ctl restart -m fast`. */
  restartPostgres(): Promise<void> {
    return this.postgres.restart();
  }

  /** SIGKILLs the postmaster, then starts PostgreSQL again (crash recovery). */
  async crashPostgres(downMs = 0): Promise<void> {
    await this.postgres.killPostmaster();
    if (downMs > 0) await sleep(downMs);
    await this.postgres.start();
  }

  /** What runs where. */
  state(): StackState {
    return {
      dir: this.opts.dir,
      address: this.address,
      namespace: this.opts.namespace ?? 'default',
      taskQueue: this.opts.taskQueue ?? 'aps-jobs',
      serverMetrics: this.serverMetricsUrl,
      postgres: {
        address: `127.0.0.1:${this.postgres.port}`,
        dataDir: this.postgres.dataDir,
        pid: this.postgres.pid(),
      },
      server: {
        pid: this.serverPid,
        version: this.temporal.version,
        shards: Number(COMPOSE_SERVER_ENV.NUM_HISTORY_SHARDS),
        log: join(this.opts.dir, 'logs', 'temporal-server.log'),
      },
      aps: { endpoint: `http://${this.apsEndpoint}`, emulator: this.emulator !== undefined },
      toxiproxy: { api: this.toxiproxy.api, pid: this.toxiproxy.child.pid },
      workers: [...this.hosts.entries()]
        .filter(([name]) => /^w\d+$/.test(name))
        .map(([name, l]) => {
          const slot = Number(name.slice(1));
          return { slot, pid: this.pool?.pid(slot), ...l };
        }),
      ui: 'none here: the Temporal UI (temporalio/ui in docker-compose.yml) is a container; `temporal server start-dev` (npm run demo -- --keep) has one built in',
    };
  }

  /**
   * Stops everything in reverse order: workers (SIGTERM, they drain), emulator, server, Toxiproxy,
   * PostgreSQL. The folder is removed unless `keep`.
   */
  async down(opts: { keep?: boolean; quiet?: boolean } = {}): Promise<void> {
    const log = opts.quiet
      ? () => undefined
      : (this.opts.log ?? ((line: string) => process.stderr.write(`${line}\n`)));
    await this.pool?.stop(30_000);
    await this.emulator?.close();
    const child = this.server;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      if (
        (await Promise.race([exited.then(() => 'done'), sleep(20_000).then(() => 'timeout')])) === 'timeout'
      ) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    await this.toxiproxy.stop();
    this.postgres.stop();
    if (!opts.keep) {
      removeOutsideHome(this.opts.dir);
      rmSync(this.opts.dir, { recursive: true, force: true });
    }
    log(`stack: down${opts.keep ? ` (kept ${this.opts.dir})` : ''}`);
  }
}

/** What a stack folder holds: a folder with anything else is not the stack's to change or remove. */
const STACK_ENTRIES = new Set([
  'db-password',
  'logs',
  'pg',
  'pg-home',
  'state.json',
  'supervisor.pid',
  'keep',
  'workflow-bundle.js',
  'dynamicconfig.yaml',
]);

/** Whether `dir` is absent, empty, or holds only what a stack writes (so `up` may use it and `down` remove it). */
export function isStackFolder(dir: string): boolean {
  return !existsSync(dir) || readdirSync(dir).every((entry) => STACK_ENTRIES.has(entry));
}

/** Refuses a folder that holds anything a stack does not write: the stack changes its mode and `down` removes it. */
export function assertStackFolder(dir: string): void {
  if (!isStackFolder(dir)) {
    throw new Error(
      `stack folder ${dir} holds files of its own; give a new or empty folder with --dir (down removes it)`,
    );
  }
}

/** Runs one of the compose scripts with `/bin/sh`, its output to `logFile`; throws with its tail on failure. */
function runScript(script: string, logFile: string, env: NodeJS.ProcessEnv): void {
  const out = spawnSync('/bin/sh', [script], {
    encoding: 'utf8',
    // The Temporal CLI reads its config from HOME (or XDG_CONFIG_HOME).
    env: { HOME: process.env.HOME, XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME, ...env },
    timeout: 300_000,
  });
  writeFileSync(logFile, `${out.stdout ?? ''}${out.stderr ?? ''}`, { mode: 0o600 });
  if (out.status !== 0) {
    const tail = `${out.stdout ?? ''}${out.stderr ?? ''}`.split('\n').slice(-20).join('\n');
    throw new Error(`${script} failed (exit ${out.status ?? out.signal}):\n${tail}`);
  }
}
