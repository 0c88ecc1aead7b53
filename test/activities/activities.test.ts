import { strict as assert } from 'node:assert';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities, type StartApsJobInput, type WaitForApsJobInput } from '../../src/activities';
import { FakeAps, S } from '../support/fake-aps';

const noop = (): void => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop };
const ref = { regionId: 'cn-hangzhou', apsJobId: 'aps-unit-1' };
const startInput: StartApsJobInput = { ...ref, target: 'running', settleMs: 60_000, settleIntervalMs: 1000 };
const waitInput: WaitForApsJobInput = {
  ...ref,
  target: 'running',
  pollIntervalMs: 30_000,
  stoppedGraceMs: 60_000,
};

/** Runs one activity attempt in a mock context; returns the result or the failure and the heartbeats. */
async function attempt<T>(
  fn: () => Promise<T>,
  info: { attempt?: number; heartbeatDetails?: unknown } = {},
): Promise<{ result?: T; failure?: ApplicationFailure; heartbeats: unknown[] }> {
  const env = new MockActivityEnvironment(
    { attempt: info.attempt ?? 1, heartbeatDetails: info.heartbeatDetails },
    { logger: quietLogger },
  );
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => heartbeats.push(d));
  try {
    return { result: await env.run(fn), heartbeats };
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
    return { failure: err, heartbeats };
  }
}

