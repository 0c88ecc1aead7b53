/**
 * examples/etl-pipeline as a user gets it: the package built and packed (`npm pack`), the example
 * copied next to the tarball its package.json names and installed from it (so every import goes
 * through the `exports` map of the installed package), built with its own tsc, then run with plain
 * `node` against the shared dev server and the APS emulator.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { cancelSupervisor, supervisorHandle, supervisorStatus } from '../../src/client';
import { generateAccessKey, startEmulator, type RunningEmulator } from '../../src/emulator';
import { jobWorkflowId, type SupervisorStatus } from '../../src/api';
import { testEnv, uniqueTaskQueue } from '../support/env';
import { mustRun, packPackage, ROOT } from '../support/package-build';

const EXAMPLE = join(ROOT, 'examples', 'etl-pipeline');
const REGION = 'cn-hangzhou';

let started = Date.now();
function say(line: string): void {
  process.stderr.write(`      [etl-example +${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`);
}

/** A child process with its output kept. */
interface Proc {
  child: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
}

function start(args: string[], cwd: string, env: NodeJS.ProcessEnv): Proc {
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output, exited };
}

/** Stops a process with SIGTERM (SIGKILL after 20 s) and waits for it. */
async function stop(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 20_000);
  await p.exited;
  clearTimeout(timer);
}

/** The example's result (src/workflows.ts `EtlPipelineResult`, plus the run's workflow ID). */
interface PipelineOutput {
  workflowId: string;
  supervised: { apsJobId: string; workflowId: string; alreadySupervised: boolean }[];
  loaded: { apsJobId: string; status: string; polls: number; reachedAt: string }[];
  failed: { apsJobId: string; status: string; errMessage?: string; reasons: string[]; consoleUrl?: string }[];
  reportPath: string;
}

async function pollUntil<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

