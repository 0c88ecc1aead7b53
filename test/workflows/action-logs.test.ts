import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { supervisorStatusQuery, type SuperviseApsJobInput } from '../../src/api';
import { startSupervisor } from '../../src/client';
import type { JobFailedDetails } from '../../src/failures';
import { testEnv } from '../support/env';
import { failureOf, startRun } from '../support/runs';
import { startStack, type Stack } from '../support/stack';

const region = 'cn-hangzhou';
const cluster = 'amv-it-logs1';
const url = `https://adb.console.aliyun.com/adb/${region}/mysql/cluster/${cluster}/basicInfo`;
const newJobId = (): string => `aps-al-${randomUUID().slice(0, 10)}`;

/** A job that fails at its first read after a start, with three scripted ERROR lines and an INFO one. */
function failingJob(stack: Stack, apsJobId: string, failAfterPolls = 0): void {
  stack.emulator.addJob({
    apsJobId,
    regionId: region,
    kind: 'failing',
    failAfterPolls,
    errMessage: 'topic orders does not exist',
    destinationInstanceId: cluster,
    actionLogs: [
      { context: 'connecting to alikafka_post-cn-x', state: 'INFO' },
      { context: 'first error: metadata fetch failed' },
      { context: 'second error: UNKNOWN_TOPIC_OR_PARTITION', stage: 'IncrementalSync' },
      { context: 'last error: topic orders does not exist' },
    ],
  });
}

const logCalls = (stack: Stack, apsJobId: string): number =>
  stack.emulator.counters().byJob[apsJobId]?.DescribeApsActionLogs ?? 0;

