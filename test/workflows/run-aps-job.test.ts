import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { statusQuery, type RunApsJobInput } from '../../src/api';
import { runApsJob } from '../../src/workflows/run-aps-job';
import { testEnv } from '../support/env';
import { failureOf, startRun } from '../support/runs';
import { eventually, livePhase, startStack, type Stack } from '../support/stack';
import { maybeRecordHistory } from '../support/histories';

const region = 'cn-hangzhou';
const newJobId = (): string => `aps-${randomUUID().slice(0, 12)}`;

function startCalls(stack: Stack, jobId: string): number {
  return stack.emulator.counters().byJob[jobId]?.StartApsJob ?? 0;
}

describe('runApsJob (real dev server, real worker, emulator)', function () {
  this.timeout(120_000);
  let stack: Stack;
  before(async () => {
    stack = await startStack({ emulator: { seed: 7 } });
  });
  after(async () => {
    await stack?.stop();
  });

  it('starts a suspended streaming job and waits until it is running', async () => {
    const apsJobId = newJobId();
    stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming', startingPolls: 2 });
    const handle = await startRun(stack, { regionId: region, apsJobId, pollInterval: '1s' });
    const result = await handle.result();
    assert.equal(result.started, true);
    assert.equal(result.status, 'Running');
    assert.equal(result.outcome, 'running');
    assert.ok(result.startRequestId);
    assert.ok(result.polls >= 3, `polls ${result.polls}`);
    assert.equal(stack.emulator.effectiveStarts(apsJobId), 1);
    assert.equal(startCalls(stack, apsJobId), 1);
    const status = await handle.query(statusQuery);
    assert.equal(status.phase, 'done');
    assert.equal(status.lastStatus, 'Running');
    await maybeRecordHistory(handle, 'happy-running');
  });

  it('waits a batch job to completed', async () => {
    const apsJobId = newJobId();
    stack.emulator.addJob({ apsJobId, regionId: region, kind: 'batch', runningPollsToComplete: 2 });
    const handle = await startRun(stack, {
      regionId: region,
      apsJobId,
      target: 'completed',
      pollInterval: '1s',
    });
    const result = await handle.result();
    assert.equal(result.outcome, 'completed');
    assert.equal(result.status, 'COMPLETED');
    assert.equal(stack.emulator.effectiveStarts(apsJobId), 1);
    await maybeRecordHistory(handle, 'happy-completed');
  });

  it('reattaches to a job that is already running: zero StartApsJob calls', async () => {
    const apsJobId = newJobId();
    stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming', initialStatus: 'Running' });
    const handle = await startRun(stack, { regionId: region, apsJobId, pollInterval: '1s' });
    const result = await handle.result();
    assert.equal(result.started, false);
    assert.equal(result.startRequestId, undefined);
    assert.equal(startCalls(stack, apsJobId), 0);
    await maybeRecordHistory(handle, 'reattach');
  });

  it('retries a throttled start with growing, jittered delays within the budget', async () => {
    const apsJobId = newJobId();
    stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming' });
    stack.emulator.injectFault({
      kind: 'error',
      code: 'Throttling.User',
      action: 'StartApsJob',
      apsJobId,
      times: 3,
    });
    const handle = await startRun(stack, {
      regionId: region,
      apsJobId,
      pollInterval: '1s',
      retryRules: [
        {
          name: 'fast-throttle',
          errorEquals: ['Throttling.*'],
          maxAttempts: 10,
          initialInterval: '1s',
          backoffCoefficient: 2,
          maximumInterval: '8s',
          jitter: 'full',
          maxElapsed: '1m',
        },
      ],
    });
    const result = await handle.result();
    assert.equal(result.started, true);
    assert.equal(startCalls(stack, apsJobId), 4);
    assert.equal(stack.emulator.effectiveStarts(apsJobId), 1);
    const times = stack.emulator
      .requests()
      .filter((r) => r.action === 'StartApsJob' && r.apsJobId === apsJobId)
      .map((r) => Date.parse(r.time));
    // Full jitter: delay n is uniform in [0.1 s, 1 s × 2^n]; the server waits at least about a
    // second, and scheduling adds a little.
    const gaps = times.slice(1).map((t, n) => t - (times[n] as number));
    gaps.forEach((gap, n) => assert.ok(gap <= 1000 * 2 ** n + 1500, `gap ${n} = ${gap} ms`));
    await maybeRecordHistory(handle, 'throttled-start');
  });

  it('retries transient 5xx answers and starts exactly once', async () => {
    const apsJobId = newJobId();
    stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming' });
    stack.emulator.injectFault({
      kind: 'error',
      code: 'ServiceUnavailable',
      httpStatus: 503,
      action: 'StartApsJob',
      apsJobId,
      times: 2,
    });
    const handle = await startRun(stack, {
      regionId: region,
      apsJobId,
      pollInterval: '1s',
      retryRules: [{ errorEquals: ['@transient'], maxAttempts: 5, initialInterval: '100ms', jitter: 'none' }],
    });
    const result = await handle.result();
    assert.equal(result.started, true);
    assert.equal(startCalls(stack, apsJobId), 3);
    assert.equal(stack.emulator.effectiveStarts(apsJobId), 1);
  });

  it('counts a start whose reply was lost (applied, then 503) as started, without starting again', async () => {
    const apsJobId = newJobId();
    stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming', startingPolls: 1 });
    stack.emulator.injectFault({
      kind: 'error',
      code: 'ServiceUnavailable',
      httpStatus: 503,
      action: 'StartApsJob',
      apsJobId,
      applyFirst: true,
    });
    const handle = await startRun(stack, { regionId: region, apsJobId, pollInterval: '1s' });
    const result = await handle.result();
    assert.equal(result.started, true);
    assert.equal(startCalls(stack, apsJobId), 1);
    assert.equal(stack.emulator.effectiveStarts(apsJobId), 1);
  });

  it('never starts again a job that failed right after a start whose reply was lost', async () => {
    const apsJobId = newJobId();
    stack.emulator.addJob({
      apsJobId,
      regionId: region,
      kind: 'failing',
      failAfterPolls: 0,
      errMessage: 'bad offset',
    });
    stack.emulator.injectFault({ kind: 'reset', action: 'StartApsJob', apsJobId, applyFirst: true });
    const handle = await startRun(stack, { regionId: region, apsJobId, pollInterval: '1s' });
    const failure = await failureOf(handle);
    assert.equal(failure.type, 'ApsJobFailed');
    assert.equal(stack.emulator.effectiveStarts(apsJobId), 1);
    assert.equal(startCalls(stack, apsJobId), 1);
  });

  it('fails a permanent InvalidInput within seconds after exactly one call, non-retryable', async () => {
    const apsJobId = newJobId(); // unknown to the emulator
    const before = stack.emulator.counters().requests;
    const t0 = Date.now();
    const handle = await startRun(stack, { regionId: region, apsJobId, pollInterval: '1s' });
    const failure = await failureOf(handle);
    assert.ok(Date.now() - t0 < 10_000);
    assert.equal(failure.type, 'InvalidInput');
    assert.equal(failure.nonRetryable, true);
    assert.ok(failure.cause instanceof ActivityFailure);
    assert.ok(failure.cause.cause instanceof ApplicationFailure);
    assert.equal(failure.cause.cause.type, 'InvalidInput');
    assert.equal(failure.cause.cause.nonRetryable, true);
    assert.equal(stack.emulator.counters().requests - before, 1);
    await maybeRecordHistory(handle, 'permanent-invalid-input');
  });

  it('handles Success:false on start: re-reads the status, then retries under the rules', async () => {
    const apsJobId = newJobId();
    stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming' });
    stack.emulator.injectFault({
      kind: 'success-false',
      errCode: 'InternalError',
      action: 'StartApsJob',
      apsJobId,
    });
    const handle = await startRun(stack, {
      regionId: region,
      apsJobId,
      pollInterval: '1s',
      retryRules: [{ errorEquals: ['@transient'], maxAttempts: 3, initialInterval: '100ms', jitter: 'none' }],
    });
    const result = await handle.result();
    assert.equal(result.started, true);
    assert.equal(startCalls(stack, apsJobId), 2);
    assert.equal(stack.emulator.effectiveStarts(apsJobId), 1);
  });

  it("fails with the code once a rule's budget is spent, exactly at the budget", async () => {
    const apsJobId = newJobId();
    stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming' });
    stack.emulator.injectFault({
      kind: 'error',
      code: 'ServiceUnavailable',
      httpStatus: 503,
      action: 'StartApsJob',
      apsJobId,
      times: 'unlimited',
    });
    const handle = await startRun(stack, {
      regionId: region,
      apsJobId,
      retryRules: [
        {
          name: 'two',
          errorEquals: ['ServiceUnavailable'],
          maxAttempts: 2,
          initialInterval: '100ms',
          jitter: 'none',
        },
      ],
    });
    const failure = await failureOf(handle);
    assert.equal(failure.type, 'ServiceUnavailable');
    assert.match(failure.message, /two/);
    assert.equal(startCalls(stack, apsJobId), 3);
    assert.equal(stack.emulator.effectiveStarts(apsJobId), 0);
    await maybeRecordHistory(handle, 'budget-spent');
  });

  it('lets user rules override the defaults (a retried InvalidInput)', async () => {
    const apsJobId = newJobId();
    stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming' });
    stack.emulator.injectFault({ kind: 'error', code: 'InvalidInput', action: 'StartApsJob', apsJobId });
    const handle = await startRun(stack, {
      regionId: region,
      apsJobId,
      pollInterval: '1s',
      retryRules: [
        { errorEquals: ['InvalidInput'], maxAttempts: 1, initialInterval: '100ms', jitter: 'none' },
      ],
    });
    const result = await handle.result();
    assert.equal(result.started, true);
    assert.equal(startCalls(stack, apsJobId), 2);
  });

  it('fails with ApsJobFailed when the job fails while waited on', async () => {
    const apsJobId = newJobId();
    stack.emulator.addJob({
      apsJobId,
      regionId: region,
      kind: 'failing',
      failAfterPolls: 1,
      errMessage: 'Kafka topic not found',
    });
    const handle = await startRun(stack, {
      regionId: region,
      apsJobId,
      target: 'completed',
      pollInterval: '1s',
    });
    const failure = await failureOf(handle);
    assert.equal(failure.type, 'ApsJobFailed');
    // The job's own ERROR line (one, from the emulator) and the console link come with ErrMessage.
    const d = failure.details?.[0] as { actionLogs?: { context: string; time: string }[] } & Record<
      string,
      unknown
    >;
    assert.deepEqual(
      { ...d, actionLogs: d.actionLogs?.map((l) => ({ ...l, time: typeof l.time })) },
      {
        status: 'Failed',
        errMessage: 'Kafka topic not found',
        actionLogs: [
          { context: 'Kafka topic not found', stage: 'IncrementalSync', state: 'ERROR', time: 'string' },
        ],
        consoleUrl: 'https://adb.console.aliyun.com/adb/cn-hangzhou/mysql/cluster/amv-emulator/basicInfo',
      },
    );
    await maybeRecordHistory(handle, 'job-failed');
  });

  it('fails with ApsJobStopped when someone else suspends the job while it is waited on', async () => {
    const apsJobId = newJobId();
    stack.emulator.addJob({ apsJobId, regionId: region, kind: 'batch', runningPollsToComplete: 1_000_000 });
    const handle = await startRun(stack, {
      regionId: region,
      apsJobId,
      target: 'completed',
      pollInterval: '1s',
      stoppedGrace: '600ms',
    });
    await eventually(async () => (await livePhase(handle)) === 'waiting', 20_000, 'waiting phase');
    stack.emulator.setJobStatus(apsJobId, 'Suspended');
    const failure = await failureOf(handle);
    assert.equal(failure.type, 'ApsJobStopped');
    assert.equal((failure.details?.[0] as { status: string }).status, 'Suspended');
  });

  it('fails with ApsJobTimeout at the deadline and suspends the job when asked', async () => {
    const apsJobId = newJobId();
    stack.emulator.addJob({ apsJobId, regionId: region, kind: 'batch', runningPollsToComplete: 1_000_000 });
    const handle = await startRun(stack, {
      regionId: region,
      apsJobId,
      target: 'completed',
      pollInterval: '1s',
      timeout: '3s',
      onTimeout: 'suspend',
    });
    const failure = await failureOf(handle);
    assert.equal(failure.type, 'ApsJobTimeout');
    assert.equal(stack.emulator.counters().byJob[apsJobId]?.SuspendApsJob, 1);
    assert.equal(stack.emulator.state().jobs.find((j) => j.apsJobId === apsJobId)?.status, 'Suspended');
    await maybeRecordHistory(handle, 'timeout-suspend');
  });

  for (const onCancel of ['suspend', 'leave'] as const) {
    it(`on cancel with onCancel=${onCancel}: ${onCancel === 'suspend' ? 'suspends the job' : 'leaves the job running'}, ends cancelled`, async () => {
      const apsJobId = newJobId();
      stack.emulator.addJob({ apsJobId, regionId: region, kind: 'batch', runningPollsToComplete: 1_000_000 });
      const handle = await startRun(stack, {
        regionId: region,
        apsJobId,
        target: 'completed',
        pollInterval: '1s',
        onCancel,
      });
      await eventually(async () => (await livePhase(handle)) === 'waiting', 20_000, 'waiting phase');
      await handle.cancel();
      const err = await handle.result().then(
        () => assert.fail('expected cancellation'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof WorkflowFailedError);
      assert.ok(err.cause instanceof CancelledFailure, `cause ${String(err.cause)}`);
      const suspends = stack.emulator.counters().byJob[apsJobId]?.SuspendApsJob ?? 0;
      const jobStatus = stack.emulator.state().jobs.find((j) => j.apsJobId === apsJobId)?.status;
      if (onCancel === 'suspend') {
        assert.equal(suspends, 1);
        assert.equal(jobStatus, 'Suspended');
      } else {
        assert.equal(suspends, 0);
        assert.equal(jobStatus, 'Running');
      }
      await maybeRecordHistory(handle, `cancel-${onCancel}`);
    });
  }

  describe('bad input: fails with InvalidWorkflowInput naming the field, before any API call', () => {
    // An emulator and worker of their own: waits of the tests above may still read their jobs
    // until their next heartbeat tells the worker that their runs ended.
    let stack: Stack;
    before(async () => {
      stack = await startStack({ emulator: { seed: 7 } });
    });
    after(async () => {
      await stack?.stop();
    });
    const good = { regionId: region, apsJobId: 'aps-valid1' };
    const cases: [string, unknown, string][] = [
      ['empty job ID', { ...good, apsJobId: '' }, 'apsJobId'],
      ['oversized job ID', { ...good, apsJobId: `aps-${'x'.repeat(200)}` }, 'apsJobId'],
      ['job ID with a space', { ...good, apsJobId: 'aps 1' }, 'apsJobId'],
      ['job ID with a control character', { ...good, apsJobId: 'aps-\u0001' }, 'apsJobId'],
      ['job ID of the wrong type', { ...good, apsJobId: 42 }, 'apsJobId'],
      ['upper-case region', { ...good, regionId: 'CN-HANGZHOU' }, 'regionId'],
      ['region without a dash', { ...good, regionId: 'hangzhou' }, 'regionId'],
      ['missing region', { apsJobId: 'aps-valid1' }, 'regionId'],
      ['unknown target', { ...good, target: 'started' }, 'target'],
      ['bad poll interval', { ...good, pollInterval: 'soon' }, 'pollInterval'],
      ['negative timeout', { ...good, timeout: -5 }, 'timeout'],
      ['unknown onCancel', { ...good, onCancel: 'stop' }, 'onCancel'],
      ['heartbeat timeout below 10 s', { ...good, heartbeatTimeout: '5s' }, 'heartbeatTimeout'],
      ['heartbeat timeout above 10 min', { ...good, heartbeatTimeout: '1h' }, 'heartbeatTimeout'],
      [
        'malformed retry rule',
        { ...good, retryRules: [{ errorEquals: [], maxAttempts: 1 }] },
        'retryRules[0]',
      ],
      [
        'retry rule with a typo',
        { ...good, retryRules: [{ errorEquals: ['X'], maxAttempt: 1 }] },
        'retryRules[0]',
      ],
      ['unknown field', { ...good, pollIntervall: '1s' }, 'pollIntervall'],
    ];
    for (const [name, input, field] of cases) {
      it(name, async () => {
        const before = stack.emulator.counters().requests;
        const handle = await testEnv().client.workflow.start(runApsJob, {
          taskQueue: stack.taskQueue,
          workflowId: `bad-input-${randomUUID()}`,
          args: [input as RunApsJobInput],
        });
        const failure = await failureOf(handle);
        assert.equal(failure.type, 'InvalidWorkflowInput');
        assert.equal(failure.nonRetryable, true);
        assert.ok(failure.message.includes(field), `message "${failure.message}" should name ${field}`);
        assert.ok((failure.details?.[0] as { field: string }).field.startsWith(field));
        assert.equal(stack.emulator.counters().requests, before);
      });
    }
  });
});
