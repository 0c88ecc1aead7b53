import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { statusQuery, type JobFailureRecord, type OnJobFailure, type RunApsJobInput } from '../../src/api';
import { failureOf, startRun } from '../support/runs';
import { startStack, type Stack } from '../support/stack';
import { maybeRecordHistory } from '../support/histories';

const region = 'cn-hangzhou';
const newJobId = (): string => `aps-rs-${randomUUID().slice(0, 10)}`;
const fastRestarts: OnJobFailure = {
  restart: true,
  maxRestarts: 3,
  initialInterval: '100ms',
  backoffCoefficient: 2,
  maximumInterval: '1s',
};

/** Times of the StartApsJob calls for a job, in order. */
function startTimes(stack: Stack, apsJobId: string): number[] {
  return stack.emulator.requests({ action: 'StartApsJob', apsJobId }).map((r) => Date.parse(r.time));
}

describe('runApsJob onJobFailure: restarts with backoff (real dev server, real worker, emulator)', function () {
  this.timeout(120_000);
  let stack: Stack;
  before(async () => {
    stack = await startStack({ emulator: { seed: 21 } });
  });
  after(async () => {
    await stack?.stop();
  });

  it('restarts a job that fails twice, after growing backoffs, and ends running', async () => {
    const apsJobId = newJobId();
    // Each of the first two lives reads Failed at its first poll; the third stays Running.
    stack.emulator.addJob({
      apsJobId,
      regionId: region,
      kind: 'failing',
      failAfterPolls: 0,
      failuresBeforeHealthy: 2,
      errMessage: 'Kafka broker unreachable',
    });
    const handle = await startRun(stack, {
      regionId: region,
      apsJobId,
      pollInterval: '1s',
      // Each new life reads Failed at once, as a stale read of the old failure would: stoppedGrace
      // is how long that is doubted.
      stoppedGrace: '1s',
      onJobFailure: fastRestarts,
    });
    const result = await handle.result();
    assert.equal(result.status, 'Running');
    assert.equal(result.outcome, 'running');
    assert.equal(result.started, true);
    assert.equal(result.restarts.length, 2);
    assert.deepEqual(
      result.restarts.map((r) => [r.failure.status, r.failure.errMessage, r.backoffMs]),
      [
        ['Failed', 'Kafka broker unreachable', 100],
        ['Failed', 'Kafka broker unreachable', 200],
      ],
    );
    for (const r of result.restarts) {
      assert.ok(r.restartedAt && Date.parse(r.restartedAt) >= Date.parse(r.failure.at) + r.backoffMs - 5);
    }
    assert.equal(stack.emulator.effectiveStarts(apsJobId), 3);
    const times = startTimes(stack, apsJobId);
    assert.equal(times.length, 3);
    // Each restart came no sooner than its backoff after the previous start.
    assert.ok((times[1] as number) - (times[0] as number) >= 100, `gap 1 ${String(times)}`);
    assert.ok((times[2] as number) - (times[1] as number) >= 200, `gap 2 ${String(times)}`);

    const status = await handle.query(statusQuery);
    assert.equal(status.phase, 'done');
    assert.deepEqual(status.restarts, result.restarts);
    await maybeRecordHistory(handle, 'restart-twice');
  });

  it('fails with ApsJobFailed carrying every failure once the restart budget is spent', async () => {
    const apsJobId = newJobId();
    stack.emulator.addJob({
      apsJobId,
      regionId: region,
      kind: 'failing',
      failAfterPolls: 0,
      errMessage: 'disk full',
    });
    const handle = await startRun(stack, {
      regionId: region,
      apsJobId,
      pollInterval: '1s',
      // Each new life reads Failed at once, as a stale read of the old failure would: stoppedGrace
      // is how long that is doubted.
      stoppedGrace: '1s',
      onJobFailure: { ...fastRestarts, maxRestarts: 2 },
    });
    const failure = await failureOf(handle);
    assert.equal(failure.type, 'ApsJobFailed');
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /failed 3 times and its 2 restarts are spent/);
    const details = failure.details?.[0] as {
      status: string;
      errMessage: string;
      restarts: number;
      failures: JobFailureRecord[];
    };
    assert.equal(details.status, 'Failed');
    assert.equal(details.errMessage, 'disk full');
    assert.equal(details.restarts, 2);
    assert.deepEqual(
      details.failures.map((f) => [f.status, f.errMessage]),
      [
        ['Failed', 'disk full'],
        ['Failed', 'disk full'],
        ['Failed', 'disk full'],
      ],
    );
    // The chain ends at the wait activity's own failure.
    assert.ok(failure.cause instanceof ActivityFailure);
    assert.ok(failure.cause.cause instanceof ApplicationFailure);
    assert.equal(failure.cause.cause.type, 'ApsJobFailed');
    assert.equal(stack.emulator.effectiveStarts(apsJobId), 3);
    const status = await handle.query(statusQuery);
    assert.equal(status.phase, 'failed');
    assert.equal(status.restarts.length, 2);
    await maybeRecordHistory(handle, 'restart-budget-spent');
  });

  it('ends with ApsJobTimeout at once when the backoff would outlast the deadline (and suspends on request)', async () => {
    const apsJobId = newJobId();
    stack.emulator.addJob({ apsJobId, regionId: region, kind: 'failing', failAfterPolls: 0 });
    const t0 = Date.now();
    const handle = await startRun(stack, {
      regionId: region,
      apsJobId,
      pollInterval: '1s',
      timeout: '20s',
      onTimeout: 'suspend',
      onJobFailure: { restart: true, initialInterval: '30s', maximumInterval: '1m' },
    });
    const failure = await failureOf(handle);
    assert.ok(Date.now() - t0 < 15_000, 'failed well before the deadline');
    assert.equal(failure.type, 'ApsJobTimeout');
    const details = failure.details?.[0] as { lastStatus: string; failures: JobFailureRecord[] };
    assert.equal(details.lastStatus, 'Failed');
    assert.equal(details.failures.length, 1);
    assert.equal(stack.emulator.effectiveStarts(apsJobId), 1);
    assert.equal(stack.emulator.counters().byJob[apsJobId]?.SuspendApsJob, 1);
    await maybeRecordHistory(handle, 'restart-deadline');
  });

  it('with restart: false fails at once, as without onJobFailure', async () => {
    const apsJobId = newJobId();
    stack.emulator.addJob({ apsJobId, regionId: region, kind: 'failing', failAfterPolls: 0 });
    const handle = await startRun(stack, {
      regionId: region,
      apsJobId,
      pollInterval: '1s',
      onJobFailure: { ...fastRestarts, restart: false },
    });
    const failure = await failureOf(handle);
    assert.equal(failure.type, 'ApsJobFailed');
    const d = failure.details?.[0] as { actionLogs?: { context: string }[] } & Record<string, unknown>;
    assert.equal(d.status, 'Failed');
    assert.equal(d.errMessage, 'The source endpoint is unreachable (emulated failure).');
    assert.deepEqual(
      d.actionLogs?.map((l) => l.context),
      ['The source endpoint is unreachable (emulated failure).'],
    );
    assert.equal(stack.emulator.effectiveStarts(apsJobId), 1);
  });

  describe('bad onJobFailure: fails with InvalidWorkflowInput naming the field, before any API call', () => {
    const good = { regionId: region, apsJobId: 'aps-valid1' };
    const cases: [string, unknown, string][] = [
      ['not an object', 'restart', 'onJobFailure'],
      ['restart missing', { maxRestarts: 2 }, 'onJobFailure.restart'],
      ['negative maxRestarts', { restart: true, maxRestarts: -1 }, 'onJobFailure.maxRestarts'],
      ['fractional maxRestarts', { restart: true, maxRestarts: 1.5 }, 'onJobFailure.maxRestarts'],
      ['bad initialInterval', { restart: true, initialInterval: 'soon' }, 'onJobFailure.initialInterval'],
      ['coefficient below 1', { restart: true, backoffCoefficient: 0.5 }, 'onJobFailure.backoffCoefficient'],
      [
        'maximum below initial',
        { restart: true, initialInterval: '1m', maximumInterval: '10s' },
        'onJobFailure.maximumInterval',
      ],
      ['a typo', { restart: true, maxRestart: 2 }, 'onJobFailure.maxRestart'],
    ];
    for (const [name, onJobFailure, field] of cases) {
      it(name, async () => {
        const before = stack.emulator.counters().requests;
        const handle = await startRun(stack, { ...good, onJobFailure } as RunApsJobInput);
        const failure = await failureOf(handle);
        assert.equal(failure.type, 'InvalidWorkflowInput');
        assert.ok(failure.message.includes(field), `message "${failure.message}" should name ${field}`);
        assert.equal((failure.details?.[0] as { field: string }).field, field);
        assert.equal(stack.emulator.counters().requests, before);
      });
    }
  });
});