describe('failure reasons: action logs and the console link (real dev server, worker, emulator)', function () {
  this.timeout(120_000);
  let stack: Stack;
  before(async () => {
    stack = await startStack({ emulator: { seed: 11 } });
  });
  after(async () => {
    await stack?.stop();
  });

  it('runApsJob: ApsJobFailed details carry the newest ERROR lines and the link, read once', async () => {
    const apsJobId = newJobId();
    failingJob(stack, apsJobId);
    const handle = await startRun(stack, {
      regionId: region,
      apsJobId,
      target: 'completed',
      pollInterval: '1s',
    });
    const err = await handle.result().then(
      () => assert.fail('expected the run to fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError);
    const failure = err.cause;
    assert.ok(failure instanceof ApplicationFailure);
    assert.equal(failure.type, 'ApsJobFailed');
    assert.equal(failure.nonRetryable, true);
    assert.ok(failure.cause instanceof ActivityFailure, 'the activity failure below it');
    assert.ok(failure.cause.cause instanceof ApplicationFailure);
    assert.equal(failure.cause.cause.type, 'ApsJobFailed');
    const d = failure.details?.[0] as JobFailedDetails;
    assert.equal(d.status, 'Failed');
    assert.equal(d.errMessage, 'topic orders does not exist');
    assert.deepEqual(
      d.actionLogs?.map((l) => [l.state, l.context]),
      [
        ['ERROR', 'last error: topic orders does not exist'],
        ['ERROR', 'second error: UNKNOWN_TOPIC_OR_PARTITION'],
        ['ERROR', 'first error: metadata fetch failed'],
      ],
    );
    assert.ok(d.actionLogs?.every((l) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(l.time)));
    assert.equal(d.actionLogsTruncated, undefined);
    assert.equal(d.consoleUrl, url);
    // Only the wait activity that reports the failure reads the logs.
    assert.equal(logCalls(stack, apsJobId), 1);
    assert.equal(stack.emulator.counters().signatureFailures, 0);
  });

  it('runApsJob: a refused DescribeApsActionLogs leaves the outcome as it was', async () => {
    const apsJobId = newJobId();
    failingJob(stack, apsJobId);
    stack.emulator.injectFault({
      kind: 'error',
      code: 'Forbidden.RAM',
      action: 'DescribeApsActionLogs',
      apsJobId,
      times: 'unlimited',
    });
    const handle = await startRun(stack, {
      regionId: region,
      apsJobId,
      target: 'completed',
      pollInterval: '1s',
    });
    const failure = await failureOf(handle);
    assert.equal(failure.type, 'ApsJobFailed');
    assert.equal(failure.nonRetryable, true);
    assert.equal(failure.message, `APS job ${apsJobId} reported Failed: topic orders does not exist`);
    assert.deepEqual(failure.details?.[0], {
      status: 'Failed',
      errMessage: 'topic orders does not exist',
      consoleUrl: url,
    });
    // The refusal was answered (once: it is not retried) and the job was started once.
    assert.equal(stack.emulator.counters().byJob[apsJobId]?.DescribeApsActionLogs, 1);
    assert.equal(
      stack.emulator.requests({ apsJobId, action: 'DescribeApsActionLogs' })[0]?.code,
      'Forbidden.RAM',
    );
    assert.equal(stack.emulator.effectiveStarts(apsJobId), 1);
  });

  describe('superviseApsJob', () => {
    const started: string[] = [];
    after(async () => {
      for (const id of started) {
        await testEnv()
          .client.workflow.getHandle(id)
          .terminate('test over')
          .catch(() => undefined);
      }
    });
    const input = (apsJobId: string): SuperviseApsJobInput => ({
      regionId: region,
      apsJobId,
      checkInterval: '300ms',
      pollInterval: '1s',
      activityTimeout: '5s',
      restartPolicy: { maxPerWindow: 0, window: '1h', initialInterval: '100ms' },
    });
    const supervise = async (apsJobId: string) => {
      const s = await startSupervisor(testEnv().client, input(apsJobId), { taskQueue: stack.taskQueue });
      started.push(s.workflowId);
      return s.handle;
    };

    it('a job found failed by a check: ApsJobFailed carries its lines and link; the status keeps none', async () => {
      const apsJobId = newJobId();
      // Running at the first read, Failed at the next: the check finds it.
      failingJob(stack, apsJobId, 1);
      const handle = await supervise(apsJobId);
      const failure = await failureOf(handle);
      assert.equal(failure.type, 'ApsJobFailed');
      assert.equal(failure.nonRetryable, true);
      const d = failure.details?.[0] as JobFailedDetails & { failures: Record<string, unknown>[] };
      assert.equal(d.errMessage, 'topic orders does not exist');
      assert.equal(d.actionLogs?.[0]?.context, 'last error: topic orders does not exist');
      assert.equal(d.actionLogs?.length, 3);
      assert.equal(d.consoleUrl, url);
      // The failure list (carried across continue-as-new) holds records, not the lines.
      assert.equal(d.failures.length, 1);
      assert.deepEqual(Object.keys(d.failures[0]!).sort(), ['at', 'errMessage', 'status']);
      const s = await handle.query(supervisorStatusQuery);
      assert.equal(s.phase, 'failed');
      assert.equal((s.lastFailure as Record<string, unknown> | undefined)?.actionLogs, undefined);
      assert.equal(logCalls(stack, apsJobId), 1);
    });

    it('a job that fails while brought up, DescribeApsActionLogs failing: the outcome is unchanged', async () => {
      const apsJobId = newJobId();
      failingJob(stack, apsJobId, 0);
      stack.emulator.injectFault({
        kind: 'error',
        code: 'InternalError',
        action: 'DescribeApsActionLogs',
        apsJobId,
        times: 'unlimited',
      });
      const handle = await supervise(apsJobId);
      const failure = await failureOf(handle);
      assert.equal(failure.type, 'ApsJobFailed');
      assert.match(failure.message, /is down \(Failed: topic orders does not exist\)/);
      const d = failure.details?.[0] as JobFailedDetails;
      assert.equal(d.actionLogs, undefined);
      assert.equal(d.consoleUrl, url);
      assert.ok(logCalls(stack, apsJobId) >= 1);
      assert.equal(
        stack.emulator.requests({ apsJobId, action: 'DescribeApsActionLogs' })[0]?.code,
        'InternalError',
      );
    });
  });
});
