import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { runApsJob } from '../src/workflows/run-aps-job';
import { startEmulator, type RunningEmulator } from '../src/emulator';
import { testEnv, uniqueTaskQueue } from './support/env';
import { eventually } from './support/stack';
import { killWorker, spawnWorker, type WorkerProcess } from './support/processes';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

describe('worker metrics (Prometheus) and JSON logs', function () {
  this.timeout(120_000);
  let emulator: RunningEmulator;
  let worker: WorkerProcess | undefined;
  before(async () => {
    emulator = await startEmulator({ seed: 9 });
  });
  after(async () => {
    if (worker) await killWorker(worker, 'SIGTERM');
    await emulator?.close();
  });

  it('exposes Temporal core metrics and the custom ones with their labels after a run; logs are JSON lines', async () => {
    const port = await freePort();
    const taskQueue = uniqueTaskQueue('metrics');
    worker = spawnWorker({
      taskQueue,
      emulator,
      env: {
        APS_METRICS_ADDRESS: `127.0.0.1:${port}`,
        APS_LOG_FORMAT: 'json',
        APS_LOG_LEVEL: 'INFO',
        APS_MAX_CACHED_WORKFLOWS: '50',
        NODE_OPTIONS: '--max-old-space-size=200',
      },
    });
    const apsJobId = `aps-metrics-${randomUUID().slice(0, 8)}`;
    emulator.addJob({ apsJobId, regionId: 'cn-hangzhou', kind: 'streaming', startingPolls: 1 });
    emulator.injectFault({
      kind: 'error',
      code: 'Throttling.User',
      action: 'StartApsJob',
      apsJobId,
      times: 1,
    });
    const handle = await testEnv().client.workflow.start(runApsJob, {
      taskQueue,
      workflowId: `metrics-${randomUUID()}`,
      args: [{ regionId: 'cn-hangzhou', apsJobId, pollInterval: '1s' }],
    });
    assert.equal((await handle.result()).status, 'Running');

    const line = (re: RegExp) => (text: string) => text.split('\n').find((l) => re.test(l));
    const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    // Metrics are exported on an interval: wait for the counters of this run to appear.
    const text: string = await eventually(
      async () => {
        const t = await scrape();
        return /aps_job_start_to_target/.test(t) ? t : '';
      },
      30_000,
      'custom metrics on /metrics',
    );

    assert.ok(
      line(/^aps_api_calls(_total)?\{.*action="StartApsJob".*code="OK"/)(text),
      'StartApsJob OK calls',
    );
    assert.ok(
      line(/^aps_api_calls(_total)?\{.*action="StartApsJob".*code="Throttling\.User"/)(text),
      'throttled calls',
    );
    assert.ok(
      line(/^aps_api_calls(_total)?\{.*action="DescribeApsJobDetail".*code="OK"/)(text),
      'describe calls',
    );
    assert.ok(line(/^aps_api_throttles(_total)?\{.*code="Throttling\.User"/)(text), 'throttle counter');
    assert.ok(
      line(
        /^aps_retry_decisions(_total)?\{.*retry="yes".*rule="throttling"|^aps_retry_decisions(_total)?\{.*rule="throttling".*retry="yes"/,
      )(text),
      'retry by rule',
    );
    assert.ok(
      line(/^aps_job_start_to_target_(bucket|count)\{.*target="running"/)(text),
      'start-to-target histogram',
    );
    assert.ok(line(/^temporal_/)(text), 'Temporal core metrics');
    assert.ok(line(/^temporal_sticky_cache_size\{/)(text), 'workflow cache gauge');
    assert.ok(line(/task_queue="metrics-/)(text), 'activity meter tags');

    await killWorker(worker, 'SIGTERM');
    const logLines = worker.output
      .join('')
      .split('\n')
      .filter((l) => l.trim() !== '');
    assert.ok(logLines.length > 0, 'no log lines');
    for (const l of logLines) {
      const entry = JSON.parse(l) as { level: string; message: string; time: string };
      assert.ok(entry.level && entry.message && entry.time, l);
    }
    assert.ok(logLines.some((l) => l.includes('"StartApsJob failed"') && l.includes('"Throttling.User"')));
    // The settings in effect: the cache from the environment, the slots fitted to it, the heap limit.
    const started = logLines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((e) => e.message === 'worker started');
    assert.ok(started, 'worker started line');
    assert.equal(started.maxCachedWorkflows, 50);
    assert.equal(started.maxConcurrentWorkflowTaskExecutions, 40);
    assert.equal(started.maxConcurrentActivityTaskExecutions, 100);
    assert.ok(
      typeof started.heapLimitMiB === 'number' && started.heapLimitMiB >= 200 && started.heapLimitMiB < 300,
      `heapLimitMiB ${String(started.heapLimitMiB)}`,
    );
  });
});
