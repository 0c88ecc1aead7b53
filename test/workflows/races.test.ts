/**
 * The guarantees in the races: a cancel, pause or deadline during a StartApsJob in flight, an
 * ambiguous start of a finished job, stale reads after our own start, refused suspends, unknown
 * statuses and permanent errors near the deadline. Real dev server, real worker, the emulator.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import {
  pauseUpdate,
  statusQuery,
  supervisorStatusQuery,
  supervisorWorkflowId,
  type RunApsJobInput,
  type SuperviseApsJobInput,
} from '../../src/api';
import type { JobScript } from '../../src/emulator';
import { superviseApsJob } from '../../src/workflows/supervise-aps-job';
import { testEnv } from '../support/env';
import { maybeRecordHistory } from '../support/histories';
import { failureOf, startRun } from '../support/runs';
import { eventually, livePhase, startStack, type Stack } from '../support/stack';

const region = 'cn-hangzhou';
const newJobId = (): string => `aps-race-${randomUUID().slice(0, 10)}`;
/** How long a StartApsJob is held before it takes effect and is answered (under the read timeout). */
const START_LATENCY_MS = 3000;

/** Resolves once the start activity's StartApsJob has reached the emulator and is held there, unanswered. */
async function startInFlight(stack: Stack, handle: WorkflowHandle, apsJobId: string): Promise<void> {
  await eventually(
    async () => {
      const desc = await handle.describe();
      const pending = desc.raw.pendingActivities ?? [];
      const started = pending.some(
        (a) =>
          a.activityType?.name === 'startApsJob' &&
          a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
      );
      return started && stack.emulator.calls({ action: 'DescribeApsJobDetail', apsJobId }) >= 1;
    },
    20_000,
    'the start attempt in flight',
  );
  // The read and the start go out back to back: the start is now held by the emulator, unanswered.
  await eventually(
    () => stack.emulator.inFlight({ action: 'StartApsJob', apsJobId }) === 1,
    20_000,
    'StartApsJob to arrive',
  );
}

/** The StartApsJob that was held has been answered (the emulator logs a call once answered). */
function startAnswered(stack: Stack, apsJobId: string): Promise<boolean> {
  return eventually(
    () => stack.emulator.requests({ action: 'StartApsJob', apsJobId }).length === 1,
    20_000,
    'the held StartApsJob to be answered',
  );
}

