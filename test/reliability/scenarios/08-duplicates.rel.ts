/**
 * Duplicate orchestration: ten callers start the same job at the same moment through `startJobRun`
 * (deterministic workflow ID, `USE_EXISTING`). They all get the same workflow run; the server holds
 * one execution per job; the emulator sees one StartApsJob per job.
 */
import { strict as assert } from 'node:assert';
import { suite } from '../support/hooks';
import { emulatorSeed, PLAN } from '../support/plan';
import { record, summary } from '../support/report';
import { awaitRuns, describeProblems, mapLimit, startRun, tally, type Run } from '../support/runs';
import { accountStarts, jobIds, jobInput, startStage, type Stage } from '../support/stage';

const ID = 'duplicates';
const CALLERS = 10;

describe('reliability: duplicate orchestration', function () {
  const plan = PLAN.duplicates;
  this.timeout(10 * 60_000);
  let stage: Stage | undefined;
  after(async () => {
    await stage?.stop();
  });

  it(`[${ID}] ${plan.jobs} jobs × ${CALLERS} concurrent startJobRun: one workflow and one start per job`, async () => {
    const t0 = Date.now();
    const ids = jobIds('dup', plan.jobs);
    stage = await startStage({
      id: ID,
      workers: 2,
      emulator: {
        seed: emulatorSeed(ID),
        jobs: ids.map((apsJobId) => ({ apsJobId, kind: 'streaming', startingPolls: 2 })),
      },
    });
    const { emulator, taskQueue } = stage;
    const { client } = suite();
    // Every call for every job in flight at once.
    const calls = ids.flatMap((apsJobId) => Array.from({ length: CALLERS }, () => apsJobId));
    const started = await mapLimit(calls, calls.length, (apsJobId) =>
      startRun(client, taskQueue, jobInput(apsJobId)).then(
        (run) => ({ apsJobId, run, error: undefined }),
        (error: unknown) => ({ apsJobId, run: undefined, error }),
      ),
    );
    const problems: string[] = [];
    const runs: Run[] = [];
    for (const apsJobId of ids) {
      const mine = started.filter((s) => s.apsJobId === apsJobId);
      const errors = mine.filter((s) => s.error !== undefined);
      if (errors.length > 0)
        problems.push(`${apsJobId}: ${errors.length} start calls failed: ${String(errors[0]?.error)}`);
      const runIds = new Set(mine.map((s) => s.run?.handle.firstExecutionRunId));
      const workflowIds = new Set(mine.map((s) => s.run?.workflowId));
      if (runIds.size !== 1 || workflowIds.size !== 1) {
        problems.push(`${apsJobId}: ${workflowIds.size} workflow IDs, ${runIds.size} run IDs`);
      }
      const first = mine.find((s) => s.run)?.run;
      if (first) runs.push(first);
    }
    const outcomes = await awaitRuns(client, taskQueue, runs, Date.now() + 3 * 60_000);
    const executions = await mapLimit(runs, 8, async (run) => {
      let n = 0;
      for await (const _ of client.workflow.list({ query: `WorkflowId = "${run.workflowId}"` })) n += 1;
      return n;
    });
    const t = tally(outcomes);
    const starts = accountStarts(emulator, outcomes);
    const startCalls = ids.map((id) => emulator.calls({ action: 'StartApsJob', apsJobId: id }));
    record(
      summary(ID, t, {
        doubleStarts: starts.doubleStarts,
        duplicateStartCalls: starts.duplicateStartCalls,
        apiCalls: emulator.counters().requests,
        wallMs: Date.now() - t0,
        notes:
          `${calls.length} concurrent startJobRun calls → ${new Set(runs.map((r) => r.handle.firstExecutionRunId)).size} runs, ` +
          `${executions.reduce((a, b) => a + b, 0)} executions on the server, ` +
          `${startCalls.reduce((a, b) => a + b, 0)} StartApsJob calls`,
        details: {
          callers: CALLERS,
          startCalls: calls.length,
          executionsPerJob: executions,
          startApsJobCallsPerJob: startCalls,
          problems,
          effectiveStartsByCount: starts.byCount,
        },
      }),
    );

    assert.deepEqual(problems, [], 'callers did not all join one workflow');
    assert.deepEqual(
      executions,
      ids.map(() => 1),
      'more than one execution for a job',
    );
    assert.equal(t.completed, plan.jobs, `not all runs completed:\n${describeProblems(outcomes)}`);
    assert.deepEqual(starts.byCount, { 1: plan.jobs }, `starts: ${starts.offenders.join(', ')}`);
    assert.equal(
      starts.duplicateStartCalls,
      0,
      `duplicate start calls: ${starts.duplicateOffenders.join(', ')}`,
    );
    assert.deepEqual(
      startCalls,
      ids.map(() => 1),
      'more than one StartApsJob call for a job',
    );
  });
});
