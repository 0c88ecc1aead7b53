/**
 * runApsJob: start an APS job durably and wait until it reaches its target state.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  proxyActivities,
  setHandler,
  sleep,
  TimeoutFailure,
  upsertSearchAttributes,
  workflowInfo,
  log,
} from '@temporalio/workflow';
import type { Activities, JobFailedDetails, StartApsJobResult } from '../activities';
import {
  ApsJobIdKey,
  ApsPhaseKey,
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
import { backoffMs, normalizeRunInput, type NormalizedRunInput } from '../input';
import { InputValidationError } from '../validation';

/** A transitional job is watched this long before it is started anyway (someone's start may be in progress). */
const SETTLE_MS = 60_000;
/** Suspending on cancel or deadline gets this long, beyond the run's own deadline. */
const SUSPEND_BUDGET_MS = 5 * 60_000;

/**
 * Starts the job (idempotently) and polls it to `target`; with `onJobFailure`, restarts it after a
 * backoff when it fails while waited on, within a budget. Fails with an ApplicationFailure whose
 * type says why: the API code, `ApsJobFailed`, `ApsJobStopped`, `ApsJobTimeout` or `InvalidWorkflowInput`.
 */
export async function runApsJob(input: RunApsJobInput): Promise<RunApsJobResult> {
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
      throw ApplicationFailure.create({
        type: FailureTypes.InvalidWorkflowInput,
        message: err.message,
        nonRetryable: true,
        details: [{ field: err.field, expected: err.expected, got: err.got }],
      });
    }
    throw err;
  }
  const deadline = workflowStartedAt + cfg.timeoutMs;
  Object.assign(status, { target: cfg.target, deadline: new Date(deadline).toISOString() });
  const ref = { regionId: cfg.regionId, apsJobId: cfg.apsJobId };
  const remainingMs = (): number => deadline - Date.now();

  // Temporal's retry policy is only the outer bound (unlimited attempts until the run's deadline,
  // the schedule-to-close): each attempt's failure says non-retryable or nextRetryDelay, as the
  // error-code rules decide.
  const activities = (scheduleToCloseMs: number) =>
    proxyActivities<Activities>({
      startToCloseTimeout: cfg.activityTimeoutMs,
      scheduleToCloseTimeout: Math.max(1, scheduleToCloseMs),
      retry: { initialInterval: 100, backoffCoefficient: 2, maximumInterval: '1m' },
    });

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
        },
      ],
      cause,
    });

  const suspend = async (why: string): Promise<void> => {
    setPhase('suspending');
    log.info('suspending the job', { why });
    await CancellationScope.nonCancellable(() =>
      activities(SUSPEND_BUDGET_MS).suspendApsJob({ ...ref, retryRules: cfg.retryRules }),
    );
  };

  const startJob = async (): Promise<StartApsJobResult> => {
    setPhase('starting');
    const start = await activities(remainingMs()).startApsJob({
      ...ref,
      target: cfg.target,
      retryRules: cfg.retryRules,
      settleMs: SETTLE_MS,
      settleIntervalMs: Math.min(cfg.pollIntervalMs, 5_000),
    });
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
    const delay = backoffMs(policy, restarts.length);
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
      setPhase('waiting');
      if (remainingMs() <= 0) throw timeoutFailure();
      try {
        reached = await activities(remainingMs()).waitForApsJob({
          ...ref,
          target: cfg.target,
          pollIntervalMs: cfg.pollIntervalMs,
          stoppedGraceMs: cfg.stoppedGraceMs,
          retryRules: cfg.retryRules,
          startedAt: start.at,
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
    if (isCancellation(err)) {
      setPhase('cancelled');
      if ((onCancelOverride ?? cfg.onCancel) === 'suspend') await suspend('workflow cancelled');
      throw err;
    }
    const failure = toRunFailure(err, cfg, remainingMs(), timeoutFailure);
    status.lastErrorCode = failure.type ?? undefined;
    if (failure.type === FailureTypes.ApsJobTimeout && cfg.onTimeout === 'suspend') {
      await suspend('deadline passed');
    }
    setPhase('failed');
    throw failure;
  }
}

/** The details of an `ApsJobFailed` failure of the wait activity, or undefined for anything else. */
function jobFailedDetails(err: unknown): JobFailedDetails | undefined {
  if (!(err instanceof ActivityFailure)) return undefined;
  const cause = err.cause;
  if (!(cause instanceof ApplicationFailure) || cause.type !== FailureTypes.ApsJobFailed) return undefined;
  const d = cause.details?.[0] as Partial<JobFailedDetails> | undefined;
  return {
    status: typeof d?.status === 'string' ? d.status : 'Failed',
    ...(typeof d?.errMessage === 'string' ? { errMessage: d.errMessage } : {}),
  };
}

/** Maps what ended a run to the ApplicationFailure the workflow fails with. */
function toRunFailure(
  err: unknown,
  cfg: NormalizedRunInput,
  remainingMs: number,
  timeoutFailure: (cause?: Error) => ApplicationFailure,
): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof ActivityFailure) {
    const cause = err.cause;
    // The activity's schedule-to-close is the run's deadline: running out of it, or a retry that
    // would land past it, is the deadline.
    if (cause instanceof TimeoutFailure || err.retryState === 'TIMEOUT' || remainingMs <= 0) {
      return timeoutFailure(err);
    }
    if (cause instanceof ApplicationFailure) {
      return ApplicationFailure.create({
        type: cause.type ?? 'ActivityFailed',
        message: cause.message,
        nonRetryable: true,
        details: cause.details ?? undefined,
        cause: err,
      });
    }
  }
  return ApplicationFailure.create({
    type: 'UnexpectedError',
    message: `runApsJob for ${cfg.apsJobId} failed: ${err instanceof Error ? err.message : String(err)}`,
    nonRetryable: true,
    cause: err instanceof Error ? err : undefined,
  });
}