describe('activities (unit, fake ApsApi)', () => {
  describe('startApsJob', () => {
    it('reattaches to a running job without calling StartApsJob', async () => {
      const aps = new FakeAps();
      aps.describeAnswers = [S.running];
      const acts = createActivities({ aps });
      const { result } = await attempt(() => acts.startApsJob(startInput));
      assert.equal(result?.started, false);
      assert.equal(result?.status, 'Running');
      assert.equal(aps.count('StartApsJob'), 0);
    });

    it('starts a suspended job once and records the start before sending it', async () => {
      const aps = new FakeAps();
      aps.describeAnswers = [S.suspended];
      aps.startAnswers = [S.ok];
      const acts = createActivities({ aps });
      const { result, heartbeats } = await attempt(() => acts.startApsJob(startInput));
      assert.equal(result?.started, true);
      assert.ok(result?.requestId);
      assert.equal(aps.count('StartApsJob'), 1);
      assert.deepEqual(heartbeats, [{ counters: {}, startSent: true, statusBefore: 'Suspended' }]);
    });

    it('counts an ambiguous failure as started when the job reads running afterwards', async () => {
      const aps = new FakeAps();
      aps.describeAnswers = [S.suspended, S.running];
      aps.startAnswers = [S.err('ReadTimeout', 'transient', { ambiguous: true })];
      const acts = createActivities({ aps });
      const { result } = await attempt(() => acts.startApsJob(startInput));
      assert.equal(result?.started, true);
      assert.equal(aps.count('StartApsJob'), 1);
      assert.equal(aps.count('DescribeApsJobDetail'), 2);
    });

    it('does not start again after an earlier attempt sent a start and the job is starting', async () => {
      const aps = new FakeAps();
      aps.describeAnswers = [S.starting];
      const acts = createActivities({ aps });
      const { result } = await attempt(() => acts.startApsJob(startInput), {
        attempt: 2,
        heartbeatDetails: { counters: {}, startSent: true },
      });
      assert.equal(result?.started, true);
      assert.equal(aps.count('StartApsJob'), 0);
    });

    it('does not start again a job that failed after an earlier attempt sent a start', async () => {
      const aps = new FakeAps();
      aps.describeAnswers = [S.failed];
      const acts = createActivities({ aps });
      const { result } = await attempt(() => acts.startApsJob(startInput), {
        attempt: 2,
        heartbeatDetails: { counters: {}, startSent: true },
      });
      assert.equal(result?.started, true);
      assert.equal(result?.status, 'Failed');
      assert.equal(aps.count('StartApsJob'), 0);
    });

    it('starts a failed job when no earlier attempt sent a start', async () => {
      const aps = new FakeAps();
      aps.describeAnswers = [S.failed];
      aps.startAnswers = [S.ok];
      const acts = createActivities({ aps });
      const { result } = await attempt(() => acts.startApsJob(startInput));
      assert.equal(result?.started, true);
      assert.equal(aps.count('StartApsJob'), 1);
    });

    it('waits (BENIGN, short delay) on a transitional job it did not start', async () => {
      const aps = new FakeAps();
      aps.describeAnswers = [S.starting];
      const acts = createActivities({ aps });
      const { failure } = await attempt(() => acts.startApsJob(startInput));
      assert.equal(failure?.type, 'ApsJobNotReady');
      assert.equal(failure?.category, 'BENIGN');
      assert.equal(failure?.nonRetryable, false);
      assert.equal(aps.count('StartApsJob'), 0);
    });

    it('fails a throttled start with a delay, saves the rule counters, and knows nothing started', async () => {
      const aps = new FakeAps();
      aps.describeAnswers = [S.suspended];
      aps.startAnswers = [S.err('Throttling.User', 'throttled', { httpStatus: 400 })];
      const acts = createActivities({ aps, now: () => 1_000_000, random: () => 0.5 });
      const { failure, heartbeats } = await attempt(() => acts.startApsJob(startInput));
      assert.equal(failure?.type, 'Throttling.User');
      assert.equal(failure?.nonRetryable, false);
      assert.ok(failure?.nextRetryDelay !== undefined && failure.nextRetryDelay !== null);
      const last = heartbeats.at(-1) as { startSent: boolean; counters: Record<string, { retries: number }> };
      // A definite answer (throttled) means the start did not happen.
      assert.equal(last.startSent, false);
      const counters = Object.values(last.counters);
      assert.equal(counters.length, 1);
      assert.equal(counters[0]?.retries, 1);
      // Throttled: no extra describe after the failure (it would only add load).
      assert.equal(aps.count('DescribeApsJobDetail'), 1);
    });

    it('fails a permanent error at once, non-retryable, with its code', async () => {
      const aps = new FakeAps();
      aps.describeAnswers = [S.err('InvalidInput', 'permanent', { httpStatus: 400 })];
      const acts = createActivities({ aps });
      const { failure } = await attempt(() => acts.startApsJob(startInput));
      assert.equal(failure?.type, 'InvalidInput');
      assert.equal(failure?.nonRetryable, true);
      assert.equal(aps.calls.length, 1);
    });

    it('rejects a bad job ID before any call, naming the field', async () => {
      const aps = new FakeAps();
      const acts = createActivities({ aps });
      const { failure } = await attempt(() => acts.startApsJob({ ...startInput, apsJobId: 'has space' }));
      assert.equal(failure?.type, 'InvalidWorkflowInput');
      assert.match(failure?.message ?? '', /apsJobId/);
      assert.equal(aps.calls.length, 0);
    });
    it('watches a job that still reads its old COMPLETED after an ambiguous start, then starts it again', async () => {
      const aps = new FakeAps();
      aps.describeAnswers = [S.completed];
      aps.startAnswers = [S.ok];
      let t = 1_000_000;
      const acts = createActivities({ aps, now: () => t });
      const sent = { counters: {}, startSent: true, statusBefore: 'COMPLETED' };
      const first = await attempt(() => acts.startApsJob({ ...startInput, target: 'completed' }), {
        attempt: 2,
        heartbeatDetails: sent,
      });
      assert.equal(first.failure?.type, 'ApsJobNotReady');
      assert.equal(first.failure?.nextRetryDelay, startInput.settleIntervalMs);
      assert.equal(aps.count('StartApsJob'), 0, 'the same old status is no proof of a start, nor of none');
      t += startInput.settleMs;
      const second = await attempt(() => acts.startApsJob({ ...startInput, target: 'completed' }), {
        attempt: 3,
        heartbeatDetails: first.heartbeats.at(-1),
      });
      assert.equal(second.result?.started, true);
      assert.equal(second.result?.statusBefore, 'COMPLETED');
      assert.equal(aps.count('StartApsJob'), 1);
    });

    it('counts a job that left its old status after an ambiguous start as started by us', async () => {
      const aps = new FakeAps();
      aps.describeAnswers = [S.failed];
      const acts = createActivities({ aps });
      const { result } = await attempt(() => acts.startApsJob(startInput), {
        attempt: 2,
        heartbeatDetails: { counters: {}, startSent: true, statusBefore: 'Suspended' },
      });
      assert.equal(result?.started, true);
      assert.equal(result?.statusBefore, 'Suspended');
      assert.equal(aps.count('StartApsJob'), 0);
    });

    it('watches a job in an unknown status before starting it, and reports the status once', async () => {
      const aps = new FakeAps();
      aps.describeAnswers = [{ status: 'Failover', class: 'unknown' }];
      const seen: string[] = [];
      const acts = createActivities({ aps, observers: { onUnknownStatus: (e) => seen.push(e.status) } });
      const first = await attempt(() => acts.startApsJob(startInput));
      assert.equal(first.failure?.type, 'ApsJobNotReady');
      const second = await attempt(() => acts.startApsJob(startInput), {
        attempt: 2,
        heartbeatDetails: first.heartbeats.at(-1),
      });
      assert.equal(second.failure?.type, 'ApsJobNotReady');
      assert.equal(aps.count('StartApsJob'), 0);
      assert.deepEqual(seen, ['Failover']);
    });

    it('sends no start once the run deadline (notAfter) has passed', async () => {
      const aps = new FakeAps();
      aps.describeAnswers = [S.suspended];
      aps.startAnswers = [S.ok];
      const acts = createActivities({ aps, now: () => 2_000 });
      const { failure } = await attempt(() => acts.startApsJob({ ...startInput, notAfter: 1_000 }));
      assert.equal(failure?.type, 'ApsJobTimeout');
      assert.equal(failure?.nonRetryable, true);
      assert.equal(aps.count('StartApsJob'), 0);
      assert.equal(aps.count('DescribeApsJobDetail'), 0);
    });
  });

  describe('waitForApsJob', () => {
    it('returns at the target with the attempt number as the poll count', async () => {
      const aps = new FakeAps();
      aps.describeAnswers = [S.running];
      const acts = createActivities({ aps });
      const { result } = await attempt(() => acts.waitForApsJob(waitInput), { attempt: 7 });
      assert.equal(result?.status, 'Running');
      assert.equal(result?.polls, 7);
    });

    it('keeps waiting for completed while the job runs: BENIGN with the poll interval', async () => {
      const aps = new FakeAps();
      aps.describeAnswers = [S.running];
      const acts = createActivities({ aps });
      const { failure } = await attempt(() => acts.waitForApsJob({ ...waitInput, target: 'completed' }));
      assert.equal(failure?.type, 'ApsJobNotReady');
      assert.equal(failure?.category, 'BENIGN');
      assert.equal(failure?.nextRetryDelay, 30_000);
    });

    it('fails with ApsJobFailed carrying the raw status and the ErrMessage', async () => {
      const aps = new FakeAps();
      aps.describeAnswers = [S.failed];
      aps.listResult = {
        jobs: [
          {
            apsJobId: ref.apsJobId,
            status: { raw: 'Failed', class: 'failed' },
            errMessage: 'source unreachable',
          },
        ],
        pageNumber: 1,
        pageSize: 100,
        totalCount: 1,
        raw: {},
      };
      const acts = createActivities({ aps });
      const { failure } = await attempt(() => acts.waitForApsJob(waitInput));
      assert.equal(failure?.type, 'ApsJobFailed');
      assert.equal(failure?.nonRetryable, true);
      assert.deepEqual(failure?.details?.[0], {
        status: 'Failed',
        errMessage: 'source unreachable',
        // The fake's DescribeApsActionLogs has no lines; the link names the detail's cluster.
        actionLogs: [],
        consoleUrl: 'https://adb.console.aliyun.com/adb/cn-hangzhou/mysql/cluster/amv-fake/basicInfo',
      });
    });

    it('tolerates a stopped status within the grace period, then fails with ApsJobStopped', async () => {
      const aps = new FakeAps();
      aps.describeAnswers = [S.suspended];
      let t = 1_000_000;
      const acts = createActivities({ aps, now: () => t });
      const first = await attempt(() => acts.waitForApsJob(waitInput));
      assert.equal(first.failure?.type, 'ApsJobNotReady');
      const saved = first.heartbeats.at(-1);
      t += 60_000;
      const second = await attempt(() => acts.waitForApsJob(waitInput), {
        attempt: 2,
        heartbeatDetails: saved,
      });
      assert.equal(second.failure?.type, 'ApsJobStopped');
      assert.equal(second.failure?.nonRetryable, true);
    });

    it('slows polling down on throttling: the delay is never below the poll interval', async () => {
      const aps = new FakeAps();
      aps.describeAnswers = [S.err('Throttling.Api', 'throttled')];
      const acts = createActivities({ aps, random: () => 0 });
      const { failure } = await attempt(() => acts.waitForApsJob(waitInput));
      assert.equal(failure?.type, 'Throttling.Api');
      assert.equal(failure?.nonRetryable, false);
      assert.ok(Number(failure?.nextRetryDelay) >= 30_000, `delay ${String(failure?.nextRetryDelay)}`);
    });

    it('resets rule budgets after a good read', async () => {
      const aps = new FakeAps();
      aps.describeAnswers = [S.starting];
      const acts = createActivities({ aps });
      const { heartbeats } = await attempt(() => acts.waitForApsJob(waitInput), {
        attempt: 3,
        heartbeatDetails: { counters: { 'default:transient': { retries: 2, firstFailureAt: 1 } } },
      });
      assert.deepEqual((heartbeats.at(-1) as { counters: unknown }).counters, {});
    });

    it('rides out an outage of an hour while waiting: transient errors are bounded by waitOutage, not a count', async () => {
      const aps = new FakeAps();
      aps.describeAnswers = [S.err('ServiceUnavailable', 'transient', { httpStatus: 503, ambiguous: true })];
      let t = 1_000_000;
      const acts = createActivities({ aps, now: () => t, random: () => 1 });
      const input = { ...waitInput, waitOutageMs: 3_600_000 };
      let details: unknown;
      // 60 failed reads a minute apart: far past the transient rule's 8 retries, within the hour.
      for (let n = 1; n <= 60; n++) {
        const { failure, heartbeats } = await attempt(() => acts.waitForApsJob(input), {
          attempt: n,
          heartbeatDetails: details,
        });
        assert.equal(failure?.type, 'ServiceUnavailable');
        assert.equal(failure?.nonRetryable, false, `read ${n} ended the wait`);
        assert.ok(Number(failure?.nextRetryDelay) >= waitInput.pollIntervalMs);
        details = heartbeats.at(-1);
        t += 60_000;
      }
      const last = await attempt(() => acts.waitForApsJob(input), { attempt: 61, heartbeatDetails: details });
      assert.equal(last.failure?.type, 'ServiceUnavailable');
      assert.equal(last.failure?.nonRetryable, true, 'an outage past waitOutage ends the wait');
      assert.match(last.failure?.message ?? '', /wait-outage/);
    });

    it('does not trust the old COMPLETED right after our start until the job leaves it or the grace passes', async () => {
      const aps = new FakeAps();
      aps.describeAnswers = [S.completed];
      let t = 1_000_000;
      const acts = createActivities({ aps, now: () => t });
      const input: WaitForApsJobInput = { ...waitInput, target: 'completed', statusBefore: 'COMPLETED' };
      const first = await attempt(() => acts.waitForApsJob(input));
      assert.equal(first.failure?.type, 'ApsJobNotReady');
      t += waitInput.stoppedGraceMs;
      const second = await attempt(() => acts.waitForApsJob(input), {
        attempt: 2,
        heartbeatDetails: first.heartbeats.at(-1),
      });
      assert.equal(second.result?.status, 'COMPLETED');
    });

    it('trusts COMPLETED once the job was seen leaving its old status', async () => {
      const aps = new FakeAps();
      aps.describeAnswers = [S.running, S.completed];
      const acts = createActivities({ aps });
      const input: WaitForApsJobInput = { ...waitInput, target: 'completed', statusBefore: 'COMPLETED' };
      const first = await attempt(() => acts.waitForApsJob(input));
      assert.equal(first.failure?.type, 'ApsJobNotReady');
      const second = await attempt(() => acts.waitForApsJob(input), {
        attempt: 2,
        heartbeatDetails: first.heartbeats.at(-1),
      });
      assert.equal(second.result?.status, 'COMPLETED');
    });
  });
});
