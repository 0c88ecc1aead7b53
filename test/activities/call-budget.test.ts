/**
 * The API calls of one activity attempt on a worker without in-process waits: the bound k that
 * turns an API rate limit into the task queue's activity rate. Each worst-case path is driven
 * through the real activity against a fake that counts calls.
 */
import { strict as assert } from 'node:assert';
import { MockActivityEnvironment } from '@temporalio/testing';
import {
  ACTION_LOG_MAX_CALLS,
  createActivities,
  ERR_MESSAGE_MAX_PAGES,
  RATE_LIMITED_ACTION_LOG_CALLS,
  maxApiCallsPerAttempt,
  RATE_LIMITED_CALLS_PER_ATTEMPT,
  RATE_LIMITED_ERR_MESSAGE_PAGES,
  type StartApsJobInput,
  type WaitForApsJobInput,
} from '../../src/activities';
import { FakeAps, S } from '../support/fake-aps';

const noop = (): void => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop };
const ref = { regionId: 'cn-hangzhou', apsJobId: 'aps-budget-1' };
const waitSpec = { pollIntervalMs: 1000, stoppedGraceMs: 60_000 };
const waitInput: WaitForApsJobInput = { ...ref, target: 'running', ...waitSpec };
const startInput: StartApsJobInput = {
  ...ref,
  target: 'running',
  settleMs: 60_000,
  settleIntervalMs: 1000,
  wait: waitSpec,
};

/** A fake whose job reads failed and whose region lists many jobs, none of them this one. */
function failedJobInBigRegion(): FakeAps {
  const aps = new FakeAps();
  aps.describeAnswers = [S.failed];
  aps.listResult = { jobs: [], pageNumber: 1, pageSize: 100, totalCount: 100_000, raw: {} };
  // A page with jobs but not ours, so the lookup goes on to the next page.
  aps.listResult.jobs = [{ apsJobId: 'aps-other', status: { raw: 'Running', class: 'running' } }];
  // Many ERROR lines, oldest first, a few a page: the reasons lookup reads page 1, then the last
  // pages for the newest lines, as far as its cap allows.
  aps.actionLogsAnswer = (i) => ({
    lines: [
      { time: '2026-01-01T00:00:00Z', state: 'ERROR', context: 'older' },
      { time: '2026-01-01T00:00:01Z', state: 'ERROR', context: 'newer' },
    ],
    totalCount: 1000,
    pageNumber: i.pageNumber ?? 1,
    pageSize: i.pageSize ?? 30,
    raw: {},
  });
  return aps;
}

/** Runs one attempt (with a heartbeat timeout, as the workflows set) and returns its call count. */
async function callsOf(
  aps: FakeAps,
  fn: () => Promise<unknown>,
  heartbeatDetails?: unknown,
): Promise<number> {
  const env = new MockActivityEnvironment(
    { attempt: heartbeatDetails ? 2 : 1, heartbeatDetails, heartbeatTimeoutMs: 30_000 },
    { logger: quietLogger },
  );
  await env.run(fn).catch(() => undefined);
  return aps.calls.length;
}

describe('API calls per activity attempt (the rate limit factor k)', () => {
  const pages = RATE_LIMITED_ERR_MESSAGE_PAGES;
  const logCalls = RATE_LIMITED_ACTION_LOG_CALLS;
  const k = RATE_LIMITED_CALLS_PER_ATTEMPT;
  const capped = { errMessagePages: pages, actionLogCalls: logCalls };

  it('k is the largest of the start (3) and a read with its capped ErrMessage and reasons lookups', () => {
    assert.equal(k, 3);
    assert.equal(maxApiCallsPerAttempt(pages, logCalls), 3);
    assert.equal(maxApiCallsPerAttempt(), 1 + ERR_MESSAGE_MAX_PAGES + ACTION_LOG_MAX_CALLS);
  });

  it('a failed start makes 3 calls: the status before, StartApsJob, the status after', async () => {
    const aps = new FakeAps();
    aps.describeAnswers = [S.suspended];
    aps.startAnswers = [S.err('InternalError', 'transient', { ambiguous: true, httpStatus: 500 })];
    const acts = createActivities({ aps, errMessagePages: pages });
    assert.equal(await callsOf(aps, () => acts.startApsJob(startInput)), 3);
    assert.deepEqual(
      aps.calls.map((c) => c.action),
      ['DescribeApsJobDetail', 'StartApsJob', 'DescribeApsJobDetail'],
    );
  });

  it('a start that goes on waiting makes no read in the same attempt without a waiter', async () => {
    const aps = new FakeAps();
    aps.describeAnswers = [S.suspended, S.starting];
    aps.startAnswers = [S.ok];
    const acts = createActivities({ aps, errMessagePages: pages });
    assert.equal(await callsOf(aps, () => acts.startApsJob(startInput)), 2);
  });

  it('a read of a failed job makes 1 + the capped ErrMessage pages + the capped reasons calls, in each activity that reads', async () => {
    const wait = failedJobInBigRegion();
    const waitActs = createActivities({ aps: wait, ...capped });
    assert.equal(await callsOf(wait, () => waitActs.waitForApsJob(waitInput)), 1 + pages + logCalls);
    assert.deepEqual(
      wait.actionLogInputs.map((i) => i.pageSize),
      [100],
      'one call, the largest page',
    );

    const check = failedJobInBigRegion();
    const checkActs = createActivities({ aps: check, ...capped });
    assert.equal(await callsOf(check, () => checkActs.checkApsJob(ref)), 1 + pages + logCalls);

    // A start attempt that resumes the wait of an earlier attempt (whose worker died) reads once
    // (the wait activity that follows reads the reasons).
    const resumed = failedJobInBigRegion();
    const resumedActs = createActivities({ aps: resumed, ...capped });
    const prior = {
      counters: {},
      startSent: true,
      statusBefore: 'Suspended',
      started: { started: true, status: 'Running', at: 1, statusBefore: 'Suspended' },
      wait: { counters: {}, polls: 3, leftBefore: true },
    };
    assert.equal(await callsOf(resumed, () => resumedActs.startApsJob(startInput), prior), 1 + pages);
    for (const aps of [wait, check, resumed]) assert.ok(aps.calls.length <= k);
  });

  it('without the caps the lookups read up to their defaults (the worker uses the caps under a limit)', async () => {
    const aps = failedJobInBigRegion();
    const acts = createActivities({ aps });
    assert.equal(
      await callsOf(aps, () => acts.waitForApsJob(waitInput)),
      1 + ERR_MESSAGE_MAX_PAGES + ACTION_LOG_MAX_CALLS,
    );
  });

  it('a suspend makes one call', async () => {
    const aps = new FakeAps();
    aps.suspendAnswers = [S.ok];
    const acts = createActivities({ aps, errMessagePages: pages });
    assert.equal(await callsOf(aps, () => acts.suspendApsJob(ref)), 1);
  });
});
