/**
 * runApsJob: start an APS job durably and wait until it reaches its target state.
 */
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  isCancellation,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
  log,
  patched,
} from '@temporalio/workflow';
import type { Activities, StartApsJobResult } from '../activities';
import {
  ApsJobIdKey,
  ApsPhaseKey,
  awaitRunUpdate,
  type AwaitRunInput,
  FailureTypes,
  setOnCancelSignal,
  statusQuery,
  type JobFailureRecord,
  type JobRestart,
  type OnStopAction,
  type RunApsJobInput,
  type RunApsJobResult,
  type RunApsJobStatus,
  type RunPhase,
} from '../api';
import {
  invalidInputFailure,
  jobFailedDetails,
  workflowFailure,
  type JobFailedDetails,
  type SuspendError,
} from '../failures';
import { normalizeRunInput, type NormalizedRunInput } from '../input';
import { exponentialDelayMs } from '../retry';
import { InputValidationError } from '../validation';
import {
  activitiesWith,
  IN_PROCESS_WINDOW_MS,
  inProcessActivities,
  Patches,
  startActivities,
  SUSPEND_BUDGET_MS,
  suspendJob,
} from './common';

/**
 * Starts the job (idempotently) and polls it to `target`; with `onJobFailure`, restarts it after a
 * backoff when it fails while waited on, within a budget. Fails with an ApplicationFailure whose
 * type says why: the API code, `ApsJobFailed`, `ApsJobStopped`, `ApsJobTimeout` or `InvalidWorkflowInput`.
 */
export async function runApsJob(input: RunApsJobInput): Promise<RunApsJobResult> {
  const ended = { value: false };
  try {
    return await runToTarget(input, ended);
  } finally {
    ended.value = true;
    // Callers waiting in awaitRun get the final status before the run closes (no command: runs of
    // earlier releases replay as they were).
    await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
  }
}

