/**
 * The local production stack (src/dev/stack.ts): `npm run stack` (= `up`), `npm run stack -- down
 * [--keep]`, `npm run stack -- status [--json]`, `npm run stack -- run` (in the foreground).
 *
 * `up` starts a supervisor process in the background that owns every part (PostgreSQL, the
 * Temporal server, Toxiproxy, the emulator, the workers, which it restarts when they die) and
 * waits until it reports ready. `down` stops it and then makes sure no process of the stack is
 * left, whatever happened to the supervisor.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { ensurePostgres, POSTGRES_MAJOR, removeOutsideHome } from '../src/dev/postgres';
import { assertStackFolder, Stack, type StackState } from '../src/dev/stack';
import { resolveTemporalCli } from '../src/dev/temporal-cli';
import { resolveTemporalServer } from '../src/dev/temporal-server';
import { resolveToxiproxy } from '../src/dev/toxiproxy';

const USAGE = `Usage: npm run stack -- [up|down|status|run|install] [options]

  up                 start PostgreSQL, the Temporal server (4 shards), the APS emulator and the
                     workers in the background, and print where they run (the default)
  down               stop everything; the stack folder is removed unless --keep
  status             what runs and where (--json for the state as JSON)
  run                like up, in the foreground (Ctrl-C stops it)
  install            build or find every part (Temporal server and SQL tool, Toxiproxy, the
                     Temporal CLI, PostgreSQL ${POSTGRES_MAJOR}: apt-get when missing and run as root)

Options:
  --workers <n>      worker processes, each a host behind its own links (default 3)
  --task-queue <q>   their task queue (default aps-jobs)
  --dir <path>       the stack folder (default ${defaultDir()})
  --keep             with down: keep the folder (PostgreSQL's data); up reuses it
  --json             with status: print JSON`;

function defaultDir(): string {
  return process.env.APS_STACK_DIR ?? join(tmpdir(), `adb-aps-stack-${process.getuid?.() ?? 'user'}`);
}

const say = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

interface Files {
  dir: string;
  state: string;
  supervisor: string;
  keep: string;
  log: string;
}

function files(dir: string): Files {
  return {
    dir,
    state: join(dir, 'state.json'),
    supervisor: join(dir, 'supervisor.pid'),
    keep: join(dir, 'keep'),
    log: join(dir, 'logs', 'stack.log'),
  };
}

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readPid(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function readState(f: Files): StackState | undefined {
  try {
    return JSON.parse(readFileSync(f.state, 'utf8')) as StackState;
  } catch {
    return undefined;
  }
}

/** Every PID the state names (workers, server, Toxiproxy, postmaster). */
function statePids(state: StackState | undefined): number[] {
  if (!state) return [];
  return [
    ...state.workers.map((w) => w.pid),
    state.server.pid,
    state.toxiproxy.pid,
    state.postgres.pid,
  ].filter((p): p is number => typeof p === 'number');
}

