import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import {
  jobWorkflowId,
  supervisorStatusQuery,
  supervisorWorkflowId,
  type RunApsJobInput,
  type SuperviseApsJobInput,
} from '../src/api';
import {
  ConflictingRunError,
  OrchestratorConflictError,
  cancelJobRun,
  cancelSupervisor,
  describeJobRun,
  startJobRun,
  startSupervisor,
} from '../src/client';
import { runApsJob } from '../src/workflows/run-aps-job';
import { InputValidationError } from '../src/validation';
import { testEnv } from './support/env';
import { maybeRecordHistory } from './support/histories';
import { eventually, startStack, type Stack } from './support/stack';

const region = 'cn-hangzhou';
const newJobId = (): string => `aps-cl-${randomUUID().slice(0, 10)}`;

/** Awaits `p`, which must reject; returns what it rejected with. */
async function rejection(p: Promise<unknown>, what: string): Promise<unknown> {
  return p.then(
    (v) => assert.fail(`expected ${what} to be refused, but it resolved: ${JSON.stringify(v, replacer)}`),
    (e: unknown) => e,
  );
}

// Handles hold a client; print only their IDs.
function replacer(key: string, value: unknown): unknown {
  if (key === 'handle' && value && typeof value === 'object') {
    const h = value as { workflowId?: string; firstExecutionRunId?: string };
    return { workflowId: h.workflowId, firstExecutionRunId: h.firstExecutionRunId };
  }
  return value;
}

/** How many executions the server holds under a workflow ID. */
async function executions(client: Client, workflowId: string): Promise<number> {
  let n = 0;
  for await (const _ of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) n += 1;
  return n;
}

/** Terminates what a test left open, so the suite ends by itself. */
async function terminateOpen(client: Client, workflowIds: string[]): Promise<void> {
  await Promise.all(
    workflowIds.map(async (id) => {
      const handle = client.workflow.getHandle(id);
      const status = await handle.describe().then(
        (d) => d.status.name,
        () => 'NOT_FOUND',
      );
      if (status === 'RUNNING') await handle.terminate('test cleanup');
    }),
  );
}

