/**
 * superviseApsJob: keep a streaming APS job running for as long as the workflow lives.
 */
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  continueAsNew,
  isCancellation,
  log,
  patched,
  setHandler,
  TimeoutFailure,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ApiFailureDetails } from '../activities/failures';
import {
  failureTypeOf,
  invalidInputFailure,
  isDeadlineFailure,
  failureReasonsOf,
  jobFailedDetails,
  withoutReasons,
  workflowFailure,
  type FailureReasons,
} from '../failures';
import {
  ApsJobIdKey,
  ApsPhaseKey,
  FailureTypes,
  pauseUpdate,
  resumeUpdate,
  setCheckIntervalUpdate,
  setOnCancelSignal,
  supervisorStatusQuery,
  type JobFailureRecord,
  type JobRestart,
  type OnStopAction,
  type SuperviseApsJobInput,
  type SupervisorCarriedState,
  type SupervisorPhase,
  type SupervisorStatus,
} from '../api';
import { normalizeSuperviseInput, validateCheckInterval, type NormalizedSuperviseInput } from '../input';
import { exponentialDelayMs } from '../retry';
import { formatMs, InputValidationError } from '../validation';
import { activitiesWith, Patches, startActivities, SUSPEND_BUDGET_MS, suspendJob } from './common';

/** One check may retry API errors this long; the retry rules usually give up sooner. */
const CHECK_BUDGET_MS = 2 * 3_600_000;
/** API error classes that end one attempt but not the supervision: the next check tries again. */
const RETRIED_LATER_CLASSES: ReadonlySet<string> = new Set(['transient', 'throttled', 'unknown']);

/** A pause or resume waiting for the supervision loop, which alone touches the job. */
interface ControlRequest {
  kind: 'pause' | 'resume';
  done: boolean;
  error?: ApplicationFailure;
}

const INTERRUPTED = Symbol('interrupted');

/**
 * A failure that took the job down, with its reasons (action logs, console link) when it was a
 * failed status. Only the record goes into the status, the restart window and continue-as-new;
 * the reasons of the last one go into the supervisor's own failure.
 */
type JobDown = JobFailureRecord & FailureReasons;

/**
 * Brings the job to `running`, then checks it every `checkInterval`. A job found failed, stopped
 * (not by this workflow) or completed is restarted after a backoff, within a restart budget per
 * sliding window; beyond it the workflow fails with `ApsJobFailed` and the recent failures.
 * Controls: the `setCheckInterval`, `pause` and `resume` updates, the `setOnCancel` signal and the
 * `status` query. Continues as new after `maxChecksPerRun` checks or when the server suggests it,
 * carrying the restart window, counters and pause state. Never completes by itself.
 */