function printState(state: StackState, supervisorPid: number | undefined): void {
  const mark = (pid: number | undefined): string => (pid && alive(pid) ? `pid ${pid}` : 'not running');
  const lines = [
    `stack folder   ${state.dir}  (supervisor ${mark(supervisorPid)})`,
    `postgresql     ${state.postgres.address}  data ${state.postgres.dataDir}  (${mark(state.postgres.pid)})`,
    `temporal       ${state.address}  namespace ${state.namespace}  ${state.server.shards} history shards  ${state.server.version ?? ''}  (${mark(state.server.pid)})`,
    `  metrics      ${state.serverMetrics}`,
    `  log          ${state.server.log}`,
    `aps endpoint   ${state.aps.endpoint}${state.aps.emulator ? '  (the stack emulator; jobs aps-… exist on first use)' : ''}`,
    `toxiproxy      ${state.toxiproxy.api}  (${mark(state.toxiproxy.pid)})`,
    ...state.workers.map(
      (w) =>
        `worker ${w.slot}       task queue ${state.taskQueue}  temporal via ${w.temporal}  aps via ${w.aps}  metrics http://${w.metrics}/metrics  (${mark(w.pid)})`,
    ),
    `ui             ${state.ui}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function up(f: Files, args: string[]): Promise<void> {
  const running = readPid(f.supervisor);
  if (alive(running) && existsSync(f.state)) {
    say(`stack: already up (supervisor pid ${running})`);
    printState(readState(f) as StackState, running);
    return;
  }
  assertStackFolder(f.dir);
  mkdirSync(join(f.dir, 'logs'), { recursive: true });
  rmSync(f.state, { force: true });
  rmSync(f.keep, { force: true });
  const fd = openSync(f.log, 'a');
  const started = readFileSync(f.log, 'utf8').length;
  const child = spawn(
    process.execPath,
    ['--require', 'tsx/cjs', __filename, 'run', '--dir', f.dir, ...args],
    {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: process.env,
    },
  );
  closeSync(fd);
  child.unref();
  say(`stack: supervisor pid ${child.pid}, log ${f.log}`);
  // Show the supervisor's progress lines until it is ready or gone.
  let shown = started;
  const until = Date.now() + 20 * 60_000;
  for (;;) {
    const text = readFileSync(f.log, 'utf8');
    if (text.length > shown) {
      process.stderr.write(text.slice(shown));
      shown = text.length;
    }
    if (existsSync(f.state)) break;
    if (!alive(child.pid) || Date.now() > until) {
      throw new Error(`the stack did not come up; see ${f.log}`);
    }
    await sleep(250);
  }
  const state = readState(f) as StackState;
  printState(state, child.pid);
  process.stdout.write(
    `\nRun a job on it (another shell):\n` +
      `  TEMPORAL_ADDRESS=${state.address} npm run cli -- start aps-stack0001 --region cn-hangzhou --poll-interval 2s --wait\n` +
      `Stop it:\n  npm run stack -- down\n`,
  );
}

async function run(f: Files, opts: { workers: number; taskQueue: string }): Promise<void> {
  mkdirSync(f.dir, { recursive: true });
  writeFileSync(f.supervisor, String(process.pid));
  const stack = await Stack.up({ dir: f.dir, workers: opts.workers, taskQueue: opts.taskQueue, log: say });
  const write = (): void =>
    writeFileSync(f.state, `${JSON.stringify(stack.state(), null, 2)}\n`, { mode: 0o600 });
  write();
  say('stack: ready');
  // Worker PIDs change when a worker dies and is started again.
  const refresh = setInterval(write, 2_000);
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    clearInterval(refresh);
    const keep = existsSync(f.keep);
    say('stack: stopping');
    rmSync(f.state, { force: true });
    rmSync(f.supervisor, { force: true });
    await stack.down({ keep, quiet: false });
    process.exit(0);
  };
  const onSignal = (): void => {
    stop().catch((err: unknown) => {
      say(`stack: stopping failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

async function down(f: Files, keep: boolean): Promise<void> {
  const state = readState(f);
  const supervisor = readPid(f.supervisor);
  if (keep) writeFileSync(f.keep, '');
  if (alive(supervisor)) {
    say(`stack: stopping the supervisor (pid ${supervisor})`);
    process.kill(supervisor as number, 'SIGTERM');
    const until = Date.now() + 90_000;
    while (alive(supervisor) && Date.now() < until) await sleep(200);
    if (alive(supervisor)) process.kill(supervisor as number, 'SIGKILL');
  }
  // Whatever the supervisor left (it was killed, or crashed): stop it here.
  const left = statePids(state).filter(alive);
  for (const pid of left) process.kill(pid, 'SIGTERM');
  const until = Date.now() + 15_000;
  while (left.some(alive) && Date.now() < until) await sleep(200);
  for (const pid of left.filter(alive)) process.kill(pid, 'SIGKILL');
  if (left.length > 0) say(`stack: stopped ${left.length} process(es) the supervisor left`);
  if (!keep) {
    // Only a folder that holds nothing but the stack's own files is removed.
    assertStackFolder(f.dir);
    removeOutsideHome(f.dir);
    rmSync(f.dir, { recursive: true, force: true });
  } else rmSync(f.state, { force: true });
  const still = statePids(state).filter(alive);
  if (still.length > 0) throw new Error(`processes still running: ${still.join(', ')}`);
  say(`stack: down${keep ? `; kept ${f.dir}` : ''}; no process of it is left`);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      workers: { type: 'string' },
      'task-queue': { type: 'string' },
      dir: { type: 'string' },
      keep: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const command = positionals[0] ?? 'up';
  const workers = values.workers === undefined ? 3 : Number(values.workers);
  if (!Number.isInteger(workers) || workers < 0 || workers > 32) {
    throw new Error(`--workers: expected a whole number from 0 to 32, got ${JSON.stringify(values.workers)}`);
  }
  const taskQueue = values['task-queue'] ?? 'aps-jobs';
  const f = files(values.dir ?? defaultDir());
  switch (command) {
    case 'up':
      return up(f, ['--workers', String(workers), '--task-queue', taskQueue]);
    case 'run':
      return run(f, { workers, taskQueue });
    case 'down':
      return down(f, values.keep === true);
    case 'install': {
      await resolveTemporalCli({ log: say });
      await resolveTemporalServer({ log: say });
      say(`toxiproxy: using ${await resolveToxiproxy({ log: say })}`);
      say(`postgres: using ${ensurePostgres(say)}`);
      return;
    }
    case 'status': {
      const state = readState(f);
      const supervisor = readPid(f.supervisor);
      if (!state || !alive(supervisor)) {
        process.stdout.write(values.json ? 'null\n' : `stack: not running (folder ${f.dir})\n`);
        process.exitCode = 3;
        return;
      }
      if (values.json) process.stdout.write(`${JSON.stringify({ supervisor, ...state }, null, 2)}\n`);
      else printState(state, supervisor);
      return;
    }
    default:
      throw new Error(
        `unknown command ${JSON.stringify(command)}; expected up, down, status, run or install\n\n${USAGE}`,
      );
  }
}

main().catch((err: unknown) => {
  say(`stack: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
