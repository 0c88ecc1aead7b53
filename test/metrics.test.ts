import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import type {
  MetricCounter,
  MetricGauge,
  MetricHistogram,
  MetricMeter,
  MetricTags,
} from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, type StartApsJobInput } from '../src/activities';
import { KNOWN_ERROR_CODES } from '../src/aps/errors';
import { codeLabel, createMetricObservers, METRIC_NAMES, recordApiCall, ruleLabeler } from '../src/metrics';
import { BUILT_IN_RULE_NAMES, validateRetryRules } from '../src/retry';
import { runApsJob } from '../src/workflows/run-aps-job';
import { startEmulator, type RunningEmulator } from '../src/emulator';
import { FakeAps, S } from './support/fake-aps';
import { testEnv, uniqueTaskQueue } from './support/env';
import { eventually } from './support/stack';
import { killWorker, spawnWorker, type WorkerProcess } from './support/processes';
import { freePort } from '../src/dev/net';

/** One recorded data point: metric name, value and every tag. */
interface Point {
  metric: string;
  value: number;
  tags: MetricTags;
}

/** A MetricMeter that keeps every data point in memory. */
class RecordingMeter implements MetricMeter {
  constructor(
    readonly points: Point[] = [],
    private readonly tags: MetricTags = {},
  ) {}

  private sink(metric: string, base: MetricTags) {
    return (value: number, extra: MetricTags = {}): void => {
      this.points.push({ metric, value, tags: { ...this.tags, ...base, ...extra } });
    };
  }

  createCounter(name: string, unit?: string, description?: string, base: MetricTags = {}): MetricCounter {
    return {
      name,
      unit,
      description,
      kind: 'counter',
      valueType: 'int',
      add: this.sink(name, base),
      withTags: (tags) => this.createCounter(name, unit, description, { ...base, ...tags }),
    };
  }

  createHistogram(
    name: string,
    valueType: 'int' | 'float' = 'int',
    unit?: string,
    description?: string,
    base: MetricTags = {},
  ): MetricHistogram {
    return {
      name,
      unit,
      description,
      kind: 'histogram',
      valueType,
      record: this.sink(name, base),
      withTags: (tags) => this.createHistogram(name, valueType, unit, description, { ...base, ...tags }),
    };
  }

  createGauge(
    name: string,
    valueType: 'int' | 'float' = 'int',
    unit?: string,
    description?: string,
    base: MetricTags = {},
  ): MetricGauge {
    return {
      name,
      unit,
      description,
      kind: 'gauge',
      valueType,
      set: this.sink(name, base),
      withTags: (tags) => this.createGauge(name, valueType, unit, description, { ...base, ...tags }),
    };
  }

  withTags(tags: MetricTags): MetricMeter {
    return new RecordingMeter(this.points, { ...this.tags, ...tags });
  }

  /** The values a tag took on one metric. */
  values(metric: string, tag: string): unknown[] {
    return this.points.filter((p) => p.metric === metric).map((p) => p.tags[tag]);
  }
}

const noop = (): void => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop };

/** Runs `fn` as an activity whose meter is `meter`; returns its failure type, if any. */
async function inActivity(meter: MetricMeter, fn: () => Promise<unknown>): Promise<string | undefined> {
  const env = new MockActivityEnvironment({ attempt: 1 }, { logger: quietLogger, metricMeter: meter });
  try {
    await env.run(fn);
    return undefined;
  } catch (err) {
    return (err as { type?: string }).type;
  }
}

