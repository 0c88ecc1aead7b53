import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import {
  fleetStatusQuery,
  supervisorWorkflowId,
  type FleetSummary,
  type ReconcileApsFleetInput,
} from '../../src/api';
import {
  cancelJobRun,
  cancelSupervisor,
  startJobRun,
  startSupervisor,
  supervisorStatus,
} from '../../src/client';
import { orchestrationsIn } from '../../src/fleet';
import { reconcileApsFleet } from '../../src/workflows/reconcile-aps-fleet';
import { testEnv } from '../support/env';
import { eventually, startStack, type Stack } from '../support/stack';
import { maybeRecordHistory } from '../support/histories';

const id = (): string => randomUUID().slice(0, 8);

describe('reconcileApsFleet', function () {
  this.timeout(120_000);
  const region = `cn-recon-${id()}`;
  const jobs = {
    suspended: `aps-rc-a-${id()}`,
    failed: `aps-rc-b-${id()}`,
    busy: `aps-rc-c-${id()}`,
    other: `aps-rc-x-${id()}`,
    gone: `aps-rc-g-${id()}`,
  };
  const supervisor = { checkInterval: '1h', pollInterval: '1s', activityTimeout: '5s' };
  let stack: Stack;
  let client: Client;

  const reconcile = (
    input: Omit<ReconcileApsFleetInput, 'regionId'>,
    workflowId = `aps-fleet-test-${id()}`,
  ) =>
    client.workflow.execute(reconcileApsFleet, {
      taskQueue: stack.taskQueue,
      workflowId,
      args: [{ regionId: region, ...input }],
    });

  /** Whether the job's supervisor is open, asked of the server. */
  const supervised = async (apsJobId: string): Promise<boolean> => {
    try {
      const d = await client.workflow.getHandle(supervisorWorkflowId(region, apsJobId)).describe();
      return d.status.name === 'RUNNING';
    } catch {
      return false;
    }
  };

  before(async () => {
    stack = await startStack({
      emulator: {
        jobs: [
          { apsJobId: jobs.suspended, regionId: region, name: 'etl-orders', kind: 'streaming' },
          {
            apsJobId: jobs.failed,
            regionId: region,
            name: 'etl-clicks',
            kind: 'streaming',
            initialStatus: 'Failed',
          },
          // Its run stays open (Starting for an hour): the reconciler must leave it alone.
          {
            apsJobId: jobs.busy,
            regionId: region,
            name: 'etl-busy',
            kind: 'streaming',
            startingMs: 3_600_000,
          },
          { apsJobId: jobs.other, regionId: region, name: 'other-x', kind: 'streaming' },
          { apsJobId: jobs.gone, regionId: region, name: 'etl-gone', kind: 'streaming' },
        ],
      },
    });
    client = testEnv().client;
    await startJobRun(
      client,
      { regionId: region, apsJobId: jobs.busy, pollInterval: '1s' },
      { taskQueue: stack.taskQueue },
    );
    await startSupervisor(
      client,
      { regionId: region, apsJobId: jobs.gone, ...supervisor },
      { taskQueue: stack.taskQueue },
    );
    // Deleted while its supervisor waits for its next check (an hour away).
    await eventually(
      async () => (await supervisorStatus(client, region, jobs.gone)).phase === 'running',
      20_000,
      'the gone job supervised and running',
    );
    stack.emulator.removeJob(jobs.gone);
    await eventually(
      async () => {
        const o = await orchestrationsIn(client, region);
        return o.get(jobs.busy)?.run && o.get(jobs.gone)?.supervisor;
      },
      20_000,
      'visibility to show the run and the supervisor',
    );
  });
  after(async () => {
    for (const j of Object.values(jobs)) await cancelSupervisor(client, region, j).catch(() => undefined);
    await cancelJobRun(client, region, jobs.busy).catch(() => undefined);
    await stack?.stop();
  });

  it('rejects bad input at once, naming the field', async () => {
    const err = await reconcile({ selector: { namePattern: '([' } }).then(
      () => assert.fail('expected a failure'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError);
    assert.ok(err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, 'InvalidWorkflowInput');
    assert.equal(err.cause.nonRetryable, true);
    assert.match(
      err.cause.message,
      /^Invalid selector\.namePattern: expected a valid JavaScript regular expression/,
    );
    assert.equal(stack.emulator.calls({ action: 'DescribeApsJobs' }), 0, 'nothing listed');
  });

  it('report mode only reports: candidates, busy jobs, orphans and the gone supervisor', async () => {
    const startsBefore = stack.emulator.calls({ action: 'StartApsJob' });
    const s = await reconcile({ selector: { namePrefix: 'etl-' }, mode: 'report', endGone: true });
    assert.equal(s.phase, 'done');
    assert.equal(s.seen, 4);
    assert.equal(s.matched, 3, 'etl-orders, etl-clicks, etl-busy (etl-gone is deleted)');
    assert.equal(s.adopted, 0);
    assert.equal(s.wouldAdopt, 2);
    assert.deepEqual(new Set(s.wouldAdoptJobIds), new Set([jobs.suspended, jobs.failed]));
    assert.equal(s.busy, 1);
    // Down with nothing on them: the two candidates and other-x (not matched, but an orphan all the same).
    assert.equal(s.orphansFailed, 3);
    assert.deepEqual(
      new Set(s.orphans.map((o) => o.apsJobId)),
      new Set([jobs.suspended, jobs.failed, jobs.other]),
    );
    assert.equal(s.gone, 1);
    assert.deepEqual(s.goneSupervisors, [
      { apsJobId: jobs.gone, workflowId: supervisorWorkflowId(region, jobs.gone), ended: false },
    ]);
    assert.equal(await supervised(jobs.suspended), false);
    assert.equal(await supervised(jobs.failed), false);
    assert.equal(await supervised(jobs.gone), true, 'report mode ends nothing, flag or not');
    assert.equal(stack.emulator.calls({ action: 'StartApsJob' }), startsBefore, 'no job started');
  });

  it('supervise mode adopts the matched jobs (one per run here, continuing as new), ends the gone supervisor; a second pass adopts nothing', async () => {
    const handle = await client.workflow.start(reconcileApsFleet, {
      taskQueue: stack.taskQueue,
      workflowId: `aps-fleet-test-${id()}`,
      args: [
        {
          regionId: region,
          selector: { namePattern: '^etl-(orders|clicks|busy)$' },
          mode: 'supervise',
          supervisor,
          endGone: true,
          maxAdoptionsPerRun: 1,
        },
      ],
    });
    const s = await handle.result();
    await maybeRecordHistory(handle, 'reconcile-fleet-supervise');
    assert.equal(s.phase, 'done');
    assert.equal(s.run, 2, 'two candidates at one per run: one continue-as-new');
    assert.equal(s.adopted, 2);
    assert.deepEqual(new Set(s.adoptedJobIds), new Set([jobs.suspended, jobs.failed]));
    assert.equal(s.busy, 1);
    assert.equal(s.orphansFailed, 1, 'only other-x is left without orchestration');
    assert.deepEqual(
      s.orphans.map((o) => o.apsJobId),
      [jobs.other],
    );
    assert.deepEqual(s.errors, []);
    // The gone supervisor was ended by the first run; the second may still see it in visibility.
    const first = await client.workflow
      .getHandle(handle.workflowId, handle.firstExecutionRunId)
      .fetchHistory();
    assert.ok(
      first.events?.some((e) => e.workflowExecutionContinuedAsNewEventAttributes),
      'the first run continued as new',
    );
    assert.equal(await supervised(jobs.gone), false, 'the gone job supervisor was cancelled');
    assert.equal(await supervised(jobs.suspended), true);
    assert.equal(await supervised(jobs.failed), true);
    assert.equal(await supervised(jobs.busy), false, 'a job with an open run is not adopted');
    // The supervisors, not the reconciler, start the jobs: once each.
    await eventually(
      () =>
        stack.emulator.job(jobs.suspended)?.status === 'Running' &&
        stack.emulator.job(jobs.failed)?.status === 'Running',
      20_000,
      'the adopted jobs running',
    );
    assert.equal(stack.emulator.effectiveStarts(jobs.suspended), 1);
    assert.equal(stack.emulator.effectiveStarts(jobs.failed), 1);

    const again = await reconcile({
      selector: { namePattern: '^etl-(orders|clicks|busy)$' },
      mode: 'supervise',
      supervisor,
      endGone: true,
    });
    assert.equal(again.adopted, 0);
    assert.equal(again.alreadySupervised, 2);
    assert.equal(again.busy, 1);
    assert.equal(again.run, 1);
    assert.equal(stack.emulator.effectiveStarts(jobs.suspended), 1, 'no second start');
    assert.equal(stack.emulator.effectiveStarts(jobs.failed), 1, 'no second start');
    for (const j of [jobs.suspended, jobs.failed]) {
      const runs = [];
      for await (const wf of client.workflow.list({
        query: `WorkflowId = '${supervisorWorkflowId(region, j)}'`,
      })) {
        runs.push(wf.runId);
      }
      assert.equal(runs.length, 1, `one supervisor execution for ${j}`);
    }
  });

  it('answers the fleetStatus query with the summary while it runs and after', async () => {
    const handle = await client.workflow.start(reconcileApsFleet, {
      taskQueue: stack.taskQueue,
      workflowId: `aps-fleet-test-${id()}`,
      args: [{ regionId: region, selector: { jobIds: [jobs.other] }, mode: 'report' }],
    });
    const result = await handle.result();
    const queried: FleetSummary = await handle.query(fleetStatusQuery);
    assert.deepEqual(queried, result);
    assert.equal(result.matched, 1);
    assert.deepEqual(result.wouldAdoptJobIds, [jobs.other]);
  });
});