export async function superviseApsJob(input: SuperviseApsJobInput): Promise<void> {
  const info = workflowInfo();
  const hasSearchAttributes = info.typedSearchAttributes.get(ApsJobIdKey) !== undefined;
  const given = input as Partial<SuperviseApsJobInput> | undefined;
  const status: SupervisorStatus = {
    phase: 'validating',
    regionId: String(given?.regionId ?? ''),
    apsJobId: String(given?.apsJobId ?? ''),
    paused: false,
    checkIntervalMs: 0,
    checks: 0,
    restartsInWindow: 0,
    maxRestartsPerWindow: 0,
    windowMs: 0,
    recentRestarts: [],
    totalRestarts: 0,
    run: 1,
    supervisingSince: info.runStartTime.toISOString(),
  };
  const inWindow = (): JobRestart[] =>
    status.recentRestarts.filter((r) => Date.parse(r.failure.at) > Date.now() - status.windowMs);
  const view = (): SupervisorStatus => {
    const recent = inWindow();
    return {
      ...status,
      recentRestarts: recent,
      restartsInWindow: recent.length,
      ...(status.phase === 'running' && status.runningSince
        ? { uptimeMs: Date.now() - Date.parse(status.runningSince) }
        : {}),
    };
  };
  setHandler(supervisorStatusQuery, view);
  const setPhase = (phase: SupervisorPhase): void => {
    if (status.phase === phase) return;
    status.phase = phase;
    if (hasSearchAttributes) upsertSearchAttributes([{ key: ApsPhaseKey, value: phase }]);
  };

  let cfg: NormalizedSuperviseInput;
  try {
    cfg = normalizeSuperviseInput(input);
  } catch (err) {
    if (err instanceof InputValidationError) {
      setPhase('failed');
      throw invalidInputFailure(err);
    }
    throw err;
  }
  const ref = { regionId: cfg.regionId, apsJobId: cfg.apsJobId };
  const carried = cfg.carried;
  Object.assign(status, {
    checkIntervalMs: cfg.checkIntervalMs,
    maxRestartsPerWindow: cfg.maxRestartsPerWindow,
    windowMs: cfg.windowMs,
  });
  if (carried) {
    Object.assign(status, {
      paused: carried.paused,
      checks: carried.totalChecks,
      recentRestarts: carried.recentRestarts,
      totalRestarts: carried.totalRestarts,
      run: carried.runs + 1,
      supervisingSince: carried.supervisingSince,
      runningSince: carried.runningSince,
      lastFailure: carried.lastFailure,
      lastStatus: carried.lastStatus,
    });
  }

  let onCancel: OnStopAction = cfg.onCancel;
  setHandler(setOnCancelSignal, (action) => {
    if (action === 'suspend' || action === 'leave') onCancel = action;
  });
  const requests: ControlRequest[] = [];
  let intervalChanged = false;
  const pauseRequested = (): boolean => requests.some((r) => r.kind === 'pause');
  const request = async (kind: ControlRequest['kind']): Promise<SupervisorStatus> => {
    const req: ControlRequest = { kind, done: false };
    requests.push(req);
    await condition(() => req.done);
    if (req.error) throw req.error;
    return view();
  };
  setHandler(pauseUpdate, () => request('pause'));
  setHandler(resumeUpdate, () => request('resume'));
  setHandler(
    setCheckIntervalUpdate,
    (arg) => {
      status.checkIntervalMs = validateCheckInterval(arg.checkInterval);
      if (status.nextCheckAt !== undefined) {
        status.nextCheckAt = new Date(Date.now() + status.checkIntervalMs).toISOString();
      }
      intervalChanged = true;
      log.info('check interval changed', { checkIntervalMs: status.checkIntervalMs });
      return view();
    },
    {
      // Rejected in the validator, a bad value leaves no trace in the history.
      validator: (arg) => {
        try {
          validateCheckInterval((arg as Partial<typeof arg> | undefined)?.checkInterval);
        } catch (err) {
          if (err instanceof InputValidationError) throw invalidInputFailure(err);
          throw err;
        }
      },
    },
  );

  const activities = (scheduleToCloseMs: number) => activitiesWith(cfg.activityTimeoutMs, scheduleToCloseMs);
  // Each status outside the known table is reported once per run.
  let unknownReported: string[] | undefined;
  const iso = (ms: number): string => new Date(ms).toISOString();
  const scheduleCheck = (): void => {
    status.nextCheckAt = iso(Date.now() + status.checkIntervalMs);
  };

  /** Starts the job and waits until it runs; a pause request interrupts it. */
  const startAndWait = async (onStarted: () => void): Promise<'running' | typeof INTERRUPTED | JobDown> => {
    const until = Date.now() + cfg.startTimeoutMs;
    const left = (): number => until - Date.now();
    try {
      return await interruptible(pauseRequested, async () => {
        setPhase('starting');
        // As in runApsJob: the start is never cut by the server mid-call (one activityTimeout
        // more), and sends nothing past `until`; a pause waits for the attempt in flight.
        const start = await startActivities(
          cfg.activityTimeoutMs,
          left() + cfg.activityTimeoutMs,
        ).startApsJob({
          ...ref,
          target: 'running',
          retryRules: cfg.retryRules,
          settleMs: cfg.settleWindowMs,
          settleIntervalMs: Math.min(cfg.pollIntervalMs, 5_000),
          notAfter: until,
          ...(unknownReported ? { unknownReported } : {}),
        });
        unknownReported = start.unknownReported ?? unknownReported;
        status.lastStatus = start.status;
        if (start.started || status.runningSince === undefined) status.runningSince = iso(start.at);
        onStarted();
        setPhase('waiting');
        const reached = await activities(left()).waitForApsJob({
          ...ref,
          target: 'running',
          pollIntervalMs: cfg.pollIntervalMs,
          stoppedGraceMs: cfg.stoppedGraceMs,
          retryRules: cfg.retryRules,
          startedAt: start.at,
          waitOutageMs: cfg.waitOutageMs,
          ...(start.statusBefore !== undefined ? { statusBefore: start.statusBefore } : {}),
          ...(unknownReported ? { unknownReported } : {}),
        });
        status.lastStatus = reached.status;
        return 'running' as const;
      });
    } catch (err) {
      const down = downRecordOf(err, cfg, status.lastStatus);
      if (!down) throw err;
      return down;
    }
  };

  /**
   * Brings the job to running; after each failure (`failure` first, when given) waits the backoff
   * and restarts it, within the window's budget. False when a pause request interrupted it.
   */
  const ensureRunning = async (down?: JobDown, onStarted: () => void = () => undefined): Promise<boolean> => {
    for (;;) {
      let restart: JobRestart | undefined;
      if (down) {
        const { record: failure, reasons } = withoutReasons(down);
        status.lastFailure = failure;
        status.lastStatus = failure.status;
        const recent = inWindow();
        if (recent.length >= cfg.maxRestartsPerWindow) {
          throw ApplicationFailure.create({
            type: FailureTypes.ApsJobFailed,
            message:
              `APS job ${cfg.apsJobId} is down (${failure.status}${failure.errMessage ? `: ${failure.errMessage}` : ''}) ` +
              `and was restarted ${recent.length} times within ${formatMs(cfg.windowMs)}: the restart budget is spent`,
            nonRetryable: true,
            details: [
              {
                status: failure.status,
                errMessage: failure.errMessage,
                ...reasons,
                restartsInWindow: recent.length,
                maxRestartsPerWindow: cfg.maxRestartsPerWindow,
                windowMs: cfg.windowMs,
                failures: [...recent.map((r) => r.failure), failure],
              },
            ],
          });
        }
        const delay = exponentialDelayMs(cfg.backoff, recent.length);
        log.warn('job is down: restarting it after a backoff', {
          status: failure.status,
          errMessage: failure.errMessage,
          restartsInWindow: recent.length,
          backoffMs: delay,
        });
        setPhase('backing-off');
        status.nextCheckAt = undefined;
        // A pause during the backoff wins: the job stays down and no restart is counted.
        if (await condition(pauseRequested, Math.max(1, delay))) return false;
        restart = { failure, backoffMs: delay };
        status.recentRestarts = [...inWindow(), restart];
        status.totalRestarts += 1;
      }
      const r = restart;
      const outcome = await startAndWait(() => {
        if (r) r.restartedAt = iso(Date.now());
        onStarted();
      });
      if (outcome === INTERRUPTED) return false;
      if (outcome === 'running') {
        setPhase('running');
        scheduleCheck();
        return true;
      }
      down = outcome;
    }
  };

  const suspendActivity = () =>
    activities(SUSPEND_BUDGET_MS).suspendApsJob({ ...ref, retryRules: cfg.retryRules });

  /** Carries out a pause or resume; a pause whose suspend fails leaves the supervisor running. */
  const carryOut = async (req: ControlRequest): Promise<void> => {
    try {
      if (req.kind === 'pause' && !status.paused) {
        setPhase('pausing');
        try {
          log.info('suspending the job', { why: 'paused' });
          await suspendActivity();
        } catch (err) {
          if (isCancellation(err) || !(err instanceof ActivityFailure)) throw err;
          req.error = ApplicationFailure.create({
            type: failureTypeOf(err),
            message: `pause failed: the job could not be suspended: ${err.cause?.message ?? err.message}`,
            nonRetryable: true,
          });
          // The job's state is unknown now: check it at once.
          setPhase('running');
          status.nextCheckAt = iso(Date.now());
          return;
        }
        status.paused = true;
        status.nextCheckAt = undefined;
        // Not read since the suspend: a stale `Running` would mislead.
        status.lastStatus = undefined;
        setPhase('paused');
      } else if (req.kind === 'resume' && status.paused) {
        status.paused = false;
        await ensureRunning(undefined, () => {
          req.done = true;
        });
      }
    } catch (err) {
      // The supervisor fails with this; a caller still waiting hears it too.
      if (!req.done && !isCancellation(err))
        req.error = workflowFailure(err, `superviseApsJob for ${cfg.apsJobId}`);
      throw err;
    } finally {
      req.done = true;
    }
  };

  /** The supervision loop; returns when it is time to continue as new. */
  const supervise = async (): Promise<void> => {
    let checksThisRun = 0;
    if (!status.paused) {
      if (carried?.nextCheckAt) {
        // The previous run saw the job running: go on checking on its schedule.
        setPhase('running');
        status.nextCheckAt = carried.nextCheckAt;
      } else {
        await ensureRunning();
      }
    }
    for (;;) {
      const req = requests.shift();
      if (req) {
        await carryOut(req);
        continue;
      }
      if (checksThisRun >= cfg.maxChecksPerRun || workflowInfo().continueAsNewSuggested) {
        // Updates still in flight finish in this run; a new request is served before leaving.
        await condition(() => allHandlersFinished() || requests.length > 0);
        if (requests.length === 0) return;
        continue;
      }
      if (status.paused) {
        setPhase('paused');
        await condition(() => requests.length > 0 || workflowInfo().continueAsNewSuggested);
        continue;
      }
      if (status.nextCheckAt === undefined) scheduleCheck();
      const dueInMs = Date.parse(status.nextCheckAt as string) - Date.now();
      if (dueInMs > 0) {
        intervalChanged = false;
        const woken = await condition(() => requests.length > 0 || intervalChanged, dueInMs);
        if (woken) continue;
      }

      checksThisRun += 1;
      status.checks += 1;
      status.lastCheckAt = iso(Date.now());
      let checked: Awaited<ReturnType<Activities['checkApsJob']>>;
      try {
        const check = () =>
          activities(CHECK_BUDGET_MS).checkApsJob({
            ...ref,
            retryRules: cfg.retryRules,
            // Where a failed job's action logs are read from.
            ...(status.runningSince !== undefined ? { since: Date.parse(status.runningSince) } : {}),
            ...(unknownReported ? { unknownReported } : {}),
          });
        // A pause does not wait behind a check whose API errors are being retried.
        const outcome = patched(Patches.pauseInterruptsCheck)
          ? await interruptible(pauseRequested, check)
          : await check();
        if (outcome === INTERRUPTED) continue;
        checked = outcome;
        unknownReported = checked.unknownReported ?? unknownReported;
      } catch (err) {
        if (!retriedAtNextCheck(err)) throw err;
        status.lastErrorCode = failureTypeOf(err);
        log.warn('check failed: trying again at the next check', { code: status.lastErrorCode });
        scheduleCheck();
        continue;
      }
      status.lastStatus = checked.status;
      scheduleCheck();
      if (checked.class === 'running') continue;
      if (checked.class === 'transitional' || checked.class === 'unknown') {
        // Someone's start may be in progress, or the status says nothing clear: the start activity
        // watches the job for the settle window before acting.
        await ensureRunning();
        continue;
      }
      await ensureRunning({
        at: iso(checked.at),
        status: checked.status,
        errMessage:
          checked.errMessage ??
          (checked.class === 'stopped'
            ? 'stopped by someone else'
            : checked.class === 'completed'
              ? 'the job ended'
              : undefined),
        ...failureReasonsOf(checked),
      });
    }
  };

  try {
    await supervise();
  } catch (err) {
    // A cancel that came while an activity ended otherwise (timed out, failed) is still a cancel
    // (runs of earlier releases failed then).
    const cancelled =
      isCancellation(err) ||
      (CancellationScope.current().consideredCancelled && patched(Patches.startCancellationWaits));
    if (cancelled) {
      setPhase('cancelled');
      if (onCancel === 'suspend' && !status.paused) {
        setPhase('suspending');
        const refused = await suspendJob(suspendActivity, 'supervisor cancelled');
        if (refused) status.suspendError = refused;
        if (patched(Patches.finalPhaseAfterSuspend)) setPhase('cancelled');
      }
      throw isCancellation(err) ? err : new CancelledFailure('superviseApsJob cancelled', [], err as Error);
    }
    const failure = workflowFailure(err, `superviseApsJob for ${cfg.apsJobId}`);
    status.lastErrorCode = failure.type ?? undefined;
    setPhase('failed');
    throw failure;
  }

  const next: SupervisorCarriedState = {
    recentRestarts: inWindow(),
    totalRestarts: status.totalRestarts,
    totalChecks: status.checks,
    runs: status.run,
    paused: status.paused,
    supervisingSince: status.supervisingSince,
    ...(status.runningSince !== undefined ? { runningSince: status.runningSince } : {}),
    ...(status.lastFailure !== undefined ? { lastFailure: status.lastFailure } : {}),
    ...(status.lastStatus !== undefined ? { lastStatus: status.lastStatus } : {}),
    ...(status.nextCheckAt !== undefined && !status.paused ? { nextCheckAt: status.nextCheckAt } : {}),
  };
  log.info('continuing as new', { checks: status.checks, run: status.run });
  await continueAsNew<typeof superviseApsJob>({
    ...input,
    checkInterval: status.checkIntervalMs,
    onCancel,
    carried: next,
  });
}

