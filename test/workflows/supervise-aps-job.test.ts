import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import {
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import {
  pauseUpdate,
  resumeUpdate,
  setCheckIntervalUpdate,
  supervisorStatusQuery,
  supervisorWorkflowId,
  type JobFailureRecord,
  type SuperviseApsJobInput,
  type SupervisorStatus,
} from '../../src/api';
import { setSupervisorCheckInterval, startSupervisor, supervisorHandle } from '../../src/client';
import { startEmulator, type RunningEmulator } from '../../src/emulator';
import { InputValidationError } from '../../src/validation';
import { superviseApsJob } from '../../src/workflows/supervise-aps-job';
import { testEnv, uniqueTaskQueue } from '../support/env';
import { maybeRecordHistory } from '../support/histories';
import { failureOf } from '../support/runs';
import { killWorker, spawnWorker, type WorkerProcess } from '../support/processes';
import { eventually, startStack, type Stack } from '../support/stack';

const region = 'cn-hangzhou';
const newJobId = (): string => `aps-sv-${randomUUID().slice(0, 10)}`;

/** Fast settings: checks every 300ms, restarts after 100ms, 200ms, … */
function fastInput(apsJobId: string, extra: Partial<SuperviseApsJobInput> = {}): SuperviseApsJobInput {
  return {
    regionId: region,
    apsJobId,
    checkInterval: '300ms',
    pollInterval: '1s',
    activityTimeout: '5s',
    ...extra,
    restartPolicy: { initialInterval: '100ms', maximumInterval: '1s', ...extra.restartPolicy },
  };
}

/** Awaits the end of a run that was cancelled. */
async function cancelledEnd(handle: WorkflowHandle): Promise<void> {
  const err = await handle.result().then(
    () => assert.fail('expected the supervisor to end cancelled'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError, `expected WorkflowFailedError, got ${String(err)}`);
  assert.ok(err.cause instanceof CancelledFailure, `expected CancelledFailure, got ${String(err.cause)}`);
}

/** The StartApsJob / SuspendApsJob calls for a job since `sinceSeq`, in order. */
function controlCalls(emulator: RunningEmulator, apsJobId: string, sinceSeq = 0): string[] {
  return emulator
    .requests({ apsJobId, sinceSeq })
    .filter((r) => r.action === 'StartApsJob' || r.action === 'SuspendApsJob')
    .map((r) => r.action as string);
}

const lastSeq = (emulator: RunningEmulator): number => emulator.requests({ limit: 1 })[0]?.seq ?? 0;

/** Polls a supervisor's status query until `ok` holds; returns that status. */
async function statusWhen(
  handle: WorkflowHandle,
  ok: (s: SupervisorStatus) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<SupervisorStatus> {
  let seen: SupervisorStatus | undefined;
  await eventually(
    async () => {
      seen = await handle.query(supervisorStatusQuery);
      return ok(seen);
    },
    timeoutMs,
    what,
  );
  return seen as SupervisorStatus;
}

/** Terminates supervisors a failed test left running, so the suite ends by itself. */
async function terminateAll(client: Client, workflowIds: string[]): Promise<void> {
  await Promise.all(
    workflowIds.map(async (id) => {
      const handle = client.workflow.getHandle(id);
      const { status } = await handle.describe();
      if (status.name === 'RUNNING') await handle.terminate('test cleanup');
    }),
  );
}

describe('superviseApsJob (real dev server, real worker, emulator)', function () {
  this.timeout(120_000);
  let stack: Stack;
  const started: string[] = [];
  before(async () => {
    stack = await startStack({ emulator: { seed: 31 } });
  });
  after(async () => {
    await terminateAll(testEnv().client, started);
    await stack?.stop();
  });

  async function supervise(
    input: SuperviseApsJobInput,
  ): Promise<WorkflowHandleWithFirstExecutionRunId<typeof superviseApsJob>> {
    const s = await startSupervisor(testEnv().client, input, { taskQueue: stack.taskQueue });
    started.push(s.workflowId);
    return s.handle;
  }
  const statusOf = (apsJobId: string): Promise<SupervisorStatus> =>
    supervisorHandle(testEnv().client, region, apsJobId).query(supervisorStatusQuery);

  it('restarts a job suspended by someone else, and leaves it alone while paused', async () => {
    const apsJobId = newJobId();
    stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming' });
    const handle = await supervise(fastInput(apsJobId));
    await eventually(async () => (await statusOf(apsJobId)).checks >= 1, 20_000, 'a first check');
    assert.equal(stack.emulator.effectiveStarts(apsJobId), 1);

    stack.emulator.setJobStatus(apsJobId, 'Suspended');
    const restarted = await statusWhen(
      handle,
      (s) => s.totalRestarts === 1 && s.phase === 'running',
      'the restart',
    );
    assert.equal(stack.emulator.effectiveStarts(apsJobId), 2);
    assert.equal(stack.emulator.job(apsJobId)?.status, 'Running');
    assert.equal(restarted.restartsInWindow, 1);
    assert.deepEqual(
      [restarted.lastFailure?.status, restarted.lastFailure?.errMessage],
      ['Suspended', 'stopped by someone else'],
    );
    assert.equal(restarted.recentRestarts[0]?.backoffMs, 100);
    assert.ok(restarted.recentRestarts[0]?.restartedAt);
    assert.ok(restarted.runningSince && restarted.uptimeMs !== undefined && restarted.nextCheckAt);

    const paused = await handle.executeUpdate(pauseUpdate);
    assert.equal(paused.paused, true);
    assert.equal(paused.phase, 'paused');
    assert.equal(paused.nextCheckAt, undefined);
    const seq = lastSeq(stack.emulator);
    stack.emulator.setJobStatus(apsJobId, 'Failed', 'broken while paused');
    // Nothing to poll for when asserting that nothing happens: give the supervisor five check
    // intervals in which it would have checked and restarted the job.
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(stack.emulator.requests({ apsJobId, sinceSeq: seq }), []);
    assert.equal(stack.emulator.job(apsJobId)?.status, 'Failed');
    assert.equal((await statusOf(apsJobId)).totalRestarts, 1);

    await handle.cancel();
    await cancelledEnd(handle);
    // onCancel defaults to leave.
    assert.deepEqual(controlCalls(stack.emulator, apsJobId, seq), []);
    await maybeRecordHistory(handle, 'supervise-external-suspend');
  });

  it('pause suspends the job, resume starts it again; cancel with onCancel=suspend suspends it', async () => {
    const apsJobId = newJobId();
    stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming' });
    const handle = await supervise(fastInput(apsJobId, { onCancel: 'suspend' }));
    await eventually(async () => (await statusOf(apsJobId)).phase === 'running', 20_000, 'running');
    const seq = lastSeq(stack.emulator);

    const paused = await handle.executeUpdate(pauseUpdate);
    assert.equal(paused.paused, true);
    assert.equal(stack.emulator.job(apsJobId)?.status, 'Suspended');
    // Pausing a paused supervisor changes nothing.
    assert.equal((await handle.executeUpdate(pauseUpdate)).paused, true);

    const resumed = await handle.executeUpdate(resumeUpdate);
    assert.equal(resumed.paused, false);
    await eventually(async () => (await statusOf(apsJobId)).phase === 'running', 20_000, 'running again');
    assert.equal(stack.emulator.job(apsJobId)?.status, 'Running');
    assert.deepEqual(controlCalls(stack.emulator, apsJobId, seq), ['SuspendApsJob', 'StartApsJob']);
    // A pause and a resume are not failures: the budget is untouched.
    const s = await statusOf(apsJobId);
    assert.equal(s.totalRestarts, 0);
    assert.equal(s.restartsInWindow, 0);

    await handle.cancel();
    await cancelledEnd(handle);
    assert.deepEqual(controlCalls(stack.emulator, apsJobId, seq), [
      'SuspendApsJob',
      'StartApsJob',
      'SuspendApsJob',
    ]);
    assert.equal(stack.emulator.job(apsJobId)?.status, 'Suspended');
    await maybeRecordHistory(handle, 'supervise-pause-resume');
  });

  it('a pause whose suspend fails fails the update only: the supervisor goes on checking', async () => {
    const apsJobId = newJobId();
    stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming' });
    const handle = await supervise(fastInput(apsJobId));
    await statusWhen(handle, (s) => s.phase === 'running', 'running');
    stack.emulator.injectFault({ kind: 'error', code: 'Forbidden.RAM', action: 'SuspendApsJob', apsJobId });
    const err = await handle.executeUpdate(pauseUpdate).then(
      () => assert.fail('expected the pause to fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowUpdateFailedError, `got ${String(err)}`);
    assert.ok(err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, 'Forbidden.RAM');
    assert.match(err.cause.message, /pause failed/);
    const after = (await handle.query(supervisorStatusQuery)).checks;
    const s = await statusWhen(handle, (v) => v.checks >= after + 2, 'checks after the failed pause');
    assert.equal(s.paused, false);
    assert.equal(s.phase, 'running');
    assert.equal(stack.emulator.job(apsJobId)?.status, 'Running');
    await handle.cancel();
    await cancelledEnd(handle);
  });

  it('setCheckInterval changes the interval; an out-of-range value is rejected and leaves no trace', async () => {
    const apsJobId = newJobId();
    stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming' });
    const handle = await supervise(fastInput(apsJobId, { checkInterval: '1h' }));
    await eventually(async () => (await statusOf(apsJobId)).phase === 'running', 20_000, 'running');
    assert.equal((await statusOf(apsJobId)).checkIntervalMs, 3_600_000);
    assert.equal((await statusOf(apsJobId)).checks, 0);

    // One job, one supervisor: a second start with the same input joins the running one.
    const again = await startSupervisor(testEnv().client, fastInput(apsJobId, { checkInterval: '1h' }), {
      taskQueue: stack.taskQueue,
    });
    assert.equal(again.workflowId, supervisorWorkflowId(region, apsJobId));
    assert.equal(again.handle.firstExecutionRunId, handle.firstExecutionRunId);

    const rejected = await handle
      .executeUpdate(setCheckIntervalUpdate, { args: [{ checkInterval: '10ms' }] })
      .then(
        () => assert.fail('expected the update to be rejected'),
        (e: unknown) => e,
      );
    assert.ok(rejected instanceof WorkflowUpdateFailedError, `got ${String(rejected)}`);
    assert.ok(rejected.cause instanceof ApplicationFailure);
    assert.equal(rejected.cause.type, 'InvalidWorkflowInput');
    assert.match(rejected.cause.message, /Invalid checkInterval: .*at least 100ms, got "10ms"/);
    // The client helper refuses before any call.
    await assert.rejects(
      setSupervisorCheckInterval(testEnv().client, region, apsJobId, '2d'),
      (err: unknown) => err instanceof InputValidationError && err.field === 'checkInterval',
    );

    const updated = await handle.executeUpdate(setCheckIntervalUpdate, {
      args: [{ checkInterval: '300ms' }],
    });
    assert.equal(updated.checkIntervalMs, 300);
    assert.ok(updated.nextCheckAt && Date.parse(updated.nextCheckAt) - Date.now() < 60_000);
    await eventually(
      async () => (await statusOf(apsJobId)).checks >= 3,
      20_000,
      'checks at the new interval',
    );

    await handle.cancel();
    await cancelledEnd(handle);
    const events = (await handle.fetchHistory()).events ?? [];
    const accepted = events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    assert.equal(accepted.length, 1, 'only the valid update reached the history');
    await maybeRecordHistory(handle, 'supervise-check-interval');
  });

  it('continues as new after maxChecksPerRun checks, carrying the restart window and counters', async () => {
    const apsJobId = newJobId();
    // Running after the start; its first check reads Failed; healthy after one restart.
    stack.emulator.addJob({
      apsJobId,
      regionId: region,
      kind: 'failing',
      failAfterPolls: 1,
      failuresBeforeHealthy: 1,
      errMessage: 'consumer group rebalancing',
    });
    const handle = await supervise(fastInput(apsJobId, { maxChecksPerRun: 3 }));
    const firstRunId = handle.firstExecutionRunId;
    const latest = testEnv().client.workflow.getHandle(supervisorWorkflowId(region, apsJobId));
    await eventually(async () => (await latest.describe()).runId !== firstRunId, 30_000, 'a new run');
    const s = await statusWhen(latest, (v) => v.run >= 2 && v.phase === 'running', 'the continued run');
    assert.equal(s.totalRestarts, 1);
    assert.equal(s.restartsInWindow, 1);
    assert.deepEqual(
      [s.lastFailure?.status, s.lastFailure?.errMessage],
      ['Failed', 'consumer group rebalancing'],
    );
    assert.ok(s.checks >= 3, `checks ${s.checks}`);
    assert.equal(s.checkIntervalMs, 300);
    assert.equal(stack.emulator.effectiveStarts(apsJobId), 2);

    const firstRun = testEnv().client.workflow.getHandle(handle.workflowId, firstRunId);
    const firstEvents = (await firstRun.fetchHistory()).events ?? [];
    assert.ok(firstEvents.at(-1)?.workflowExecutionContinuedAsNewEventAttributes, 'run 1 continued as new');
    // The continued run did not start the job again: it went on checking.
    await eventually(
      async () => (await statusOf(apsJobId)).checks >= s.checks + 1,
      20_000,
      'a check in the new run',
    );
    assert.equal(stack.emulator.effectiveStarts(apsJobId), 2);

    await latest.cancel();
    await cancelledEnd(handle);
    await maybeRecordHistory(firstRun, 'supervise-continue-as-new');
    await maybeRecordHistory(latest, 'supervise-continued-run');
  });

  it('fails with ApsJobFailed and the recent failures once the window budget is spent', async () => {
    const apsJobId = newJobId();
    stack.emulator.addJob({
      apsJobId,
      regionId: region,
      kind: 'failing',
      failAfterPolls: 0,
      errMessage: 'no such topic',
    });
    // The job fails again at the first read after each restart, which reads the same as a stale
    // Failed: stoppedGrace is how long that is doubted.
    const handle = await supervise(
      fastInput(apsJobId, { stoppedGrace: '1s', restartPolicy: { maxPerWindow: 2, window: '1h' } }),
    );
    const failure = await failureOf(handle);
    assert.equal(failure.type, 'ApsJobFailed');
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /restarted 2 times within 1h/);
    const details = failure.details?.[0] as {
      restartsInWindow: number;
      maxRestartsPerWindow: number;
      failures: JobFailureRecord[];
    };
    assert.equal(details.restartsInWindow, 2);
    assert.equal(details.maxRestartsPerWindow, 2);
    assert.deepEqual(
      details.failures.map((f) => [f.status, f.errMessage]),
      [
        ['Failed', 'no such topic'],
        ['Failed', 'no such topic'],
        ['Failed', 'no such topic'],
      ],
    );
    assert.equal(stack.emulator.effectiveStarts(apsJobId), 3);
    const s = await handle.query(supervisorStatusQuery);
    assert.equal(s.phase, 'failed');
    await maybeRecordHistory(handle, 'supervise-budget-spent');
  });

  describe('bad input: fails with InvalidWorkflowInput naming the field, before any API call', () => {
    const good = { regionId: region, apsJobId: 'aps-valid1' };
    const cases: [string, unknown, string][] = [
      ['bad job ID', { ...good, apsJobId: 'aps 1' }, 'apsJobId'],
      ['check interval too short', { ...good, checkInterval: '10ms' }, 'checkInterval'],
      ['poll interval under a second', { ...good, pollInterval: '200ms' }, 'pollInterval'],
      ['negative budget', { ...good, restartPolicy: { maxPerWindow: -1 } }, 'restartPolicy.maxPerWindow'],
      ['bad window', { ...good, restartPolicy: { window: 'hourly' } }, 'restartPolicy.window'],
      ['a typo in the policy', { ...good, restartPolicy: { maxRestarts: 1 } }, 'restartPolicy.maxRestarts'],
      ['zero checks per run', { ...good, maxChecksPerRun: 0 }, 'maxChecksPerRun'],
      ['malformed carried state', { ...good, carried: 'x' }, 'carried'],
      ['unknown field', { ...good, checkIntervall: '1m' }, 'checkIntervall'],
    ];
    for (const [name, input, field] of cases) {
      it(name, async () => {
        const before = stack.emulator.counters().requests;
        const handle = await testEnv().client.workflow.start(superviseApsJob, {
          taskQueue: stack.taskQueue,
          workflowId: `bad-supervise-${randomUUID()}`,
          args: [input as SuperviseApsJobInput],
        });
        const failure = await failureOf(handle);
        assert.equal(failure.type, 'InvalidWorkflowInput');
        assert.ok(failure.message.includes(field), `message "${failure.message}" should name ${field}`);
        assert.equal((failure.details?.[0] as { field: string }).field, field);
        assert.equal(stack.emulator.counters().requests, before);
      });
    }

    it('the client helper refuses bad input before starting anything', async () => {
      await assert.rejects(
        startSupervisor(testEnv().client, { ...good, checkInterval: '1ms' }, { taskQueue: stack.taskQueue }),
        (err: unknown) => err instanceof InputValidationError && err.field === 'checkInterval',
      );
    });
  });
});

describe('superviseApsJob survives a worker killed with SIGKILL', function () {
  this.timeout(180_000);
  let emulator: RunningEmulator;
  const workers: WorkerProcess[] = [];
  const started: string[] = [];
  before(async () => {
    emulator = await startEmulator({ seed: 33 });
  });
  after(async () => {
    await terminateAll(testEnv().client, started);
    await Promise.all(workers.map((w) => killWorker(w)));
    await emulator?.close();
  });

  it('a job that goes down while no worker runs is restarted by the next worker', async () => {
    const apsJobId = newJobId();
    emulator.addJob({ apsJobId, regionId: region, kind: 'streaming' });
    const taskQueue = uniqueTaskQueue('sv-crash');
    const first = spawnWorker({ taskQueue, emulator });
    workers.push(first);
    const { handle, workflowId } = await startSupervisor(testEnv().client, fastInput(apsJobId), {
      taskQueue,
    });
    started.push(workflowId);
    await eventually(
      async () => (await handle.query(supervisorStatusQuery)).checks >= 2,
      60_000,
      'the supervisor checking',
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nworker output:\n${first.output.join('')}`);
    });
    await killWorker(first);
    emulator.setJobStatus(apsJobId, 'Suspended');

    const second = spawnWorker({ taskQueue, emulator });
    workers.push(second);
    const s = await statusWhen(
      handle,
      (v) => v.totalRestarts === 1 && v.phase === 'running',
      'the restart by the second worker',
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nworker output:\n${second.output.join('')}`);
    });
    assert.equal(s.lastFailure?.status, 'Suspended');
    assert.equal(emulator.effectiveStarts(apsJobId), 2);
    assert.equal(emulator.job(apsJobId)?.status, 'Running');

    await handle.cancel();
    await cancelledEnd(handle);
    await maybeRecordHistory(handle, 'supervise-worker-crash');
  });
});
