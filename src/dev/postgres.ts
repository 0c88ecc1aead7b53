/**
 * A PostgreSQL server of the local stack's own: its data directory in a folder of the stack, a
 * free loopback port, and, when run as root (PostgreSQL refuses to run as root), the `postgres`
 * user. Found under /usr/lib/postgresql or on PATH; installed with apt where missing and allowed.
 */
import { execFile, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findOnPath, isExecutableFile } from './go-build';

/** The major version Debian ships and the stack is tested on. */
export const POSTGRES_MAJOR = 15;

/** The folder of `initdb` and `pg_ctl`, or undefined. */
export function findPostgresBin(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.APS_STACK_PG_BIN) return env.APS_STACK_PG_BIN;
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const majors = readdirSync(root)
      .filter((d) => /^\d+$/.test(d) && isExecutableFile(join(root, d, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    const preferred = majors.includes(String(POSTGRES_MAJOR)) ? String(POSTGRES_MAJOR) : majors[0];
    if (preferred) return join(root, preferred, 'bin');
  }
  const initdb = findOnPath('initdb', env);
  return initdb ? join(initdb, '..') : undefined;
}

/** Finds PostgreSQL, or installs `postgresql-15` with apt when running as root and `install` allows it. */
export function ensurePostgres(log: (line: string) => void, install = true): string {
  const found = findPostgresBin();
  if (found) return found;
  const apt = findOnPath('apt-get');
  if (!install || !apt || process.getuid?.() !== 0) {
    throw new Error(
      `PostgreSQL ${POSTGRES_MAJOR} is not installed (no initdb under /usr/lib/postgresql or on PATH). Install it, e.g. 'apt-get install postgresql-${POSTGRES_MAJOR}', or set APS_STACK_PG_BIN to its bin folder.`,
    );
  }
  log(`postgres: installing postgresql-${POSTGRES_MAJOR} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args: string[]): SpawnSyncReturns<string> =>
    spawnSync(apt, args, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = run(['install', '-y', '--no-install-recommends', `postgresql-${POSTGRES_MAJOR}`]);
  if (out.status !== 0) {
    run(['update']);
    out = run(['install', '-y', '--no-install-recommends', `postgresql-${POSTGRES_MAJOR}`]);
  }
  const bin = findPostgresBin();
  if (out.status !== 0 || !bin) {
    throw new Error(
      `apt-get install postgresql-${POSTGRES_MAJOR} failed:\n${(out.stderr || out.stdout).slice(-2000)}`,
    );
  }
  // The package starts a cluster of its own on 5432; the stack runs its own and needs none.
  spawnSync('pg_ctlcluster', [String(POSTGRES_MAJOR), 'main', 'stop'], { stdio: 'ignore' });
  return bin;
}

/**
 * Where the server's folder goes for a stack folder `dir`: `<dir>/pg`, unless this runs as root and
 * the `postgres` user cannot reach `dir` (a folder under /root, or in a private temp folder); then
 * a folder of its own under the system temp folder, whose path `<dir>/pg-home` keeps for the next
 * `up` and for `down`.
 */
export function postgresHome(dir: string): string {
  const record = join(dir, 'pg-home');
  if (existsSync(record)) return readFileSync(record, 'utf8').trim();
  const reachable =
    process.getuid?.() !== 0 ||
    spawnSync('runuser', ['-u', 'postgres', '--', 'test', '-x', dir], { stdio: 'ignore' }).status === 0;
  if (reachable) return join(dir, 'pg');
  const outside = mkdtempSync(join(tmpdir(), 'adb-aps-stack-pg-'));
  chmodSync(outside, 0o711);
  const home = join(outside, 'pg');
  writeFileSync(record, home);
  return home;
}

/** Removes a server folder that {@link postgresHome} put outside `dir`. */
export function removeOutsideHome(dir: string): void {
  const record = join(dir, 'pg-home');
  if (!existsSync(record)) return;
  rmSync(join(readFileSync(record, 'utf8').trim(), '..'), { recursive: true, force: true });
}

/** Settings of {@link Postgres}. */
export interface PostgresOptions {
  /** `initdb`/`pg_ctl` folder. */
  bin: string;
  /** The server's own folder (data directory, socket, log); created, and owned by `postgres` when run as root. */
  home: string;
  /** Loopback port. */
  port: number;
  /** Superuser name (default `temporal`, as in docker-compose.yml). */
  user?: string;
  /** Its password. */
  password: string;
  /** `max_connections` (default 200: four Temporal services keep up to 30 connections each). */
  maxConnections?: number;
}

/** One PostgreSQL server (postmaster) run through `pg_ctl`. */
export class Postgres {
  /** Data directory. */
  readonly dataDir: string;
  /** Server log. */
  readonly logFile: string;
  private readonly home: string;
  private readonly runAs: { uid: number; gid: number } | undefined;

  constructor(private readonly opts: PostgresOptions) {
    this.home = opts.home;
    this.dataDir = join(this.home, 'data');
    this.logFile = join(this.home, 'postgres.log');
    if (process.getuid?.() === 0) {
      const id = (flag: string): number =>
        Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
      const uid = id('-u');
      if (!Number.isInteger(uid) || uid <= 0) {
        throw new Error(
          "PostgreSQL refuses to run as root and there is no 'postgres' user; create one or run as another user.",
        );
      }
      this.runAs = { uid, gid: id('-g') };
    }
  }

  /** The superuser. */
  get user(): string {
    return this.opts.user ?? 'temporal';
  }

  /** The port. */
  get port(): number {
    return this.opts.port;
  }

  private pg(tool: string, args: string[], check = true): SpawnSyncReturns<string> {
    const cmd = join(this.opts.bin, tool);
    const out = this.runAs
      ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8', cwd: this.home })
      : spawnSync(cmd, args, { encoding: 'utf8', cwd: this.home });
    if (check && out.status !== 0) {
      throw new Error(
        `${tool} ${args[0] ?? ''} failed (exit ${out.status}):\n${(out.stderr || out.stdout).slice(-2000)}\nlog: ${this.logFile}`,
      );
    }
    return out;
  }

  /** Like {@link pg}, without blocking the event loop (for operations while the stack serves). */
  private pgAsync(tool: string, args: string[]): Promise<void> {
    const cmd = join(this.opts.bin, tool);
    const [file, argv] = this.runAs ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
    return new Promise((resolve, reject) => {
      execFile(file, argv, { cwd: this.home, encoding: 'utf8' }, (err, stdout, stderr) => {
        if (err) {
          reject(
            new Error(
              `${tool} ${args.at(-1) ?? ''} failed: ${(stderr || stdout).slice(-2000)}\nlog: ${this.logFile}`,
            ),
          );
        } else resolve();
      });
    });
  }

  private own(path: string): void {
    if (this.runAs) chownSync(path, this.runAs.uid, this.runAs.gid);
  }

  /** Creates the cluster: the superuser with its password, scram over TCP, trust on the socket. */
  init(): void {
    mkdirSync(this.home, { recursive: true, mode: 0o700 });
    this.own(this.home);
    const pwfile = join(this.home, 'pwfile');
    writeFileSync(pwfile, `${this.opts.password}\n`, { mode: 0o600 });
    this.own(pwfile);
    try {
      this.pg('initdb', [
        '-D',
        this.dataDir,
        '-U',
        this.user,
        `--pwfile=${pwfile}`,
        '--auth-host=scram-sha-256',
        '--auth-local=trust',
        '-E',
        'UTF8',
        '--no-instructions',
      ]);
    } finally {
      rmSync(pwfile, { force: true });
    }
  }

  private options(): string {
    return [
      `-p ${this.opts.port}`,
      `-k ${this.home}`,
      '-c listen_addresses=127.0.0.1',
      `-c max_connections=${this.opts.maxConnections ?? 200}`,
    ].join(' ');
  }

  /** Starts the server and waits until it accepts connections. */
  async start(): Promise<void> {
    const args = ['-D', this.dataDir, '-l', this.logFile, '-o', this.options(), '-w', '-t', '60', 'start'];
    // Right after a kill -9 the old backends may still hold the data directory for a moment.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.pgAsync('pg_ctl', args);
        return;
      } catch (err) {
        if (attempt >= 10) throw err;
      }
      await sleep(500);
    }
  }

  /** `pg_ctl restart -m fast`: backends stop, connections drop, the server comes back. */
  restart(): Promise<void> {
    const args = [
      '-D',
      this.dataDir,
      '-l',
      this.logFile,
      '-o',
      this.options(),
      '-m',
      'fast',
      '-w',
      '-t',
      '60',
    ];
    return this.pgAsync('pg_ctl', [...args, 'restart']);
  }

  /** The postmaster's PID, from `postmaster.pid`, or undefined when it is not running. */
  pid(): number | undefined {
    try {
      const pid = Number(readFileSync(join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      if (!Number.isInteger(pid) || pid <= 0) return undefined;
      process.kill(pid, 0);
      return pid;
    } catch {
      return undefined;
    }
  }

  /** SIGKILLs the postmaster (a crash: no shutdown checkpoint) and waits until it is gone. */
  async killPostmaster(): Promise<number> {
    const pid = this.pid();
    if (pid === undefined) throw new Error('postgres is not running');
    process.kill(pid, 'SIGKILL');
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      try {
        process.kill(pid, 0);
      } catch {
        return pid;
      }
      await sleep(50);
    }
    throw new Error(`postmaster ${pid} survived SIGKILL`);
  }

  /** `pg_ctl stop -m fast`, when running. */
  stop(): void {
    if (this.pid() === undefined) return;
    this.pg('pg_ctl', ['-D', this.dataDir, '-m', 'fast', '-w', '-t', '60', 'stop'], false);
  }
}
