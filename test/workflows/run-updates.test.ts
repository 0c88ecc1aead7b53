/**
 * Updates of a runApsJob in flight: setPollInterval, setDeadline, extendDeadline and setOnCancel.
 * A wait in flight is re-scheduled (cancelled, and resumed from the state it hands back), a start
 * in flight never is; bad values are refused by the validators and leave no event.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, defaultPayloadConverter } from '@temporalio/common';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import { Worker } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import {
  extendDeadlineUpdate,
  setDeadlineUpdate,
  setOnCancelUpdate,
  setPollIntervalUpdate,
  statusQuery,
  type RunApsJobInput,
} from '../../src/api';
import { createActivities, type WaitHandBack, type WaitResume } from '../../src/activities';
import { createApsApi } from '../../src/aps/client';
import { startEmulator } from '../../src/emulator';
import { createInProcessWaiter } from '../../src/run-worker';
import { runApsJob } from '../../src/workflows/run-aps-job';
import { testEnv, uniqueTaskQueue } from '../support/env';
import { maybeRecordHistory } from '../support/histories';
import { failureOf, startRun } from '../support/runs';
import {
  eventually,
  livePhase,
  startStack,
  workflowBundle,
  type Stack,
  readsAfterStart,
} from '../support/stack';

const region = 'cn-hangzhou';
const newJobId = (): string => `aps-upd-${randomUUID().slice(0, 8)}`;

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const gapsOf = (times: number[]): number[] => times.slice(1).map((t, i) => t - times[i]!);

const eventMs = (e: HistoryEvent): number => optionalTsToMs(e.eventTime) ?? 0;

/** The activities of a history: type, input, scheduled time, and how each ended. */
async function activitiesOf(handle: WorkflowHandle) {
  const events = (await handle.fetchHistory()).events ?? [];
  const byId = new Map<
    string,
    {
      type: string;
      input: unknown;
      scheduledAt: number;
      cancelRequested: boolean;
      ended?: string;
      cancelDetails?: unknown;
    }
  >();
  for (const e of events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) {
      const payload = s.input?.payloads?.[0];
      byId.set(String(e.eventId), {
        type: s.activityType?.name ?? '',
        input: payload ? defaultPayloadConverter.fromPayload(payload) : undefined,
        scheduledAt: eventMs(e),
        cancelRequested: false,
      });
    }
    const cr = e.activityTaskCancelRequestedEventAttributes;
    if (cr) byId.get(String(cr.scheduledEventId))!.cancelRequested = true;
    const c = e.activityTaskCanceledEventAttributes;
    if (c) {
      const a = byId.get(String(c.scheduledEventId))!;
      a.ended = 'canceled';
      const payload = c.details?.payloads?.[0];
      a.cancelDetails = payload ? defaultPayloadConverter.fromPayload(payload) : undefined;
    }
    if (e.activityTaskCompletedEventAttributes)
      byId.get(String(e.activityTaskCompletedEventAttributes.scheduledEventId))!.ended = 'completed';
    if (e.activityTaskFailedEventAttributes)
      byId.get(String(e.activityTaskFailedEventAttributes.scheduledEventId))!.ended = 'failed';
    if (e.activityTaskTimedOutEventAttributes)
      byId.get(String(e.activityTaskTimedOutEventAttributes.scheduledEventId))!.ended = 'timed-out';
  }
  return { activities: [...byId.values()], events };
}

/** The failure an update was refused with. */
async function refusal(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => assert.fail('expected the update to be refused'),
    (e: unknown) => e,
  );
  assert.ok(
    err instanceof WorkflowUpdateFailedError,
    `expected WorkflowUpdateFailedError, got ${String(err)}`,
  );
  assert.ok(err.cause instanceof ApplicationFailure, `cause ${String(err.cause)}`);
  return err.cause;
}

/**
 * Checks the reads of a run whose poll interval went from 1 s to 2 s: at about 1 s from `from`
 * until the update was sent, and at 2 s (never sooner) once the re-scheduled wait reads.
 */
function assertIntervals(reads: number[], from: number, updateSentAt: number, rescheduledAt: number): void {
  const before = reads.filter((t) => t >= from && t <= updateSentAt);
  const after = reads.filter((t) => t >= rescheduledAt);
  assert.ok(before.length >= 3, `reads before the update: ${before.length}`);
  assert.ok(after.length >= 3, `reads after the re-schedule: ${after.length}`);
  for (const gap of gapsOf(before)) assert.ok(gap >= 900 && gap < 1700, `gap before the update: ${gap} ms`);
  for (const gap of gapsOf(after))
    assert.ok(gap >= 1950 && gap < 3000, `gap after the re-schedule: ${gap} ms`);
}