/** The run ended cancelled (not failed). */
async function cancelledEnd(handle: WorkflowHandle): Promise<void> {
  const err = await handle.result().then(
    () => assert.fail('expected the run to end cancelled'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError, `expected WorkflowFailedError, got ${String(err)}`);
  assert.ok(err.cause instanceof CancelledFailure, `expected CancelledFailure, got ${String(err.cause)}`);
}

/** The order in which the emulator answered a job's StartApsJob and SuspendApsJob calls that took effect. */
function effectOrder(stack: Stack, apsJobId: string): string[] {
  return stack.emulator
    .requests({ apsJobId })
    .filter((r) => (r.action === 'StartApsJob' || r.action === 'SuspendApsJob') && r.applied)
    .map((r) => ({ action: r.action as string, end: Date.parse(r.time) + r.durationMs }))
    .sort((a, b) => a.end - b.end)
    .map((r) => r.action);
}

describe('races: guarantees at the awkward moments (real dev server, real worker, emulator)', function () {
  this.timeout(180_000);
  let stack: Stack;
  const unknownSeen: string[] = [];
  before(async () => {
    // A read timeout above the held start, so that the client waits for its answer.
    stack = await startStack({
      emulator: { seed: 12 },
      readTimeoutMs: 10_000,
      observers: { onUnknownStatus: (e) => unknownSeen.push(e.status) },
    });
  });
  after(async () => {
    await stack?.stop();
  });

  const base = (apsJobId: string, extra: Partial<RunApsJobInput> = {}): RunApsJobInput => ({
    regionId: region,
    apsJobId,
    pollInterval: '1s',
    ...extra,
  });

  /** A streaming job whose first StartApsJob is held START_LATENCY_MS before it takes effect. */
  const addJobWithHeldStart = (apsJobId: string, script: Partial<JobScript> = {}): void => {
    stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming', ...script });
    stack.emulator.injectFault({
      kind: 'latency',
      latencyMs: START_LATENCY_MS,
      action: 'StartApsJob',
      apsJobId,
    });
  };

  /** Starts superviseApsJob on the stack's task queue, under a workflow ID of its own. */
  const startSupervisorRun = (input: SuperviseApsJobInput) =>
    testEnv().client.workflow.start(superviseApsJob, {
      taskQueue: stack.taskQueue,
      workflowId: `${supervisorWorkflowId(region, input.apsJobId)}:${randomUUID()}`,
      args: [input],
    });

  /** Starts a supervisor, waits until it runs the job, runs `body`, and terminates it after. */
  const withRunningSupervisor = async (
    input: SuperviseApsJobInput,
    body: (handle: WorkflowHandle<typeof superviseApsJob>) => Promise<void>,
  ): Promise<void> => {
    const handle = await startSupervisorRun(input);
    try {
      await eventually(
        async () => (await handle.query(supervisorStatusQuery)).phase === 'running',
        20_000,
        'running',
      );
      await body(handle);
    } finally {
      await handle.terminate().catch(() => undefined);
    }
  };

  describe('a cancel, pause or deadline while StartApsJob is in flight', () => {
    it('cancelled with onCancel suspend: the suspend comes after the start, and the job ends suspended', async () => {
      const apsJobId = newJobId();
      addJobWithHeldStart(apsJobId);
      const handle = await startRun(stack, base(apsJobId, { onCancel: 'suspend' }));
      await startInFlight(stack, handle, apsJobId);
      await handle.cancel();
      await cancelledEnd(handle);
      await startAnswered(stack, apsJobId);
      assert.equal(stack.emulator.effectiveStarts(apsJobId), 1);
      assert.deepEqual(effectOrder(stack, apsJobId), ['StartApsJob', 'SuspendApsJob']);
      assert.equal(stack.emulator.job(apsJobId)?.status, 'Suspended');
      assert.equal((await handle.query(statusQuery)).phase, 'cancelled');
      await maybeRecordHistory(handle, 'race-cancel-during-start');
    });

    it('deadline with onTimeout suspend: ApsJobTimeout, and the suspend comes after the start', async () => {
      const apsJobId = newJobId();
      addJobWithHeldStart(apsJobId, { startingPolls: 50 });
      const handle = await startRun(stack, base(apsJobId, { timeout: '2s', onTimeout: 'suspend' }));
      const failure = await failureOf(handle);
      assert.equal(failure.type, 'ApsJobTimeout');
      await startAnswered(stack, apsJobId);
      assert.deepEqual(effectOrder(stack, apsJobId), ['StartApsJob', 'SuspendApsJob']);
      assert.equal(stack.emulator.job(apsJobId)?.status, 'Suspended');
    });

    it('a supervisor paused during its start: the job ends suspended, after the start', async () => {
      const apsJobId = newJobId();
      addJobWithHeldStart(apsJobId);
      const handle = await startSupervisorRun({
        regionId: region,
        apsJobId,
        pollInterval: '1s',
        checkInterval: '1s',
      });
      try {
        await startInFlight(stack, handle, apsJobId);
        const paused = await handle.executeUpdate(pauseUpdate);
        assert.equal(paused.paused, true);
        await startAnswered(stack, apsJobId);
        assert.deepEqual(effectOrder(stack, apsJobId), ['StartApsJob', 'SuspendApsJob']);
        assert.equal(stack.emulator.job(apsJobId)?.status, 'Suspended');
        assert.equal((await handle.query(supervisorStatusQuery)).phase, 'paused');
        await maybeRecordHistory(handle, 'race-supervisor-pause-during-start');
      } finally {
        await handle.terminate().catch(() => undefined);
      }
    });
  });

  describe('a pause while a check is being retried', () => {
    it('takes effect at once, not after the check rule gives up', async () => {
      const apsJobId = newJobId();
      stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming' });
      await withRunningSupervisor(
        {
          regionId: region,
          apsJobId,
          pollInterval: '1s',
          checkInterval: '1s',
          // A check that is throttled waits a minute between attempts, for up to 100 attempts.
          retryRules: [
            { errorEquals: ['Throttling.*'], maxAttempts: 100, initialInterval: '1m', jitter: 'none' },
          ],
        },
        async (handle) => {
          stack.emulator.injectFault({
            kind: 'error',
            code: 'Throttling.User',
            action: 'DescribeApsJobDetail',
            apsJobId,
            times: 'unlimited',
          });
          await eventually(
            () =>
              stack.emulator
                .requests({ action: 'DescribeApsJobDetail', apsJobId })
                .some((r) => r.code === 'Throttling.User'),
            20_000,
            'a throttled check',
          );
          const t0 = Date.now();
          const paused = await Promise.race([
            handle.executeUpdate(pauseUpdate),
            new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), 15_000)),
          ]);
          assert.notEqual(paused, 'late', 'the pause waited behind the retried check');
          assert.ok(Date.now() - t0 < 15_000);
          assert.equal(stack.emulator.job(apsJobId)?.status, 'Suspended');
        },
      );
    });
  });

  describe('an ambiguous start of a job that had already ended', () => {
    it('re-runs a COMPLETED batch job whose StartApsJob got a 503 that never took effect', async () => {
      const apsJobId = newJobId();
      stack.emulator.addJob({ apsJobId, regionId: region, kind: 'batch', initialStatus: 'COMPLETED' });
      stack.emulator.injectFault({
        kind: 'error',
        code: 'ServiceUnavailable',
        action: 'StartApsJob',
        apsJobId,
      });
      const handle = await startRun(stack, base(apsJobId, { target: 'completed', settleWindow: '4s' }));
      const result = await handle.result();
      assert.equal(result.status, 'COMPLETED');
      assert.equal(result.started, true);
      assert.equal(stack.emulator.effectiveStarts(apsJobId), 1, 'the job ran once');
      assert.equal(stack.emulator.calls({ action: 'StartApsJob', apsJobId }), 2);
      // The second start came only after the job was watched for the settle window.
      const starts = stack.emulator
        .requests({ action: 'StartApsJob', apsJobId })
        .map((r) => Date.parse(r.time));
      assert.ok((starts[1] as number) - (starts[0] as number) >= 4000, `starts ${starts.join(', ')}`);
      await maybeRecordHistory(handle, 'race-ambiguous-start-completed');
    });

    it('restarts a Failed job whose StartApsJob got a 503 that never took effect, without spending a restart', async () => {
      const apsJobId = newJobId();
      stack.emulator.addJob({
        apsJobId,
        regionId: region,
        kind: 'failing',
        initialStatus: 'Failed',
        errMessage: 'the old failure',
        failuresBeforeHealthy: 0,
      });
      stack.emulator.injectFault({
        kind: 'error',
        code: 'ServiceUnavailable',
        action: 'StartApsJob',
        apsJobId,
      });
      const handle = await startRun(
        stack,
        base(apsJobId, {
          settleWindow: '4s',
          onJobFailure: { restart: true, maxRestarts: 1, initialInterval: '1s' },
        }),
      );
      const result = await handle.result();
      assert.equal(result.status, 'Running');
      assert.deepEqual(result.restarts, [], 'no restart was spent on the old failure');
      assert.equal(stack.emulator.effectiveStarts(apsJobId), 1);
    });
  });

  describe('stale reads right after our own start', () => {
    it('does not take the old COMPLETED for the new run', async () => {
      const apsJobId = newJobId();
      stack.emulator.addJob({
        apsJobId,
        regionId: region,
        kind: 'batch',
        initialStatus: 'COMPLETED',
        staleReadsAfterStart: 2,
        runningPollsToComplete: 2,
      });
      const handle = await startRun(stack, base(apsJobId, { target: 'completed' }));
      const result = await handle.result();
      assert.equal(result.status, 'COMPLETED');
      // The run ended only once the new run had completed, not on the stale read.
      assert.equal(stack.emulator.job(apsJobId)?.status, 'COMPLETED');
      assert.ok(result.polls >= 5, `polls ${result.polls}`);
      assert.equal(stack.emulator.effectiveStarts(apsJobId), 1);
    });

    it('does not report the old Failed (and its ErrMessage) for the new run', async () => {
      const apsJobId = newJobId();
      stack.emulator.addJob({
        apsJobId,
        regionId: region,
        kind: 'failing',
        initialStatus: 'Failed',
        errMessage: 'the old failure',
        failuresBeforeHealthy: 0,
        staleReadsAfterStart: 2,
      });
      const handle = await startRun(stack, base(apsJobId));
      const result = await handle.result();
      assert.equal(result.status, 'Running');
      assert.equal(stack.emulator.effectiveStarts(apsJobId), 1);
    });
  });

  describe('a refused suspend keeps the outcome', () => {
    it('cancelled with onCancel suspend and the suspend refused: still cancelled, the refusal in the status', async () => {
      const apsJobId = newJobId();
      stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming', startingPolls: 1000 });
      stack.emulator.injectFault({ kind: 'error', code: 'Forbidden.RAM', action: 'SuspendApsJob', apsJobId });
      const handle = await startRun(stack, base(apsJobId, { onCancel: 'suspend' }));
      await eventually(async () => (await livePhase(handle)) === 'waiting', 20_000, 'waiting');
      await handle.cancel();
      await cancelledEnd(handle);
      const status = await handle.query(statusQuery);
      assert.equal(status.phase, 'cancelled');
      assert.equal(status.suspendError?.code, 'Forbidden.RAM');
      await maybeRecordHistory(handle, 'race-cancel-suspend-refused');
    });

    it('deadline with onTimeout suspend and the suspend refused: still ApsJobTimeout, the refusal in the details', async () => {
      const apsJobId = newJobId();
      stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming', startingPolls: 1000 });
      stack.emulator.injectFault({ kind: 'error', code: 'Forbidden.RAM', action: 'SuspendApsJob', apsJobId });
      const handle = await startRun(stack, base(apsJobId, { timeout: '3s', onTimeout: 'suspend' }));
      const failure = await failureOf(handle);
      assert.equal(failure.type, 'ApsJobTimeout');
      const details = failure.details?.[0] as { suspendError?: { code: string } } | undefined;
      assert.equal(details?.suspendError?.code, 'Forbidden.RAM');
      const status = await handle.query(statusQuery);
      assert.equal(status.phase, 'failed');
      assert.equal(status.suspendError?.code, 'Forbidden.RAM');
      await maybeRecordHistory(handle, 'race-timeout-suspend-refused');
    });

    it('a supervisor cancelled with onCancel suspend and the suspend refused: still cancelled', async () => {
      const apsJobId = newJobId();
      stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming' });
      stack.emulator.injectFault({ kind: 'error', code: 'Forbidden.RAM', action: 'SuspendApsJob', apsJobId });
      const handle = await startSupervisorRun({
        regionId: region,
        apsJobId,
        pollInterval: '1s',
        checkInterval: '1s',
        onCancel: 'suspend',
      });
      await eventually(
        async () => (await handle.query(supervisorStatusQuery)).phase === 'running',
        20_000,
        'running',
      );
      await handle.cancel();
      await cancelledEnd(handle);
      const status = await handle.query(supervisorStatusQuery);
      assert.equal(status.phase, 'cancelled');
      assert.equal(status.suspendError?.code, 'Forbidden.RAM');
    });
  });

  describe('statuses outside the known table', () => {
    it('does not take Finishing for completed: waits, warns once, and counts it', async () => {
      const apsJobId = newJobId();
      stack.emulator.addJob({ apsJobId, regionId: region, kind: 'batch', runningPollsToComplete: 10_000 });
      const handle = await startRun(stack, base(apsJobId, { target: 'completed' }));
      await eventually(() => stack.emulator.job(apsJobId)?.status === 'Running', 20_000, 'Running');
      stack.emulator.setJobStatus(apsJobId, 'Finishing');
      const readsBefore = stack.emulator.calls({ action: 'DescribeApsJobDetail', apsJobId });
      // Two reads of Finishing: the run has seen it, and stayed.
      await eventually(
        () => stack.emulator.calls({ action: 'DescribeApsJobDetail', apsJobId }) >= readsBefore + 2,
        20_000,
        'two reads of Finishing',
      );
      assert.equal(await livePhase(handle), 'waiting');
      stack.emulator.setJobStatus(apsJobId, 'COMPLETED');
      const result = await handle.result();
      assert.equal(result.status, 'COMPLETED');
      assert.deepEqual(
        unknownSeen.filter((st) => st === 'Finishing'),
        ['Finishing'],
        'reported once in the run',
      );
    });
  });

  describe('a supervisor and a status outside the known table', () => {
    it('does not restart a running job that reads Failover: it watches it for the settle window', async () => {
      const apsJobId = newJobId();
      stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming' });
      await withRunningSupervisor(
        {
          regionId: region,
          apsJobId,
          pollInterval: '1s',
          checkInterval: '1s',
          settleWindow: '1m',
          restartPolicy: { initialInterval: '100ms' },
        },
        async (handle) => {
          stack.emulator.setJobStatus(apsJobId, 'Failover');
          const readsBefore = stack.emulator.calls({ action: 'DescribeApsJobDetail', apsJobId });
          await eventually(
            () => stack.emulator.calls({ action: 'DescribeApsJobDetail', apsJobId }) >= readsBefore + 4,
            20_000,
            'four reads of Failover',
          );
          assert.equal(stack.emulator.calls({ action: 'StartApsJob', apsJobId }), 1, 'only the first start');
          const status = await handle.query(supervisorStatusQuery);
          assert.equal(status.totalRestarts, 0);
          assert.equal(status.lastFailure, undefined);
        },
      );
    });
  });

  describe('failure types near the deadline', () => {
    it('a permanent error that arrives after the deadline keeps its code', async () => {
      const apsJobId = newJobId();
      stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming' });
      stack.emulator.injectFault({
        kind: 'error',
        code: 'Forbidden.RAM',
        action: 'StartApsJob',
        apsJobId,
        latencyMs: START_LATENCY_MS,
      });
      const handle = await startRun(stack, base(apsJobId, { timeout: '2s' }));
      const failure = await failureOf(handle);
      assert.equal(failure.type, 'Forbidden.RAM');
      assert.equal(failure.nonRetryable, true);
      assert.ok(failure.cause instanceof ActivityFailure);
      assert.ok(failure.cause.cause instanceof ApplicationFailure);
      assert.equal(failure.cause.cause.type, 'Forbidden.RAM');
    });
  });
});