describe('client helpers (real dev server, real worker, emulator)', function () {
  this.timeout(120_000);
  let stack: Stack;
  let client: Client;
  const opened: string[] = [];
  before(async () => {
    stack = await startStack({ emulator: { seed: 41 } });
    client = testEnv().client;
  });
  after(async () => {
    await terminateOpen(client, opened);
    await stack?.stop();
  });

  /** A batch job that never completes: its run stays open, waiting. */
  function endlessBatch(): string {
    const apsJobId = newJobId();
    stack.emulator.addJob({ apsJobId, regionId: region, kind: 'batch', runningPollsToComplete: 1_000_000 });
    opened.push(jobWorkflowId(region, apsJobId), supervisorWorkflowId(region, apsJobId));
    return apsJobId;
  }

  function runInput(apsJobId: string, extra: Partial<RunApsJobInput> = {}): RunApsJobInput {
    return { regionId: region, apsJobId, target: 'completed', pollInterval: '1s', ...extra };
  }

  function superviseInput(apsJobId: string, extra: Partial<SuperviseApsJobInput> = {}): SuperviseApsJobInput {
    return { regionId: region, apsJobId, checkInterval: '1h', pollInterval: '1s', ...extra };
  }

  it('startJobRun refuses to join an open run that was started with different input', async () => {
    const apsJobId = endlessBatch();
    const first = await startJobRun(client, runInput(apsJobId), { taskQueue: stack.taskQueue });
    const err = await rejection(
      startJobRun(client, runInput(apsJobId, { pollInterval: '2s' }), { taskQueue: stack.taskQueue }),
      'a start with a different pollInterval',
    );
    assert.ok(err instanceof ConflictingRunError, `expected ConflictingRunError, got ${String(err)}`);
    assert.equal(err.workflowId, jobWorkflowId(region, apsJobId));
    assert.equal(err.runId, first.handle.firstExecutionRunId);
    assert.equal(err.message.split('\n').length, 1);
    assert.match(err.message, new RegExp(`^${err.workflowId} is already open .*different input`));
    assert.match(err.message, new RegExp(`aps-jobs cancel ${apsJobId} --region ${region}`));
    // The open run is untouched and still the only one.
    assert.equal((await first.handle.describe()).status.name, 'RUNNING');
    assert.equal(await executions(client, first.workflowId), 1);
    await cancelJobRun(client, region, apsJobId);
  });

  it('startJobRun joins the open run when the input is the same once normalized', async () => {
    const apsJobId = endlessBatch();
    const first = await startJobRun(client, runInput(apsJobId, { timeout: '24h' }), {
      taskQueue: stack.taskQueue,
    });
    // Same values written differently: 1000 ms for '1s', 86 400 000 ms for '24h', defaults spelled out.
    const spelled = runInput(apsJobId, {
      pollInterval: 1000,
      timeout: 86_400_000,
      onCancel: 'leave',
      onTimeout: 'leave',
      stoppedGrace: '1m',
    });
    const joined = await Promise.all(
      Array.from({ length: 5 }, () => startJobRun(client, spelled, { taskQueue: stack.taskQueue })),
    );
    for (const j of joined) assert.equal(j.handle.firstExecutionRunId, first.handle.firstExecutionRunId);
    assert.equal(await executions(client, first.workflowId), 1);
    await cancelJobRun(client, region, apsJobId);
  });

  it('startJobRun with waitFor is one Update-with-Start: every caller gets the final status, one run, one start', async () => {
    const apsJobId = newJobId();
    stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming', startingPolls: 2 });
    const input = runInput(apsJobId, { target: 'running' });
    const calls = await Promise.all(
      Array.from({ length: 3 }, () =>
        startJobRun(client, input, { taskQueue: stack.taskQueue, waitFor: 'target' }),
      ),
    );
    for (const c of calls) {
      assert.equal(c.handle.firstExecutionRunId, calls[0]!.handle.firstExecutionRunId);
      assert.equal(c.status?.phase, 'done');
      assert.equal(c.status?.lastStatus, 'Running');
    }
    assert.equal(await executions(client, calls[0]!.workflowId), 1);
    assert.equal(stack.emulator.effectiveStarts(apsJobId), 1);
    assert.equal(stack.emulator.calls({ action: 'StartApsJob', apsJobId }), 1);
    assert.equal((await calls[0]!.handle.describe()).status.name, 'COMPLETED');
    await maybeRecordHistory(calls[0]!.handle, 'await-run-update');

    // A run that fails answers too, with its phase; the result says why.
    const failing = newJobId();
    stack.emulator.addJob({
      apsJobId: failing,
      regionId: region,
      kind: 'failing',
      failAfterPolls: 0,
      errMessage: 'bad sink',
    });
    const failed = await startJobRun(client, runInput(failing), {
      taskQueue: stack.taskQueue,
      waitFor: 'target',
    });
    assert.equal(failed.status?.phase, 'failed');
    const err = await rejection(failed.handle.result(), 'the failed run');
    assert.equal((err as { cause?: { type?: string } }).cause?.type, 'ApsJobFailed');

    // "started" answers once the run knows the job is started.
    const other = newJobId();
    stack.emulator.addJob({ apsJobId: other, regionId: region, kind: 'streaming', startingPolls: 1 });
    const started = await startJobRun(client, runInput(other, { target: 'running' }), {
      taskQueue: stack.taskQueue,
      waitFor: 'started',
    });
    assert.ok(started.status?.startedAt, JSON.stringify(started.status));
    assert.equal(started.status?.started, true);
  });

  it('startJobRun with waitFor refuses a bad waitFor before any call, and a different input on an open run', async () => {
    const apsJobId = endlessBatch();
    const bad = await rejection(
      startJobRun(client, runInput(apsJobId), {
        taskQueue: stack.taskQueue,
        waitFor: 'soon' as unknown as 'target',
      }),
      'waitFor "soon"',
    );
    assert.ok(bad instanceof InputValidationError, String(bad));
    assert.equal(bad.message, 'Invalid waitFor: expected "started" or "target", got "soon"');
    assert.equal(await executions(client, jobWorkflowId(region, apsJobId)), 0);

    const first = await startJobRun(client, runInput(apsJobId), { taskQueue: stack.taskQueue });
    const err = await rejection(
      startJobRun(client, runInput(apsJobId, { pollInterval: '2s' }), {
        taskQueue: stack.taskQueue,
        waitFor: 'target',
      }),
      'a waited start with a different pollInterval',
    );
    assert.ok(err instanceof ConflictingRunError, String(err));
    assert.equal(err.runId, first.handle.firstExecutionRunId);
    assert.equal(await executions(client, first.workflowId), 1);
    await cancelJobRun(client, region, apsJobId);
  });

  it('startJobRun joins a run started without an input hash (an older release), whatever its input', async () => {
    const apsJobId = endlessBatch();
    const workflowId = jobWorkflowId(region, apsJobId);
    const old = await client.workflow.start(runApsJob, {
      taskQueue: stack.taskQueue,
      workflowId,
      args: [runInput(apsJobId, { pollInterval: '3s' })],
    });
    const joined = await startJobRun(client, runInput(apsJobId), { taskQueue: stack.taskQueue });
    assert.equal(joined.handle.firstExecutionRunId, old.firstExecutionRunId);
    assert.equal(await executions(client, workflowId), 1);
    await cancelJobRun(client, region, apsJobId);
  });

  it('startSupervisor refuses to join an open supervisor started with different input, joins on the same', async () => {
    const apsJobId = newJobId();
    stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming' });
    opened.push(supervisorWorkflowId(region, apsJobId));
    const first = await startSupervisor(client, superviseInput(apsJobId), { taskQueue: stack.taskQueue });
    const err = await rejection(
      startSupervisor(client, superviseInput(apsJobId, { checkInterval: '30m' }), {
        taskQueue: stack.taskQueue,
      }),
      'a supervisor start with a different checkInterval',
    );
    assert.ok(err instanceof ConflictingRunError, `expected ConflictingRunError, got ${String(err)}`);
    assert.equal(err.workflowId, supervisorWorkflowId(region, apsJobId));
    assert.match(err.message, /different input/);
    assert.match(err.message, new RegExp(`aps-jobs supervisor stop ${apsJobId} --region ${region}`));
    const joined = await startSupervisor(client, superviseInput(apsJobId, { checkInterval: 3_600_000 }), {
      taskQueue: stack.taskQueue,
    });
    assert.equal(joined.handle.firstExecutionRunId, first.handle.firstExecutionRunId);
    await cancelSupervisor(client, region, apsJobId);
  });

  it('startSupervisor still tells a different input apart after the supervisor continued as new', async () => {
    const apsJobId = newJobId();
    stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming' });
    opened.push(supervisorWorkflowId(region, apsJobId));
    const input = superviseInput(apsJobId, { checkInterval: '200ms', maxChecksPerRun: 1 });
    const first = await startSupervisor(client, input, { taskQueue: stack.taskQueue });
    await eventually(
      async () => (await first.handle.query(supervisorStatusQuery)).run >= 2,
      30_000,
      'the supervisor continuing as new',
    );
    const err = await rejection(
      startSupervisor(client, { ...input, checkInterval: '300ms' }, { taskQueue: stack.taskQueue }),
      'a supervisor start with a different checkInterval after continue-as-new',
    );
    assert.ok(err instanceof ConflictingRunError, `expected ConflictingRunError, got ${String(err)}`);
    // The run that recorded the hash has closed: the one compared with is a later one in the chain.
    assert.notEqual(err.runId, first.handle.firstExecutionRunId);
    const joined = await startSupervisor(client, input, { taskQueue: stack.taskQueue });
    assert.equal(joined.workflowId, first.workflowId);
    await cancelSupervisor(client, region, apsJobId);
  });

  it('startJobRun refuses while the job has an open supervisor, and starts nothing', async () => {
    const apsJobId = newJobId();
    stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming' });
    opened.push(jobWorkflowId(region, apsJobId), supervisorWorkflowId(region, apsJobId));
    await startSupervisor(client, superviseInput(apsJobId), { taskQueue: stack.taskQueue });
    const err = await rejection(
      startJobRun(client, runInput(apsJobId, { target: 'running' }), { taskQueue: stack.taskQueue }),
      'a run while the supervisor is open',
    );
    assert.ok(
      err instanceof OrchestratorConflictError,
      `expected OrchestratorConflictError, got ${String(err)}`,
    );
    assert.equal(err.otherWorkflowId, supervisorWorkflowId(region, apsJobId));
    assert.equal(err.message.split('\n').length, 1);
    assert.match(err.message, new RegExp(`supervisor ${err.otherWorkflowId} is open`));
    assert.match(err.message, new RegExp(`aps-jobs supervisor stop ${apsJobId} --region ${region}`));
    await assert.rejects(
      client.workflow.getHandle(jobWorkflowId(region, apsJobId)).describe(),
      WorkflowNotFoundError,
    );
    await cancelSupervisor(client, region, apsJobId);
  });

  it('startSupervisor refuses while the job has an open run, and works once that run has ended', async () => {
    const apsJobId = endlessBatch();
    const run = await startJobRun(client, runInput(apsJobId), { taskQueue: stack.taskQueue });
    const err = await rejection(
      startSupervisor(client, superviseInput(apsJobId), { taskQueue: stack.taskQueue }),
      'a supervisor while the run is open',
    );
    assert.ok(
      err instanceof OrchestratorConflictError,
      `expected OrchestratorConflictError, got ${String(err)}`,
    );
    assert.equal(err.otherWorkflowId, run.workflowId);
    assert.match(err.message, new RegExp(`run ${run.workflowId} is open`));
    assert.match(err.message, new RegExp(`aps-jobs cancel ${apsJobId} --region ${region}`));
    await assert.rejects(
      client.workflow.getHandle(supervisorWorkflowId(region, apsJobId)).describe(),
      WorkflowNotFoundError,
    );

    await cancelJobRun(client, region, apsJobId);
    await run.handle.result().catch(() => undefined);
    const sup = await startSupervisor(client, superviseInput(apsJobId), { taskQueue: stack.taskQueue });
    assert.equal((await sup.handle.describe()).status.name, 'RUNNING');
    await cancelSupervisor(client, region, apsJobId);
  });

  it("describeJobRun reports the wait's live read count in status.attempts while still waiting", async () => {
    const apsJobId = newJobId();
    stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming', startingPolls: 1000 });
    opened.push(jobWorkflowId(region, apsJobId));
    const run = await startJobRun(
      client,
      { regionId: region, apsJobId, target: 'running', pollInterval: '1s' },
      { taskQueue: stack.taskQueue },
    );
    let seen = '';
    const view = await eventually(
      async () => {
        const v = await describeJobRun(client, region, apsJobId);
        seen = `phase=${v.status?.phase} attempts=${v.status?.attempts} activity=${v.activity?.attempt}`;
        return v.status?.phase === 'waiting' && v.status.attempts > 1 ? v : undefined;
      },
      // The waiter heartbeats the read count every 15 s at a 1 s interval.
      40_000,
      'attempts > 1 while waiting',
    ).catch((e: Error) => {
      throw new Error(`${e.message} (last seen: ${seen})`);
    });
    assert.ok(view, 'a view once the condition held');
    // The start waits in the same activity (attempt 1); its heartbeat counts the reads.
    assert.equal(view.activity?.type, 'startApsJob');
    assert.equal(view.activity?.attempt, 1);
    const reads = stack.emulator.calls({ action: 'DescribeApsJobDetail', apsJobId });
    // Every read after the start, and the describe before it, reached the emulator.
    assert.ok(reads >= (view.status?.attempts ?? Infinity) + 1, `reads ${reads}, ${seen}`);
    assert.equal(view.executionStatus, 'RUNNING');
    await run.handle.terminate('test over');
  });
});