/**
 * Runs `fn` in a scope of its own that is cancelled once `stop()` holds; resolves to INTERRUPTED
 * then. Cancellation of the workflow itself still propagates.
 */
async function interruptible<T>(stop: () => boolean, fn: () => Promise<T>): Promise<T | typeof INTERRUPTED> {
  const work = new CancellationScope();
  const watch = new CancellationScope();
  const watcher = watch
    .run(() => condition(stop))
    .then(
      () => work.cancel(),
      // The watcher's scope was cancelled: the work ended first.
      () => undefined,
    );
  try {
    return await work.run(fn);
  } catch (err) {
    if (isCancellation(err) && stop() && !CancellationScope.current().consideredCancelled) return INTERRUPTED;
    throw err;
  } finally {
    watch.cancel();
    await watcher;
  }
}

/**
 * Whether an activity failure is one a later attempt may not see: a timeout, or an API error of a
 * class the rules retry (they gave up on this attempt only). The next check tries again.
 */
function retriedAtNextCheck(err: unknown): boolean {
  if (!(err instanceof ActivityFailure)) return false;
  if (err.cause instanceof TimeoutFailure || err.retryState === 'TIMEOUT') return true;
  if (!(err.cause instanceof ApplicationFailure)) return false;
  const d = err.cause.details?.[0] as Partial<ApiFailureDetails> | undefined;
  return typeof d?.retryClass === 'string' && RETRIED_LATER_CLASSES.has(d.retryClass);
}

/** What bringing the job up ended with, when it means "the job is down" rather than a fatal error. */
function downRecordOf(
  err: unknown,
  cfg: NormalizedSuperviseInput,
  lastStatus: string | undefined,
): JobDown | undefined {
  if (!(err instanceof ActivityFailure)) return undefined;
  const at = new Date(Date.now()).toISOString();
  const failed = jobFailedDetails(err);
  if (failed) return { at, ...failed };
  const cause = err.cause;
  if (cause instanceof ApplicationFailure && cause.type === FailureTypes.ApsJobStopped) {
    const d = cause.details?.[0] as { status?: unknown } | undefined;
    return {
      at,
      status: typeof d?.status === 'string' ? d.status : (lastStatus ?? 'Suspended'),
      errMessage: 'stopped by someone else while starting',
    };
  }
  const timedOut = isDeadlineFailure(err);
  if (!timedOut && !retriedAtNextCheck(err)) return undefined;
  return {
    at,
    status: lastStatus ?? 'unknown',
    errMessage: timedOut
      ? `did not reach running within ${formatMs(cfg.startTimeoutMs)}`
      : `${failureTypeOf(err)}: ${cause?.message ?? err.message}`,
  };
}
