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
  TimeoutFailure,
  upsertSearchAttributes,
  workflowInfo,
  log,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  ApsJobIdKey,
  ApsPhaseKey,
  FailureTypes,
  setOnCancelSignal,
  statusQuery,
  type OnStopAction,
  type RunApsJobInput,
  type RunApsJobResult,
  type RunApsJobStatus,
  type RunPhase,
} from '../api';
import { normalizeRunInput, type NormalizedRunInput } from '../input';
import { InputValidationError } from '../validation';

/** A transitional job is watched this long before it is started anyway (someone's start may be in progress). */
const SETTLE_MS = 60_000;
/** Suspending on cancel or deadline gets this long, beyond the run's own deadline. */
const SUSPEND_BUDGET_MS = 5 * 60_000;

/**
 * Starts the job (idempotently) and polls it to `target`. Fails with an ApplicationFailure whose
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
  };
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
      retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
    });

  const timeoutFailure = (cause?: Error): ApplicationFailure =>
    ApplicationFailure.create({
      type: FailureTypes.ApsJobTimeout,
      message: `APS job ${cfg.apsJobId} did not reach ${cfg.target} within ${cfg.timeoutMs} ms`,
      nonRetryable: true,
      details: [{ lastStatus: status.lastStatus, lastErrorCode: status.lastErrorCode }],
      cause,
    });

  const suspend = async (why: string): Promise<void> => {
    setPhase('suspending');
    log.info('suspending the job', { why });
    await CancellationScope.nonCancellable(() =>
      activities(SUSPEND_BUDGET_MS).suspendApsJob({ ...ref, retryRules: cfg.retryRules }),
    );
  };

  try {
    if (remainingMs() <= 0) throw timeoutFailure();
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

    setPhase('waiting');
    if (remainingMs() <= 0) throw timeoutFailure();
    const reached = await activities(remainingMs()).waitForApsJob({
      ...ref,
      target: cfg.target,
      pollIntervalMs: cfg.pollIntervalMs,
      stoppedGraceMs: cfg.stoppedGraceMs,
      retryRules: cfg.retryRules,
      startedAt: start.at,
    });
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
