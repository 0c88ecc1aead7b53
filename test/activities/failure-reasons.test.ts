import { strict as assert } from 'node:assert';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities, type CheckApsJobResult, type WaitForApsJobInput } from '../../src/activities';
import { ApsApiError, type ActionLogLine } from '../../src/aps/types';
import type { JobFailedDetails } from '../../src/failures';
import { FakeAps, S } from '../support/fake-aps';

const ref = { regionId: 'cn-hangzhou', apsJobId: 'aps-reasons-1' };
const startedAt = Date.UTC(2024, 0, 31, 8, 0, 0);
const waitInput: WaitForApsJobInput = {
  ...ref,
  target: 'running',
  pollIntervalMs: 30_000,
  stoppedGraceMs: 60_000,
  startedAt,
};
const line = (i: number): ActionLogLine => ({
  time: `2024-01-31T08:00:${String(i).padStart(2, '0')}Z`,
  stage: 'IncrementalSync',
  state: 'ERROR',
  context: `error ${i}`,
});

interface Logged {
  level: string;
  message: string;
  meta?: Record<string, unknown>;
}

/** Runs one attempt; returns its failure and every log line. */
async function failing(fn: () => Promise<unknown>): Promise<{ failure: ApplicationFailure; logs: Logged[] }> {
  const logs: Logged[] = [];
  const at =
    (level: string) =>
    (message: string, meta?: Record<string, unknown>): void => {
      logs.push({ level, message, ...(meta ? { meta } : {}) });
    };
  const logger = {
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    log: (level: string, message: string, meta?: Record<string, unknown>) => at(level)(message, meta),
  };
  const env = new MockActivityEnvironment({ attempt: 1 }, { logger });
  try {
    await env.run(fn);
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
    return { failure: err, logs };
  }
  assert.fail('expected the attempt to fail');
}

function failedJob(): FakeAps {
  const aps = new FakeAps();
  aps.describeAnswers = [S.failed];
  aps.destinationInstanceId = 'amv-bp1cluster';
  aps.listResult = {
    jobs: [
      { apsJobId: ref.apsJobId, status: { raw: 'Failed', class: 'failed' }, errMessage: 'no such topic' },
    ],
    pageNumber: 1,
    pageSize: 100,
    totalCount: 1,
    raw: {},
  };
  return aps;
}

const url = 'https://adb.console.aliyun.com/adb/cn-hangzhou/mysql/cluster/amv-bp1cluster/basicInfo';