describe('examples/etl-pipeline end to end, installed from the packed package', function () {
  this.timeout(180_000);

  let work: string;
  let app: string;
  let emulator: RunningEmulator;
  const key = generateAccessKey();
  const procs: Proc[] = [];
  const supervised: string[] = [];

  /** The environment of the example's processes: the dev server, the emulator, plain node. */
  function exampleEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      TEMPORAL_ADDRESS: testEnv().address,
      TEMPORAL_NAMESPACE: 'default',
      ALIBABA_CLOUD_ACCESS_KEY_ID: key.accessKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: key.accessKeySecret,
      ADB_ENDPOINT: `http://${emulator.endpoint}`,
      ...extra,
    };
  }

  /** Runs `node lib/run-pipeline.js <input>`; fails at once if a worker it needs exits. */
  async function runPipeline(input: object, taskQueue: string, workers: Proc[]): Promise<PipelineOutput> {
    const run = start(
      ['lib/run-pipeline.js', JSON.stringify(input)],
      app,
      exampleEnv({ ETL_TASK_QUEUE: taskQueue }),
    );
    procs.push(run);
    const workerExit = Promise.race(
      workers.map((w) =>
        w.exited.then((code) => {
          throw new Error(`a worker exited (${code}) during the pipeline:\n${w.output.join('')}`);
        }),
      ),
    );
    const code = await Promise.race([run.exited, workerExit]);
    const out = run.output.join('');
    assert.equal(code, 0, `run-pipeline exited ${code}:\n${out}`);
    const last = out
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .at(-1);
    assert.ok(last, `run-pipeline printed no result:\n${out}`);
    return JSON.parse(last) as PipelineOutput;
  }

  before(async function () {
    this.timeout(600_000);
    started = Date.now();
    say('building and packing the package');
    const tarball = await packPackage();
    work = mkdtempSync(join(tmpdir(), 'aps-etl-example-'));
    app = join(work, 'examples', 'etl-pipeline');
    // The same layout as the repository: the example's `file:../../<tarball>` finds the tarball.
    cpSync(EXAMPLE, app, {
      recursive: true,
      filter: (src) => !/[\\/](node_modules|lib|reports|package-lock\.json)$/.test(src),
    });
    const manifest = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    assert.equal(
      manifest.dependencies['adb-aps-temporal'],
      `file:../../${basename(tarball)}`,
      'the example depends on the tarball npm pack writes',
    );
    copyFileSync(tarball, join(work, basename(tarball)));
    say(`installing the example from ${basename(tarball)}`);
    await mustRun('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: app,
      timeoutMs: 300_000,
    });
    // The installed package is the tarball's content, not a link to this checkout.
    assert.ok(!existsSync(join(app, 'node_modules', 'adb-aps-temporal', 'test')));
    assert.ok(existsSync(join(app, 'node_modules', 'adb-aps-temporal', 'lib', 'exports', 'workflows.js')));
    say('type-checking and building the example (its own tsc, node16 resolution)');
    await mustRun('npm', ['run', 'build'], { cwd: app });
    // Projects still on `moduleResolution: node` find the subpaths' types through typesVersions.
    await mustRun(
      join(app, 'node_modules', '.bin', 'tsc'),
      ['-p', 'tsconfig.json', '--noEmit', '--module', 'commonjs', '--moduleResolution', 'node10'],
      { cwd: app },
    );
    emulator = await startEmulator({ accessKeys: [key] });
  });

  after(async function () {
    this.timeout(60_000);
    // Left open only when a test failed half way; its worker may be gone, so terminate.
    for (const apsJobId of supervised) {
      await supervisorHandle(testEnv().client, REGION, apsJobId)
        .terminate('test cleanup')
        .catch(() => undefined);
    }
    for (const p of procs) await stop(p);
    await emulator?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('the installed CLI runs with plain node from lib/', async () => {
    const run = await mustRun(
      process.execPath,
      [join(app, 'node_modules', 'adb-aps-temporal', 'lib', 'cli.js'), '--help'],
      { cwd: app, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' } },
    );
    assert.match(run.stdout, /Usage: aps-jobs/);
  });

  it('own worker: two streams supervised, a batch job loaded, a failed one reported with its reasons, then the downstream step', async () => {
    const tag = randomUUID().slice(0, 8);
    const streams = [`aps-etl-kafka-${tag}`, `aps-etl-sls-${tag}`];
    const batch = `aps-etl-hive-${tag}`;
    const broken = `aps-etl-broken-${tag}`;
    for (const apsJobId of streams)
      emulator.addJob({ apsJobId, regionId: REGION, kind: 'streaming', startingPolls: 1 });
    emulator.addJob({ apsJobId: batch, regionId: REGION, kind: 'batch', runningPollsToComplete: 2 });
    emulator.addJob({
      apsJobId: broken,
      regionId: REGION,
      kind: 'failing',
      failAfterPolls: 1,
      errMessage: 'source table dw.orders_2024 not found',
      destinationInstanceId: 'amv-etl0001',
      actionLogs: [
        { context: 'HiveMetaStore: table dw.orders_2024 does not exist' },
        { context: 'FullDataSync aborted after 0 rows' },
      ],
    });
    supervised.push(...streams);

    const taskQueue = uniqueTaskQueue('etl-pipeline');
    const reportDir = join(work, 'reports-own');
    say(`starting the example worker on ${taskQueue}`);
    const worker = start(
      ['lib/worker.js'],
      app,
      exampleEnv({ ETL_TASK_QUEUE: taskQueue, ETL_REPORT_DIR: reportDir }),
    );
    procs.push(worker);

    say('running the pipeline');
    const input = {
      regionId: REGION,
      streamingJobIds: streams,
      batchJobIds: [batch, broken],
      pollInterval: '1s',
      checkInterval: '2s',
    };
    const result = await runPipeline(input, taskQueue, [worker]);
    say(`pipeline ${result.workflowId} done: ${result.loaded.length} loaded, ${result.failed.length} failed`);

    // Both streams got a supervisor of their own, which brought each job up and keeps it up.
    assert.deepEqual(
      result.supervised.map((s) => [s.apsJobId, s.alreadySupervised]),
      streams.map((id) => [id, false]),
    );
    for (const apsJobId of streams) {
      const status = await pollUntil<SupervisorStatus>(
        `the supervisor of ${apsJobId} to see the job running`,
        async () => {
          const s = await supervisorStatus(testEnv().client, REGION, apsJobId);
          return s.phase === 'running' ? s : undefined;
        },
        60_000,
      );
      assert.equal(status.lastStatus?.toLowerCase(), 'running');
      assert.equal(emulator.job(apsJobId)?.status, 'Running');
      assert.equal(emulator.effectiveStarts(apsJobId), 1);
    }

    // The batch job ran to completed as a child on this worker's queue.
    assert.deepEqual(
      result.loaded.map((l) => [l.apsJobId, l.status]),
      [[batch, 'COMPLETED']],
    );
    assert.equal(emulator.effectiveStarts(batch), 1);
    const child = await testEnv().client.workflow.getHandle(jobWorkflowId(REGION, batch)).describe();
    assert.equal(child.taskQueue, taskQueue);
    assert.equal(child.parentExecution?.workflowId, result.workflowId);

    // The failed one did not fail the pipeline: its ApsJobFailed reasons were read and kept.
    assert.equal(result.failed.length, 1);
    const failed = result.failed[0];
    assert.ok(failed);
    assert.equal(failed.apsJobId, broken);
    assert.equal(failed.status.toLowerCase(), 'failed');
    assert.equal(failed.errMessage, 'source table dw.orders_2024 not found');
    assert.ok(
      failed.reasons.some((r) => r.includes('HiveMetaStore: table dw.orders_2024 does not exist')),
      `reasons: ${JSON.stringify(failed.reasons)}`,
    );
    assert.ok(failed.reasons.some((r) => r.includes('FullDataSync aborted after 0 rows')));
    assert.match(failed.consoleUrl ?? '', /\/adb\/cn-hangzhou\/mysql\/cluster\/amv-etl0001\//);

    // The downstream step ran after the loads, with what they produced.
    assert.equal(result.reportPath, join(reportDir, `${result.workflowId}.json`));
    const report = JSON.parse(readFileSync(result.reportPath, 'utf8')) as {
      pipelineRunId: string;
      loaded: unknown[];
      failed: unknown[];
    };
    assert.equal(report.pipelineRunId, result.workflowId);
    assert.deepEqual(report.loaded, result.loaded);
    assert.deepEqual(report.failed, result.failed);

    // A second run finds both supervisors open and leaves them (and the jobs) alone.
    say('running the pipeline again: the streams are already supervised');
    const again = await runPipeline({ ...input, batchJobIds: [] }, taskQueue, [worker]);
    assert.deepEqual(
      again.supervised.map((s) => [s.apsJobId, s.alreadySupervised]),
      streams.map((id) => [id, true]),
    );
    for (const apsJobId of streams) assert.equal(emulator.effectiveStarts(apsJobId), 1);

    // The supervisors outlive the pipeline (ABANDON): they end when cancelled, not before.
    for (const apsJobId of streams) {
      await cancelSupervisor(testEnv().client, REGION, apsJobId);
      await assert.rejects(supervisorHandle(testEnv().client, REGION, apsJobId).result(), /cancel/i);
    }
    await stop(worker);
    assert.match(worker.output.join(''), new RegExp(`etl worker: polling ${taskQueue}`));
  });

  it("separate queue: the children run on the package's own worker (node lib/worker.js from the installed package)", async () => {
    const tag = randomUUID().slice(0, 8);
    const batch = `aps-etl-queue-${tag}`;
    emulator.addJob({ apsJobId: batch, regionId: REGION, kind: 'batch', runningPollsToComplete: 1 });
    const taskQueue = uniqueTaskQueue('etl-pipeline');
    const apsTaskQueue = uniqueTaskQueue('aps-jobs');

    say(`starting the package's worker on ${apsTaskQueue} and the example's on ${taskQueue}`);
    const apsWorker = start(
      [join(app, 'node_modules', 'adb-aps-temporal', 'lib', 'worker.js')],
      app,
      exampleEnv({
        TEMPORAL_TASK_QUEUE: apsTaskQueue,
        APS_WORKER_HEAP_DEFAULTS: 'off',
        APS_LOG_LEVEL: 'WARN',
      }),
    );
    procs.push(apsWorker);
    const worker = start(
      ['lib/worker.js'],
      app,
      exampleEnv({ ETL_TASK_QUEUE: taskQueue, ETL_REPORT_DIR: join(work, 'reports-queue') }),
    );
    procs.push(worker);

    const result = await runPipeline(
      { regionId: REGION, streamingJobIds: [], batchJobIds: [batch], apsTaskQueue, pollInterval: '1s' },
      taskQueue,
      [worker, apsWorker],
    );
    assert.deepEqual(
      result.loaded.map((l) => [l.apsJobId, l.status]),
      [[batch, 'COMPLETED']],
    );
    const child = await testEnv().client.workflow.getHandle(jobWorkflowId(REGION, batch)).describe();
    assert.equal(child.taskQueue, apsTaskQueue);
    assert.equal(child.parentExecution?.workflowId, result.workflowId);
    assert.equal(emulator.effectiveStarts(batch), 1);
    await stop(worker);
    await stop(apsWorker);
    say('done');
  });
});
