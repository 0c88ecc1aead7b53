/**
 * The worker's heap defaults: `node lib/worker.js` and `aps-jobs worker` started without a heap
 * flag restart in a child with WORKER_NODE_OPTIONS, relay signals to it and end as it ends. The
 * relay itself is exercised through test/support/heap-probe.ts (a stand-in entry that starts in
 * milliseconds); the real entries through their `worker process` debug line, with a Temporal
 * address that refuses connections so that they fail fast.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ConfigError, WORKER_NODE_OPTIONS, workerHeapPlan } from '../src/config';
import { waitFor } from './emulator/helpers';

const ROOT = join(__dirname, '..');
const DEFAULT_FLAGS = WORKER_NODE_OPTIONS.split(' ');

/** A heap limit that the defaults give: 256 MiB of old space plus the young generation. */
function assertDefaultHeap(heapLimitMiB: unknown): void {
  assert.ok(
    typeof heapLimitMiB === 'number' && heapLimitMiB >= 256 && heapLimitMiB < 300,
    `heap limit ${String(heapLimitMiB)} MiB`,
  );
}

/** The heap limit of a bare `node` here, without flags: what the worker would get without defaults. */
function bareNodeHeapMiB(): number {
  const out = spawnSync(
    process.execPath,
    ['-p', 'Math.round(require("v8").getHeapStatistics().heap_size_limit / 2 ** 20)'],
    { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' },
  );
  return Number(out.stdout.trim());
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Probe {
  child: ChildProcess;
  /** The JSON lines printed so far. */
  lines: Record<string, unknown>[];
  stderr: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  ready: () => Promise<Record<string, unknown>>;
}

/** Starts a command in a process group of its own (so the test can signal the group as a terminal does). */
function start(args: string[], env: Record<string, string>): Probe {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const lines: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  let buffered = '';
  child.stdout?.on('data', (d: Buffer) => {
    buffered += d.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const part of parts) if (part.trim() !== '') lines.push(JSON.parse(part) as Record<string, unknown>);
  });
  child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const ready = async (): Promise<Record<string, unknown>> => {
    await waitFor(() => lines.some((l) => l.event === 'ready'), 'the probe to be ready', 30_000);
    return lines.find((l) => l.event === 'ready') as Record<string, unknown>;
  };
  return { child, lines, stderr, exited, ready };
}

function startProbe(env: Record<string, string> = {}): Probe {
  return start(['--require', 'tsx/cjs', join(ROOT, 'test', 'support', 'heap-probe.ts')], env);
}

describe('worker heap defaults', () => {
  const started: Probe[] = [];
  const track = (p: Probe): Probe => {
    started.push(p);
    return p;
  };
  afterEach(() => {
    // Whatever a failed test left behind: the whole group, the child too when its parent is gone.
    for (const p of started.splice(0)) {
      if (p.child.pid === undefined) continue;
      try {
        process.kill(-p.child.pid, 'SIGKILL');
      } catch {
        // the group is empty: nothing left
      }
    }
  });

  describe('workerHeapPlan', () => {
    it('restarts with the defaults only when neither heap flag is given', () => {
      assert.deepEqual(workerHeapPlan([], {}), { action: 'restart', flags: DEFAULT_FLAGS });
      assert.deepEqual(workerHeapPlan(['--require', 'tsx/cjs'], { NODE_OPTIONS: '--enable-source-maps' }), {
        action: 'restart',
        flags: DEFAULT_FLAGS,
      });
      const given: [string[], NodeJS.ProcessEnv][] = [
        [['--max-old-space-size=512'], {}],
        [['--max_semi_space_size=8'], {}],
        [[], { NODE_OPTIONS: '--enable-source-maps --max-old-space-size=1536' }],
        [[], { NODE_OPTIONS: ' --max-semi-space-size=4 ' }],
      ];
      for (const [execArgv, env] of given) {
        assert.deepEqual(
          workerHeapPlan(execArgv, env),
          { action: 'run', relayed: false },
          JSON.stringify(env),
        );
      }
    });

    it('APS_WORKER_HEAP_DEFAULTS=off opts out; any other value than on/off is refused by name', () => {
      assert.deepEqual(workerHeapPlan([], { APS_WORKER_HEAP_DEFAULTS: 'off' }), {
        action: 'run',
        relayed: false,
      });
      assert.equal(workerHeapPlan([], { APS_WORKER_HEAP_DEFAULTS: 'on' }).action, 'restart');
      assert.throws(
        () => workerHeapPlan([], { APS_WORKER_HEAP_DEFAULTS: 'no' }),
        (e: Error) =>
          e instanceof ConfigError && /^APS_WORKER_HEAP_DEFAULTS: .*'on'.*'off'.*"no"/.test(e.message),
      );
    });

    it('never restarts the restarted child, and only warns under an inspector', () => {
      assert.deepEqual(workerHeapPlan([], { APS_WORKER_HEAP_RELAY: '1' }), { action: 'run', relayed: true });
      const inspected = workerHeapPlan(['--inspect=9230'], {});
      assert.equal(inspected.action, 'run');
      assert.ok(inspected.action === 'run' && inspected.warning?.includes(WORKER_NODE_OPTIONS));
      assert.equal(workerHeapPlan([], { NODE_OPTIONS: '--inspect-brk' }).action, 'run');
    });
  });

  describe('the relay (a stand-in entry)', function () {
    this.timeout(60_000);

    it('runs the entry in a child with the defaults; SIGTERM reaches it and its exit code comes back', async () => {
      const probe = track(startProbe());
      const ready = await probe.ready();
      assert.notEqual(ready.pid, probe.child.pid, 'the entry runs in a child process');
      assert.deepEqual(ready.heapFlags, DEFAULT_FLAGS);
      assertDefaultHeap(ready.heapLimitMiB);
      probe.child.kill('SIGTERM');
      assert.deepEqual(await probe.exited, { code: 7, signal: null });
      assert.deepEqual(
        probe.lines.filter((l) => l.event === 'draining'),
        [{ event: 'draining', signal: 'SIGTERM' }],
      );
    });

    it('Ctrl-C reaches the child twice (terminal and relay) and it still drains', async () => {
      const probe = track(startProbe());
      await probe.ready();
      // A terminal sends SIGINT to the whole foreground process group: parent and child alike.
      process.kill(-(probe.child.pid as number), 'SIGINT');
      assert.deepEqual(await probe.exited, { code: 0, signal: null });
      assert.equal(probe.lines.filter((l) => l.event === 'draining').length, 1);
    });

    it('a second Ctrl-C more than a second later still ends it at once', async () => {
      const probe = track(startProbe({ PROBE_DRAIN_MS: '20000' }));
      await probe.ready();
      const group = -(probe.child.pid as number);
      process.kill(group, 'SIGINT');
      await waitFor(() => probe.lines.some((l) => l.event === 'draining'), 'the drain to begin');
      await new Promise((resolve) => setTimeout(resolve, 1500));
      process.kill(group, 'SIGINT');
      assert.deepEqual(await probe.exited, { code: null, signal: 'SIGINT' });
    });

    it('the child goes when the parent is killed with SIGKILL', async () => {
      const probe = track(startProbe());
      const childPid = (await probe.ready()).pid as number;
      probe.child.kill('SIGKILL');
      await probe.exited;
      await waitFor(() => !alive(childPid), 'the child to end with its parent', 10_000);
    });

    it('the parent ends with the signal the child died of', async () => {
      const probe = track(startProbe());
      const childPid = (await probe.ready()).pid as number;
      process.kill(childPid, 'SIGKILL');
      assert.deepEqual(await probe.exited, { code: null, signal: 'SIGKILL' });
    });

    it('no restart when a heap flag is given or the defaults are turned off', async () => {
      const sized = track(startProbe({ NODE_OPTIONS: '--max-old-space-size=300' }));
      const sizedReady = await sized.ready();
      assert.equal(sizedReady.pid, sized.child.pid);
      assert.deepEqual(sizedReady.heapFlags, ['--max-old-space-size=300']);
      sized.child.kill('SIGTERM');
      assert.equal((await sized.exited).code, 7);

      const off = track(startProbe({ APS_WORKER_HEAP_DEFAULTS: 'off' }));
      const offReady = await off.ready();
      assert.equal(offReady.pid, off.child.pid);
      assert.deepEqual(offReady.heapFlags, []);
      assert.equal(offReady.heapLimitMiB, bareNodeHeapMiB());
      off.child.kill('SIGTERM');
      assert.equal((await off.exited).code, 7);
    });
  });

  describe('the real entries', function () {
    this.timeout(120_000);
    // Valid settings, and a Temporal address that refuses connections: the worker gets past its
    // `worker process` debug line, then fails to connect and exits.
    const env = {
      TEMPORAL_ADDRESS: '127.0.0.1:1',
      ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAI5tHeapTestKey',
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'not-a-real-secret-0123456789',
      APS_LOG_LEVEL: 'DEBUG',
      APS_LOG_FORMAT: 'json',
    };

    async function run(args: string[], extra: Record<string, string> = {}) {
      const p = track(start(args, { ...env, ...extra }));
      const result = await p.exited;
      const stderr = p.stderr.join('');
      const processLine = stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((e) => e.message === 'worker process');
      assert.ok(processLine, `no "worker process" line in:\n${stderr}`);
      return { ...result, stderr, processLine };
    }

    it('node src/worker.ts without flags runs the worker with the defaults, and exits as it does', async () => {
      const r = await run(['--require', 'tsx/cjs', join(ROOT, 'src', 'worker.ts')]);
      assert.deepEqual(r.processLine.heapFlags, DEFAULT_FLAGS);
      assertDefaultHeap(r.processLine.heapLimitMiB);
      assert.notEqual(r.processLine.pid, undefined);
      assert.equal(r.code, 1);
      assert.equal(r.stderr.match(/^worker: cannot reach Temporal at 127\.0\.0\.1:1/gm)?.length, 1, r.stderr);
    });

    it('aps-jobs worker does the same (exit 2: a settings error, as the CLI reports them)', async () => {
      const r = await run(['--import', 'tsx', join(ROOT, 'src', 'cli.ts'), 'worker']);
      assert.deepEqual(r.processLine.heapFlags, DEFAULT_FLAGS);
      assertDefaultHeap(r.processLine.heapLimitMiB);
      assert.equal(r.code, 2);
      assert.equal(r.stderr.match(/^error: cannot reach Temporal/gm)?.length, 1, r.stderr);
    });

    it('with APS_WORKER_HEAP_DEFAULTS=off the worker keeps Node’s own heap', async () => {
      const r = await run(['--require', 'tsx/cjs', join(ROOT, 'src', 'worker.ts')], {
        APS_WORKER_HEAP_DEFAULTS: 'off',
      });
      assert.deepEqual(r.processLine.heapFlags, []);
      assert.equal(r.processLine.heapLimitMiB, bareNodeHeapMiB());
      assert.equal(r.code, 1);
    });
  });
});