describe('metric labels stay bounded', () => {
  it('code: known codes pass in their documented spelling, anything else is "other"', () => {
    assert.equal(codeLabel('OK'), 'OK');
    for (const code of KNOWN_ERROR_CODES) assert.equal(codeLabel(code), code);
    assert.equal(codeLabel('throttling.user'), 'Throttling.User');
    assert.equal(codeLabel('ECONNRESET'), 'ECONNRESET');
    assert.equal(codeLabel('HttpStatus503'), 'HttpStatus503');
    for (const code of [
      'Throttling.NewKind',
      'InvalidParameter.Whatever',
      'OperationDenied.JobStatus',
      'EWEIRD',
      'HttpStatus999',
      'x'.repeat(500),
      `Job-${randomUUID()}`,
      '',
    ]) {
      assert.equal(codeLabel(code), 'other', code);
    }
  });

  it('rule: built-in and worker-wide names pass (also source-prefixed), workflow names are "custom"', () => {
    const label = ruleLabeler(['slow-cluster', 'APS_RETRY_RULES[1]']);
    for (const name of BUILT_IN_RULE_NAMES) {
      assert.equal(label(name), name);
      assert.equal(label(`default:${name}`), `default:${name}`);
    }
    assert.ok(BUILT_IN_RULE_NAMES.includes('throttling') && BUILT_IN_RULE_NAMES.includes('wait-outage'));
    assert.equal(label('slow-cluster'), 'slow-cluster');
    assert.equal(label('worker:slow-cluster'), 'worker:slow-cluster');
    assert.equal(label('APS_RETRY_RULES[1]'), 'APS_RETRY_RULES[1]');
    assert.equal(label(undefined), 'none');
    for (const name of [
      'my-rule',
      'retryRules[0]',
      `r-${randomUUID()}`,
      'worker:my-rule',
      'default:throttling#2',
    ]) {
      assert.equal(label(name), 'custom', name);
    }
    // Without worker rules, a worker-looking name is just another custom one.
    assert.equal(ruleLabeler()('slow-cluster'), 'custom');
  });

  it('the API call hook records bounded codes, throttles included', async () => {
    const meter = new RecordingMeter();
    const call = { action: 'StartApsJob', regionId: 'cn-hangzhou', durationMs: 12 };
    await inActivity(meter, () => {
      recordApiCall({ ...call, code: 'OK' });
      recordApiCall({ ...call, code: 'throttling.user' });
      recordApiCall({ ...call, code: `Throttling.${randomUUID()}` });
      recordApiCall({ ...call, code: `Custom-${randomUUID()}` });
      return Promise.resolve();
    });
    assert.deepEqual(meter.values(METRIC_NAMES.apiCalls, 'code'), [
      'OK',
      'Throttling.User',
      'other',
      'other',
    ]);
    assert.deepEqual(meter.values(METRIC_NAMES.throttles, 'code'), ['Throttling.User', 'other']);
  });

  it('retry decisions from a real activity: workflow rule and odd code bounded, known ones kept', async () => {
    const ref = { regionId: 'cn-hangzhou', apsJobId: 'aps-labels-1' };
    const startInput: StartApsJobInput = {
      ...ref,
      target: 'running',
      settleMs: 60_000,
      settleIntervalMs: 1000,
    };
    const workerRules = validateRetryRules(
      [{ name: 'slow-cluster', errorEquals: ['Cluster.Busy'], maxAttempts: 3 }],
      'APS_RETRY_RULES',
    );
    const meter = new RecordingMeter();
    const run = async (
      code: string,
      retryRules?: StartApsJobInput['retryRules'],
    ): Promise<string | undefined> => {
      const aps = new FakeAps();
      aps.describeAnswers = [S.suspended];
      aps.startAnswers = [S.err(code, 'unknown', { httpStatus: 400 })];
      const acts = createActivities({
        aps,
        workerRules,
        observers: createMetricObservers({ workerRuleNames: workerRules.map((r) => r.name) }),
      });
      return inActivity(meter, () => acts.startApsJob({ ...startInput, retryRules }));
    };
    const odd = `Odd.${randomUUID()}`;
    assert.equal(
      await run(odd, [{ name: `mine-${randomUUID()}`, errorEquals: ['Odd.*'], maxAttempts: 2 }]),
      odd,
    );
    await run('Cluster.Busy');
    await run('Throttling.User');
    await run('SomethingElse');
    const decisions = meter.points
      .filter((p) => p.metric === METRIC_NAMES.retries)
      .map((p) => [p.tags.rule, p.tags.code]);
    assert.deepEqual(decisions, [
      ['custom', 'other'],
      ['slow-cluster', 'other'],
      ['throttling', 'Throttling.User'],
      ['unknown', 'other'],
    ]);
  });
});

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
        APS_WORKFLOW_THREADS: '2',
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

    // A wait the worker's waiter holds after the activity function returned: its failed reads are
    // logged and counted like those of an activity in progress.
    const heldJobId = `aps-metrics-held-${randomUUID().slice(0, 8)}`;
    emulator.addJob({ apsJobId: heldJobId, regionId: 'cn-hangzhou', kind: 'streaming', startingMs: 8000 });
    const held = await testEnv().client.workflow.start(runApsJob, {
      taskQueue,
      workflowId: `metrics-held-${randomUUID()}`,
      args: [{ regionId: 'cn-hangzhou', apsJobId: heldJobId, pollInterval: '1s' }],
    });
    await eventually(() => emulator.effectiveStarts(heldJobId) === 1, 30_000, 'the held job started');
    emulator.injectFault({
      kind: 'error',
      code: 'ServiceUnavailable',
      httpStatus: 503,
      action: 'DescribeApsJobDetail',
      apsJobId: heldJobId,
      times: 2,
    });
    assert.equal((await held.result()).status, 'Running');
    assert.equal(emulator.counters().byCode.ServiceUnavailable, 2, 'the held wait met the outage');

    const line = (re: RegExp) => (text: string) => text.split('\n').find((l) => re.test(l));
    const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    // Metrics are exported on an interval: wait for the counters of this run to appear.
    const text: string = await eventually(
      async () => {
        const t = await scrape();
        return /aps_job_start_to_target/.test(t) && /code="ServiceUnavailable"/.test(t) ? t : '';
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
      line(/^aps_api_calls(_total)?\{.*action="DescribeApsJobDetail".*code="ServiceUnavailable"/)(text),
      'failed reads of a held wait',
    );
    assert.ok(
      line(/^aps_retry_decisions(_total)?\{.*code="ServiceUnavailable"/)(text),
      'retry decisions of a held wait',
    );
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
    assert.ok(
      logLines.some((l) => l.includes('"DescribeApsJobDetail failed"') && l.includes('"ServiceUnavailable"')),
      'the held wait logged its failed reads',
    );
    // The settings in effect: the cache and the workflow threads from the environment, the slots
    // fitted to it, the heap limit.
    const started = logLines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((e) => e.message === 'worker started');
    assert.ok(started, 'worker started line');
    assert.equal(started.maxCachedWorkflows, 50);
    assert.equal(started.maxConcurrentWorkflowTaskExecutions, 40);
    assert.equal(started.maxConcurrentActivityTaskExecutions, 100);
    assert.equal(started.workflowThreadPoolSize, 2);
    // No API rate limit: waits are held in process, and no activity rate is sent.
    assert.equal(started.inProcessWaits, true);
    assert.equal(started.apiRateLimit, 'off');
    assert.equal(started.apiRateLimitPerWorker, 'off');
    assert.equal(started.maxTaskQueueActivitiesPerSecond, undefined);
    assert.ok(
      typeof started.heapLimitMiB === 'number' && started.heapLimitMiB >= 200 && started.heapLimitMiB < 300,
      `heapLimitMiB ${String(started.heapLimitMiB)}`,
    );
  });
});