async function runToTarget(input: RunApsJobInput, ended: { value: boolean }): Promise<RunApsJobResult> {
  const info = workflowInfo();
  const workflowStartedAt = info.runStartTime.getTime();
  // Search attributes are set by the client only where the server has them registered; upserting
  // an unregistered one would fail the workflow task, so only then is the phase kept up to date.
  const hasSearchAttributes = info.typedSearchAttributes.get(ApsJobIdKey) !== undefined;

  const status: RunApsJobStatus = {
    phase: 'validating',
    regionId: String((input as Partial<RunApsJobInput> | undefined)?.regionId ?? ''),
    apsJobId: String((input as Partial<RunApsJobInput> | undefined)?.apsJobId ?? ''),
    target: 'running',
    attempts: 0,
    workflowStartedAt: new Date(workflowStartedAt).toISOString(),
    deadline: new Date(workflowStartedAt).toISOString(),
    restarts: [],
  };
  const restarts = status.restarts;
  const failures: JobFailureRecord[] = [];
  setHandler(statusQuery, () => status);
  setHandler(
    awaitRunUpdate,
    async ({ until }) => {
      // The run hears of the start when the start activity returns: with a wait folded into it,
      // that is at the target or when its in-process window hands the wait back.
      await condition(() => ended.value || (until === 'started' && status.startedAt !== undefined));
      return status;
    },
    {
      validator: (arg) => {
        const until = (arg as Partial<AwaitRunInput> | undefined)?.until;
        if (until !== 'started' && until !== 'target') {
          throw new Error(`awaitRun: until must be "started" or "target", not ${JSON.stringify(until)}`);
        }
      },
    },
  );
  let onCancelOverride: OnStopAction | undefined;
  setHandler(setOnCancelSignal, (action) => {
    if (action === 'suspend' || action === 'leave') onCancelOverride = action;
  });
  const setPhase = (phase: RunPhase): void => {
    status.phase = phase;
    if (hasSearchAttributes) upsertSearchAttributes([{ key: ApsPhaseKey, value: phase }]);
  };

  let cfg: NormalizedRunInput;
  try {
    cfg = normalizeRunInput(input);
  } catch (err) {
    if (err instanceof InputValidationError) {
      setPhase('failed');
      throw invalidInputFailure(err);
    }
    throw err;
  }
  const deadline = workflowStartedAt + cfg.timeoutMs;
  Object.assign(status, { target: cfg.target, deadline: new Date(deadline).toISOString() });
  const ref = { regionId: cfg.regionId, apsJobId: cfg.apsJobId };
  const remainingMs = (): number => deadline - Date.now();

  // Unlimited attempts until the run's deadline (the schedule-to-close).
  const activities = (scheduleToCloseMs: number) => activitiesWith(cfg.activityTimeoutMs, scheduleToCloseMs);
  // Each status outside the known table is reported once per run.
  let unknownReported: string[] | undefined;
  let suspendError: SuspendError | undefined;

  const timeoutFailure = (cause?: Error): ApplicationFailure =>
    ApplicationFailure.create({
      type: FailureTypes.ApsJobTimeout,
      message: `APS job ${cfg.apsJobId} did not reach ${cfg.target} within ${cfg.timeoutMs} ms`,
      nonRetryable: true,
      details: [
        {
          lastStatus: status.lastStatus,
          lastErrorCode: status.lastErrorCode,
          ...(failures.length > 0 ? { failures } : {}),
          ...(suspendError ? { suspendError } : {}),
        },
      ],
      cause,
    });

  /** Suspends the job; a refusal is kept in the status and the details, and the outcome stays. */
  const suspend = async (why: string): Promise<void> => {
    setPhase('suspending');
    suspendError = await suspendJob(
      () => activities(SUSPEND_BUDGET_MS).suspendApsJob({ ...ref, retryRules: cfg.retryRules }),
      why,
    );
    if (suspendError) status.suspendError = suspendError;
  };

  // The longest delay between reads, and how a wait is held (see Patches.inProcessWait).
  const maxDelayMs = cfg.pollSchedule?.maxMs ?? cfg.pollIntervalMs;
  const waitSpec = {
    pollIntervalMs: cfg.pollIntervalMs,
    ...(cfg.pollSchedule ? { pollSchedule: cfg.pollSchedule } : {}),
    stoppedGraceMs: cfg.stoppedGraceMs,
    waitOutageMs: cfg.waitOutageMs,
    inProcess: { windowMs: IN_PROCESS_WINDOW_MS },
  };

  const startJob = async (): Promise<StartApsJobResult> => {
    setPhase('starting');
    // The run's deadline is `notAfter`: the activity sends no start past it, and an attempt under
    // way is never cut by the server (one activityTimeout more), so a suspend that follows comes
    // after every StartApsJob that was sent.
    const inProcess = patched(Patches.inProcessWait);
    const scheduleToCloseMs = remainingMs() + cfg.activityTimeoutMs;
    const start = await (
      inProcess
        ? inProcessActivities(cfg.activityTimeoutMs, scheduleToCloseMs, maxDelayMs, true)
        : startActivities(cfg.activityTimeoutMs, scheduleToCloseMs)
    ).startApsJob({
      ...ref,
      target: cfg.target,
      retryRules: cfg.retryRules,
      settleMs: cfg.settleWindowMs,
      settleIntervalMs: Math.min(cfg.pollIntervalMs, 5_000),
      notAfter: deadline,
      ...(unknownReported ? { unknownReported } : {}),
      // The wait goes on in the same activity: no workflow task and no activity between them.
      ...(inProcess ? { wait: waitSpec } : {}),
    });
    unknownReported = start.unknownReported ?? unknownReported;
    Object.assign(status, {
      started: start.started,
      lastStatus: start.status,
      startedAt: new Date(start.at).toISOString(),
    });
    return start;
  };

  /** The job failed while waited on: restart it after the backoff, or fail when the budget is spent. */
  const restartAfter = async (err: ActivityFailure, failed: JobFailedDetails): Promise<StartApsJobResult> => {
    const policy = cfg.jobFailure;
    if (!policy) throw err;
    const failure: JobFailureRecord = {
      at: new Date(Date.now()).toISOString(),
      status: failed.status,
      ...(failed.errMessage !== undefined ? { errMessage: failed.errMessage } : {}),
    };
    failures.push(failure);
    status.lastStatus = failed.status;
    if (restarts.length >= policy.maxRestarts) {
      throw ApplicationFailure.create({
        type: FailureTypes.ApsJobFailed,
        message:
          `APS job ${cfg.apsJobId} failed ${failures.length} times and its ${policy.maxRestarts} ` +
          `restarts are spent; last: ${failed.status}${failed.errMessage ? `: ${failed.errMessage}` : ''}`,
        nonRetryable: true,
        details: [{ ...failed, restarts: restarts.length, failures }],
        cause: err,
      });
    }
    const delay = exponentialDelayMs(policy, restarts.length);
    // A restart that would come after the deadline cannot reach the target in time: the run ends now.
    if (delay >= remainingMs()) throw timeoutFailure(err);
    const restart: JobRestart = { failure, backoffMs: delay };
    restarts.push(restart);
    log.warn('job failed: restarting it after a backoff', {
      status: failed.status,
      errMessage: failed.errMessage,
      restart: restarts.length,
      maxRestarts: policy.maxRestarts,
      backoffMs: delay,
    });
    setPhase('backing-off');
    if (delay > 0) await sleep(delay);
    if (remainingMs() <= 0) throw timeoutFailure(err);
    const start = await startJob();
    restart.restartedAt = new Date(start.at).toISOString();
    return start;
  };

  try {
    if (remainingMs() <= 0) throw timeoutFailure();
    let start = await startJob();
    let reached: Awaited<ReturnType<Activities['waitForApsJob']>>;
    for (;;) {
      if (start.reached) {
        reached = start.reached;
        break;
      }
      setPhase('waiting');
      if (remainingMs() <= 0) throw timeoutFailure();
      try {
        const waits = patched(Patches.inProcessWait)
          ? inProcessActivities(cfg.activityTimeoutMs, remainingMs(), maxDelayMs)
          : activities(remainingMs());
        reached = await waits.waitForApsJob({
          ...ref,
          target: cfg.target,
          pollIntervalMs: cfg.pollIntervalMs,
          stoppedGraceMs: cfg.stoppedGraceMs,
          retryRules: cfg.retryRules,
          startedAt: start.at,
          waitOutageMs: cfg.waitOutageMs,
          ...(start.statusBefore !== undefined ? { statusBefore: start.statusBefore } : {}),
          ...(unknownReported ? { unknownReported } : {}),
          ...(cfg.pollSchedule ? { pollSchedule: cfg.pollSchedule } : {}),
          ...(start.waitState ? { resume: start.waitState } : {}),
          ...(patched(Patches.inProcessWait) ? { inProcess: waitSpec.inProcess } : {}),
        });
        break;
      } catch (err) {
        const failed = cfg.jobFailure ? jobFailedDetails(err) : undefined;
        if (!failed) throw err;
        start = await restartAfter(err as ActivityFailure, failed);
      }
    }
    Object.assign(status, {
      lastStatus: reached.status,
      attempts: reached.polls,
      reachedAt: new Date(reached.at).toISOString(),
    });
    setPhase('done');
    return {
      ...ref,
      status: reached.status,
      outcome: cfg.target,
      started: start.started,
      startRequestId: start.requestId,
      polls: reached.polls,
      startedAt: new Date(start.at).toISOString(),
      reachedAt: new Date(reached.at).toISOString(),
      restarts,
    };
  } catch (err) {
    // A cancel that came while an activity ended otherwise (timed out, failed) is still a cancel
    // (runs of earlier releases failed then).
    const cancelled =
      isCancellation(err) ||
      (CancellationScope.current().consideredCancelled && patched(Patches.startCancellationWaits));
    if (cancelled) {
      setPhase('cancelled');
      if ((onCancelOverride ?? cfg.onCancel) === 'suspend') {
        await suspend('workflow cancelled');
        if (patched(Patches.finalPhaseAfterSuspend)) setPhase('cancelled');
      }
      throw isCancellation(err) ? err : new CancelledFailure('runApsJob cancelled', [], err as Error);
    }
    const failure = workflowFailure(err, `runApsJob for ${cfg.apsJobId}`, timeoutFailure);
    status.lastErrorCode = failure.type ?? undefined;
    if (failure.type === FailureTypes.ApsJobTimeout && cfg.onTimeout === 'suspend') {
      await suspend('deadline passed');
      if (suspendError) {
        // The details were built before the suspend: the refusal is added to them.
        setPhase('failed');
        throw ApplicationFailure.create({
          type: failure.type,
          message: `${failure.message}; the job could not be suspended (${suspendError.code})`,
          nonRetryable: true,
          details: [{ ...(failure.details?.[0] as object | undefined), suspendError }],
          cause: failure.cause,
        });
      }
    }
    setPhase('failed');
    throw failure;
  }
}