describe('activities: the reasons of a failed job (fake ApsApi)', () => {
  it('waitForApsJob: ApsJobFailed carries the newest ERROR lines, the truncation mark and the console link', async () => {
    const aps = failedJob();
    const all = Array.from({ length: 25 }, (_, i) => line(24 - i));
    aps.actionLogsAnswer = (i) => ({
      lines: all.slice(0, 30),
      totalCount: all.length,
      pageNumber: i.pageNumber ?? 1,
      pageSize: 30,
      raw: {},
    });
    const now = startedAt + 600_000;
    const acts = createActivities({ aps, now: () => now });
    const { failure } = await failing(() => acts.waitForApsJob(waitInput));
    assert.equal(failure.type, 'ApsJobFailed');
    assert.equal(failure.nonRetryable, true);
    const d = failure.details?.[0] as JobFailedDetails;
    assert.equal(d.status, 'Failed');
    assert.equal(d.errMessage, 'no such topic');
    assert.equal(d.actionLogs?.length, 20);
    assert.deepEqual(d.actionLogs?.[0], line(24));
    assert.equal(d.actionLogsTruncated, true);
    assert.equal(d.consoleUrl, url);
    // The message is what it was: the reasons are in the details only.
    assert.equal(failure.message, 'APS job aps-reasons-1 reported Failed: no such topic');

    const sent = aps.actionLogInputs[0];
    assert.equal(aps.actionLogInputs.length, 1);
    assert.equal(
      sent?.dbClusterId,
      'amv-bp1cluster',
      'DBClusterId is the detail’s DestinationEndpointInstanceID',
    );
    assert.equal(sent?.apsJobId, ref.apsJobId);
    assert.deepEqual(sent?.state, ['ERROR']);
    assert.equal(sent?.startTime, startedAt - 60_000, 'from the run’s start (less a minute)');
    assert.equal(sent?.endTime, now);
  });

  it('a refused DescribeApsActionLogs leaves the failure as it was, logged with its code', async () => {
    const aps = failedJob();
    // The fake throws the normalized error the real client would.
    aps.actionLogsAnswer = () =>
      Promise.reject(
        new ApsApiError({
          code: 'Forbidden.RAM',
          httpStatus: 403,
          requestId: 'req-1',
          message: 'User not authorized to operate on the specified resource.',
          retryClass: 'permanent',
          ambiguous: false,
          raw: {},
        }),
      );
    const acts = createActivities({ aps });
    const { failure, logs } = await failing(() => acts.waitForApsJob(waitInput));
    assert.equal(failure.type, 'ApsJobFailed');
    assert.equal(failure.nonRetryable, true);
    assert.deepEqual(failure.details?.[0], {
      status: 'Failed',
      errMessage: 'no such topic',
      consoleUrl: url,
    });
    const warn = logs.find((l) => l.level === 'warn' && /action logs/.test(l.message));
    assert.ok(warn, JSON.stringify(logs));
    assert.equal(warn.meta?.code, 'Forbidden.RAM');
    assert.equal(warn.meta?.httpStatus, 403);
  });

  it('a DescribeApsActionLogs that does not answer is given up after its bound', async () => {
    const aps = failedJob();
    aps.actionLogsAnswer = () => new Promise(() => undefined);
    const acts = createActivities({ aps, actionLogsTimeoutMs: 200 });
    const t = Date.now();
    const { failure, logs } = await failing(() => acts.waitForApsJob(waitInput));
    assert.ok(Date.now() - t < 5_000, `took ${Date.now() - t} ms`);
    assert.equal(failure.type, 'ApsJobFailed');
    assert.equal((failure.details?.[0] as JobFailedDetails).actionLogs, undefined);
    assert.equal(logs.find((l) => /action logs/.test(l.message))?.meta?.code, 'ActionLogsTimeout');
  });

  it('without a cluster in the detail, no call: the link goes to the region’s clusters', async () => {
    const aps = failedJob();
    aps.destinationInstanceId = undefined;
    const acts = createActivities({ aps });
    const { failure } = await failing(() => acts.waitForApsJob(waitInput));
    assert.equal(aps.count('DescribeApsActionLogs'), 0);
    assert.equal(
      (failure.details?.[0] as JobFailedDetails).consoleUrl,
      'https://adb.console.aliyun.com/adb/cn-hangzhou/mysql/clusters',
    );
  });

  it('checkApsJob: a failed job comes with its reasons, read from `since`; a running one reads no logs', async () => {
    const aps = failedJob();
    aps.actionLogsAnswer = (i) => ({
      lines: [line(3)],
      totalCount: 1,
      pageNumber: i.pageNumber ?? 1,
      pageSize: 30,
      raw: {},
    });
    const acts = createActivities({ aps, now: () => startedAt + 600_000 });
    const env = new MockActivityEnvironment({ attempt: 1 });
    const checked: CheckApsJobResult = await env.run(() => acts.checkApsJob({ ...ref, since: startedAt }));
    assert.equal(checked.class, 'failed');
    assert.equal(checked.errMessage, 'no such topic');
    assert.deepEqual(checked.actionLogs, [line(3)]);
    assert.equal(checked.actionLogsTruncated, undefined);
    assert.equal(checked.consoleUrl, url);
    assert.equal(aps.actionLogInputs[0]?.startTime, startedAt - 60_000);

    aps.describeAnswers = [S.running];
    const running: CheckApsJobResult = await new MockActivityEnvironment({ attempt: 1 }).run(() =>
      acts.checkApsJob(ref),
    );
    assert.equal(running.class, 'running');
    assert.equal(running.actionLogs, undefined);
    assert.equal(aps.count('DescribeApsActionLogs'), 1);
  });

  it('without a known start, the window opens at the job’s creation time', async () => {
    const aps = failedJob();
    const created = Date.UTC(2024, 0, 30, 6, 0, 0);
    aps.listResult.jobs[0]!.createTime = '2024-01-30T06:00:00Z';
    const acts = createActivities({ aps, now: () => created + 86_400_000 });
    const { startedAt: _omit, ...noStart } = waitInput;
    await failing(() => acts.waitForApsJob(noStart));
    assert.equal(aps.actionLogInputs[0]?.startTime, created - 60_000);
  });
});