describe('runApsJob updates (real dev server, real workers, emulator)', function () {
  this.timeout(180_000);

  describe('setPollInterval re-schedules the wait in flight', () => {
    it('a wait held in process: cancelled, it hands back its state; reads go from 1 s to 2 s, none lost or counted twice, a stale COMPLETED still distrusted', async () => {
      // Two workers on one queue, one after the other: the first holds the start's own wait and
      // hands it back when it shuts down, so that the second holds a wait activity in process.
      const emulator = await startEmulator({ seed: 41 });
      const key = emulator.credentials[0]!;
      const aps = createApsApi({
        credentials: {
          kind: 'access-key',
          accessKeyId: key.accessKeyId,
          accessKeySecret: key.accessKeySecret,
        },
        endpoint: emulator.endpoint,
        protocol: 'http',
        connectTimeoutMs: 2000,
        readTimeoutMs: 2000,
      });
      const taskQueue = uniqueTaskQueue('upd-held');
      const newWorker = async () => {
        const waiter = createInProcessWaiter(testEnv().nativeConnection, 'default');
        const worker = await Worker.create({
          connection: testEnv().nativeConnection,
          taskQueue,
          workflowBundle: await workflowBundle(),
          activities: createActivities({ aps, waiter }),
        });
        return { worker, waiter, running: worker.run() };
      };
      const first = await newWorker();
      let second: Awaited<ReturnType<typeof newWorker>> | undefined;
      try {
        const apsJobId = newJobId();
        // Completed before our start; the replica answers that old COMPLETED for 12 reads after it,
        // then the job runs for 3 reads and completes.
        emulator.addJob({
          apsJobId,
          regionId: region,
          kind: 'batch',
          initialStatus: 'COMPLETED',
          staleReadsAfterStart: 12,
          runningPollsToComplete: 3,
        });
        const handle = await testEnv().client.workflow.start(runApsJob, {
          taskQueue,
          workflowId: `upd-held-${randomUUID()}`,
          args: [
            { regionId: region, apsJobId, target: 'completed', pollInterval: '1s', stoppedGrace: '10m' },
          ],
        });
        await eventually(
          () => readsAfterStart(emulator, apsJobId).length >= 1,
          30_000,
          'a read of the start',
        );
        first.worker.shutdown();
        await first.running;
        await first.waiter.close();
        second = await newWorker();
        const heldBySecond = second.waiter;
        await eventually(
          () => heldBySecond.stats().waiting === 1,
          30_000,
          'the wait held by the second worker',
        );
        const heldAt = Date.now();
        const readsHeld = readsAfterStart(emulator, apsJobId).length;
        await eventually(
          () => readsAfterStart(emulator, apsJobId).length >= readsHeld + 4,
          30_000,
          'four reads',
        );
        const readsAtUpdate = readsAfterStart(emulator, apsJobId).length;
        assert.ok(readsAtUpdate <= 10, `still reading the stale COMPLETED: ${readsAtUpdate} reads`);

        const updateSentAt = Date.now();
        const status = await handle.executeUpdate(setPollIntervalUpdate, { args: [{ pollInterval: '2s' }] });
        assert.equal(status.pollIntervalMs, 2000);
        assert.equal(status.phase, 'waiting');

        const result = await handle.result();
        assert.equal(result.status, 'COMPLETED');
        const reads = readsAfterStart(emulator, apsJobId);
        // 12 stale reads, 3 running, 1 completed: the old COMPLETED was never taken for the end.
        assert.equal(reads.length, 16, `reads ${reads.length}`);
        assert.equal(result.polls, reads.length, `polls ${result.polls}, reads ${reads.length}`);
        assert.equal(emulator.calls({ action: 'StartApsJob', apsJobId }), 1);

        const { activities } = await activitiesOf(handle);
        const starts = activities.filter((a) => a.type === 'startApsJob');
        assert.equal(starts.length, 1);
        assert.equal(starts[0]!.cancelRequested, false, 'the start is never cancelled');
        const waits = activities.filter((a) => a.type === 'waitForApsJob');
        assert.equal(waits.length, 2, 'one wait, re-scheduled once');
        const [old, rescheduled] = waits as [(typeof waits)[0], (typeof waits)[0]];
        // The held wait ended as cancelled, its state in the cancellation's details.
        assert.equal(old.ended, 'canceled');
        const handBack = old.cancelDetails as WaitHandBack;
        assert.ok(handBack?.resume, `cancel details ${JSON.stringify(old.cancelDetails)}`);
        const resume = (rescheduled.input as { resume: WaitResume; statusBefore?: string }).resume;
        assert.equal((rescheduled.input as { statusBefore?: string }).statusBefore, 'COMPLETED');
        assert.equal(resume.polls, handBack.resume.polls);
        assert.equal(resume.staleSince, handBack.resume.staleSince);
        assert.ok(resume.staleSince !== undefined, 'the stale-read watch goes on');
        assert.ok(Math.abs(resume.staleSince - reads[0]!) < 1000, 'since the first stale read');
        assert.equal(
          reads.filter((t) => t < rescheduled.scheduledAt).length,
          resume.polls,
          'the reads before the re-schedule are the reads handed back',
        );
        assertIntervals(reads, heldAt, updateSentAt, rescheduled.scheduledAt);
        await maybeRecordHistory(handle, 'update-poll-interval-held-wait');
      } finally {
        for (const w of [first, second]) {
          if (!w) continue;
          if (w.worker.getState() === 'RUNNING') w.worker.shutdown();
          await w.running;
          await w.waiter.close();
        }
        await emulator.close();
      }
    });

    it('a wait between attempts on the server (no in-process waiter): resumed from the state it left there', async () => {
      const stack = await startStack({ emulator: { seed: 42 }, inProcessWaits: false });
      try {
        const apsJobId = newJobId();
        stack.emulator.addJob({
          apsJobId,
          regionId: region,
          kind: 'batch',
          initialStatus: 'COMPLETED',
          staleReadsAfterStart: 8,
          runningPollsToComplete: 3,
        });
        const handle = await startRun(stack, {
          regionId: region,
          apsJobId,
          target: 'completed',
          pollInterval: '1s',
          stoppedGrace: '10m',
        });
        await eventually(() => readsAfterStart(stack.emulator, apsJobId).length >= 4, 30_000, 'four reads');
        const updateSentAt = Date.now();
        const status = await handle.executeUpdate(setPollIntervalUpdate, { args: [{ pollInterval: '2s' }] });
        assert.equal(status.pollIntervalMs, 2000);
        const result = await handle.result();
        assert.equal(result.status, 'COMPLETED');
        const reads = readsAfterStart(stack.emulator, apsJobId);
        assert.equal(reads.length, 12, `reads ${reads.length}`);
        assert.equal(result.polls, reads.length);

        const { activities } = await activitiesOf(handle);
        const waits = activities.filter((a) => a.type === 'waitForApsJob');
        assert.equal(waits.length, 2);
        const rescheduled = waits[1]!;
        const resume = (rescheduled.input as { resume: WaitResume }).resume;
        assert.equal(resume.polls, reads.filter((t) => t < rescheduled.scheduledAt).length);
        assert.ok(resume.staleSince !== undefined, 'the stale-read watch goes on');
        assert.deepEqual(
          activities.filter((a) => a.type === 'readPendingWait').map((a) => a.ended),
          ['completed'],
        );
        assertIntervals(reads, 0, updateSentAt, rescheduled.scheduledAt);
        await maybeRecordHistory(handle, 'update-poll-interval-between-attempts');
      } finally {
        await stack.stop();
      }
    });
  });

  describe('while the job is started', () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack({ emulator: { seed: 43 }, readTimeoutMs: 10_000 });
    });
    after(async () => {
      await stack?.stop();
    });

    it('an update during the StartApsJob call cancels nothing: one StartApsJob, and the wait after it reads at the new interval', async () => {
      const apsJobId = newJobId();
      stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming', startingMs: 14_000 });
      stack.emulator.injectFault({ kind: 'latency', latencyMs: 4000, action: 'StartApsJob', apsJobId });
      const handle = await startRun(stack, { regionId: region, apsJobId, pollInterval: '1s' });
      await eventually(
        () => stack.emulator.inFlight({ action: 'StartApsJob', apsJobId }) === 1,
        20_000,
        'the start call',
      );
      const status = await handle.executeUpdate(setPollIntervalUpdate, { args: [{ pollInterval: '2s' }] });
      assert.equal(status.phase, 'starting');
      assert.equal(status.pollIntervalMs, 2000);

      const result = await handle.result();
      assert.equal(result.status, 'Running');
      assert.equal(result.started, true);
      assert.equal(stack.emulator.calls({ action: 'StartApsJob', apsJobId }), 1);
      assert.equal(stack.emulator.effectiveStarts(apsJobId), 1);
      const reads = readsAfterStart(stack.emulator, apsJobId);
      assert.equal(result.polls, reads.length);
      const { activities } = await activitiesOf(handle);
      assert.equal(activities.filter((a) => a.cancelRequested).length, 0, 'nothing was cancelled');
      // The start's own wait was handed back once its worker held it; the wait after it reads at 2 s.
      const waits = activities.filter((a) => a.type === 'waitForApsJob');
      assert.equal(waits.length, 1);
      const after = reads.filter((t) => t >= waits[0]!.scheduledAt);
      assert.ok(after.length >= 3, `reads of the wait: ${after.length}`);
      for (const gap of gapsOf(after)) assert.ok(gap >= 1950 && gap < 3000, `gap ${gap} ms`);
    });

    it("an update during the start's own wait hands that wait back without cancelling the start", async () => {
      const apsJobId = newJobId();
      stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming', startingMs: 14_000 });
      const handle = await startRun(stack, { regionId: region, apsJobId, pollInterval: '1s' });
      await eventually(() => readsAfterStart(stack.emulator, apsJobId).length >= 3, 20_000, 'three reads');
      const updateSentAt = Date.now();
      await handle.executeUpdate(setPollIntervalUpdate, { args: [{ pollInterval: '2s' }] });
      const result = await handle.result();
      assert.equal(result.status, 'Running');
      assert.equal(stack.emulator.calls({ action: 'StartApsJob', apsJobId }), 1);
      const reads = readsAfterStart(stack.emulator, apsJobId);
      assert.equal(result.polls, reads.length);
      const { activities } = await activitiesOf(handle);
      assert.equal(activities.filter((a) => a.cancelRequested).length, 0, 'nothing was cancelled');
      const start = activities.find((a) => a.type === 'startApsJob')!;
      assert.equal(start.ended, 'completed');
      const waits = activities.filter((a) => a.type === 'waitForApsJob');
      assert.equal(waits.length, 1, 'the start handed its wait back');
      assertIntervals(reads, 0, updateSentAt, waits[0]!.scheduledAt);
      // The first read of the wait after the start comes the new interval after the start's last.
      const firstOfWait = reads.findIndex((t) => t >= waits[0]!.scheduledAt);
      const handOverGap = reads[firstOfWait]! - reads[firstOfWait - 1]!;
      assert.ok(handOverGap >= 1950 && handOverGap < 3000, `gap at the hand-over: ${handOverGap} ms`);
      await maybeRecordHistory(handle, 'update-poll-interval-during-start');
    });
  });

  describe('setDeadline and extendDeadline', () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack({ emulator: { seed: 44 } });
    });
    after(async () => {
      await stack?.stop();
    });

    it('extendDeadline lets a run that would time out reach its target', async () => {
      const apsJobId = newJobId();
      // Starting for 30 s against a 12 s timeout: without the update the run times out. The 12 s
      // leave a loaded machine time to see the run waiting before its old deadline.
      stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming', startingMs: 30_000 });
      const handle = await startRun(stack, {
        regionId: region,
        apsJobId,
        pollInterval: '1s',
        timeout: '12s',
      });
      await eventually(async () => (await livePhase(handle)) === 'waiting', 20_000, 'waiting');
      const before = await handle.query(statusQuery);
      const status = await handle.executeUpdate(extendDeadlineUpdate, { args: [{ by: '1m' }] });
      assert.equal(Date.parse(status.deadline) - Date.parse(before.deadline), 60_000);
      const result = await handle.result();
      assert.equal(result.status, 'Running');
      assert.equal(stack.emulator.calls({ action: 'StartApsJob', apsJobId }), 1);
      assert.equal(result.polls, readsAfterStart(stack.emulator, apsJobId).length);
      assert.equal((await handle.query(statusQuery)).deadline, status.deadline);
      await maybeRecordHistory(handle, 'update-extend-deadline');
    });

    it('setDeadline earlier ends the run at the new deadline with ApsJobTimeout, and suspends the job as onTimeout says', async () => {
      const apsJobId = newJobId();
      stack.emulator.addJob({ apsJobId, regionId: region, kind: 'batch', runningPollsToComplete: 1_000_000 });
      const handle = await startRun(stack, {
        regionId: region,
        apsJobId,
        target: 'completed',
        pollInterval: '1s',
        timeout: '1h',
        onTimeout: 'suspend',
      });
      await eventually(async () => (await livePhase(handle)) === 'waiting', 20_000, 'waiting');
      const deadline = new Date(Date.now() + 6000).toISOString();
      const status = await handle.executeUpdate(setDeadlineUpdate, { args: [{ deadline }] });
      assert.equal(status.deadline, deadline);
      const failure = await failureOf(handle);
      const endedAt = Date.now();
      assert.equal(failure.type, 'ApsJobTimeout');
      assert.match(
        failure.message,
        new RegExp(`by ${deadline.replace(/[.]/g, '\\.')}, its deadline as moved by an update`),
      );
      assert.equal((failure.details?.[0] as { deadline?: string }).deadline, deadline);
      assert.ok(
        endedAt - Date.parse(deadline) < 8000,
        `ended ${endedAt - Date.parse(deadline)} ms after the deadline`,
      );
      assert.equal(stack.emulator.counters().byJob[apsJobId]?.SuspendApsJob, 1);
      assert.equal(stack.emulator.job(apsJobId)?.status, 'Suspended');
      // No read after the deadline, beyond the one that may have been in flight.
      const late = readsAfterStart(stack.emulator, apsJobId).filter((t) => t > Date.parse(deadline) + 1500);
      assert.deepEqual(late, []);
      await maybeRecordHistory(handle, 'update-set-deadline-earlier');
    });

    it('setDeadline during the backoff before a restart ends the run at the new deadline, not after the backoff', async () => {
      const apsJobId = newJobId();
      stack.emulator.addJob({ apsJobId, regionId: region, kind: 'failing', failAfterPolls: 0 });
      const handle = await startRun(stack, {
        regionId: region,
        apsJobId,
        pollInterval: '1s',
        onJobFailure: { restart: true, initialInterval: '1m' },
      });
      await eventually(
        async () => (await handle.query(statusQuery)).phase === 'backing-off',
        30_000,
        'backoff',
      );
      const deadline = new Date(Date.now() + 3000).toISOString();
      await handle.executeUpdate(setDeadlineUpdate, { args: [{ deadline }] });
      const failure = await failureOf(handle);
      const endedAt = Date.now();
      assert.equal(failure.type, 'ApsJobTimeout');
      assert.ok(
        endedAt - Date.parse(deadline) < 5000,
        `ended ${endedAt - Date.parse(deadline)} ms after the deadline`,
      );
      assert.equal(stack.emulator.calls({ action: 'StartApsJob', apsJobId }), 1, 'no restart');
      await maybeRecordHistory(handle, 'update-set-deadline-during-backoff');
    });

    it('extendDeadline during a start that stopped at its old deadline before sending anything: started again under the new one', async () => {
      const apsJobId = newJobId();
      stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming' });
      stack.emulator.injectFault({
        kind: 'error',
        code: 'Throttling.User',
        action: 'StartApsJob',
        apsJobId,
        times: 4,
      });
      const handle = await startRun(stack, {
        regionId: region,
        apsJobId,
        pollInterval: '1s',
        timeout: '3s',
        retryRules: [
          {
            errorEquals: ['Throttling.*'],
            maxAttempts: 10,
            initialInterval: '2s',
            backoffCoefficient: 1,
            jitter: 'none',
          },
        ],
      });
      await eventually(
        () => stack.emulator.calls({ action: 'StartApsJob', apsJobId }) >= 1,
        20_000,
        'a start',
      );
      await handle.executeUpdate(extendDeadlineUpdate, { args: [{ by: '1m' }] });
      const result = await handle.result();
      assert.equal(result.status, 'Running');
      assert.equal(result.started, true);
      assert.equal(stack.emulator.calls({ action: 'StartApsJob', apsJobId }), 5);
      assert.equal(stack.emulator.effectiveStarts(apsJobId), 1);
      const { activities } = await activitiesOf(handle);
      assert.deepEqual(
        activities.filter((a) => a.type === 'startApsJob').map((a) => a.ended),
        ['failed', 'completed'],
      );
      assert.equal(activities.filter((a) => a.cancelRequested).length, 0, 'nothing was cancelled');
      await maybeRecordHistory(handle, 'update-extend-deadline-start-again');
    });

    it('refuses a deadline before now, a bad time, a bad interval, a bad onCancel: the error names the field, and no event is recorded', async () => {
      const apsJobId = newJobId();
      stack.emulator.addJob({ apsJobId, regionId: region, kind: 'batch', runningPollsToComplete: 1_000_000 });
      const handle = await startRun(stack, {
        regionId: region,
        apsJobId,
        target: 'completed',
        pollInterval: '1s',
      });
      try {
        await eventually(async () => (await livePhase(handle)) === 'waiting', 20_000, 'waiting');
        const eventsBefore = (await handle.fetchHistory()).events?.length;
        const past = await refusal(
          handle.executeUpdate(setDeadlineUpdate, {
            args: [{ deadline: new Date(Date.now() - 60_000).toISOString() }],
          }),
        );
        assert.equal(past.type, 'InvalidWorkflowInput');
        assert.match(past.message, /^Invalid deadline: expected a deadline not before now/);
        const local = await refusal(
          handle.executeUpdate(setDeadlineUpdate, { args: [{ deadline: '2030-01-01T10:00' }] }),
        );
        assert.match(local.message, /^Invalid deadline: expected an ISO-8601 time with its offset/);
        const shorter = await refusal(handle.executeUpdate(extendDeadlineUpdate, { args: [{ by: '-5m' }] }));
        assert.match(shorter.message, /^Invalid by: /);
        const interval = await refusal(
          handle.executeUpdate(setPollIntervalUpdate, { args: [{ pollInterval: '10ms' }] }),
        );
        assert.match(interval.message, /^Invalid pollInterval: .*at least 1s/);
        const field = await refusal(
          handle.executeUpdate(setPollIntervalUpdate, {
            args: [{ pollInterval: '5s', pollIntervall: '5s' } as never],
          }),
        );
        assert.match(field.message, /^Invalid pollIntervall: expected no such field/);
        const onCancel = await refusal(
          handle.executeUpdate(setOnCancelUpdate, { args: [{ onCancel: 'stop' as never }] }),
        );
        assert.match(onCancel.message, /^Invalid onCancel: expected one of 'suspend', 'leave'/);
        const history = await handle.fetchHistory();
        assert.equal(history.events?.length, eventsBefore, 'a refused update leaves no event');
        assert.ok(
          !(history.events ?? []).some((e) => e.workflowExecutionUpdateAcceptedEventAttributes),
          'no update accepted',
        );
        const status = await handle.query(statusQuery);
        assert.equal(status.pollIntervalMs, 1000);
        assert.equal(status.onCancel, 'leave');
      } finally {
        await handle.terminate('test over');
      }
    });
  });

  describe('setOnCancel', () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack({ emulator: { seed: 45 } });
    });
    after(async () => {
      await stack?.stop();
    });

    for (const [given, set] of [
      ['leave', 'suspend'],
      ['suspend', 'leave'],
    ] as const) {
      it(`onCancel ${given}, set to ${set} by the update, then a cancel: the job is ${set === 'suspend' ? 'suspended' : 'left running'}`, async () => {
        const apsJobId = newJobId();
        stack.emulator.addJob({
          apsJobId,
          regionId: region,
          kind: 'batch',
          runningPollsToComplete: 1_000_000,
        });
        const input: RunApsJobInput = {
          regionId: region,
          apsJobId,
          target: 'completed',
          pollInterval: '1s',
          onCancel: given,
        };
        const handle = await startRun(stack, input);
        await eventually(async () => (await livePhase(handle)) === 'waiting', 20_000, 'waiting');
        const status = await handle.executeUpdate(setOnCancelUpdate, { args: [{ onCancel: set }] });
        assert.equal(status.onCancel, set);
        await handle.cancel();
        const err = await handle.result().then(
          () => assert.fail('expected a cancelled run'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure, String(err));
        const suspends = stack.emulator.counters().byJob[apsJobId]?.SuspendApsJob ?? 0;
        assert.equal(suspends, set === 'suspend' ? 1 : 0);
        assert.equal(stack.emulator.job(apsJobId)?.status, set === 'suspend' ? 'Suspended' : 'Running');
        if (set === 'suspend') await maybeRecordHistory(handle, 'update-set-on-cancel');
      });
    }
  });
});
