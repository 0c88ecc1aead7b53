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
  TimeoutFailure,
  upsertSearchAttributes,
  workflowInfo,
  log,
  patched,
} from '@temporalio/workflow';
import type {
  PendingWait,
  StartApsJobResult,
  WaitForApsJobResult,
  WaitHandBack,
  WaitResume,
} from '../activities';
import { pollDelayMs } from '../poll-schedule';
import {
  ApsJobIdKey,
  ApsPhaseKey,
  awaitRunUpdate,
  type AwaitRunInput,
  extendDeadlineUpdate,
  FailureTypes,
  RUN_ENDING,
  setDeadlineUpdate,
  setOnCancelSignal,
  setOnCancelUpdate,
  setPollIntervalUpdate,
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
import {
  normalizeRunInput,
  validateExtendDeadline,
  validateSetDeadline,
  validateSetOnCancel,
  validateSetPollInterval,
  type NormalizedRunInput,
} from '../input';
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

/** How long a wait held by a worker's waiter is heartbeated often while the run re-schedules it. */
const HEARTBEAT_OFTEN_MS = 10_000;
/** Bound of the read of the run's pending wait before it is re-scheduled. */
const PENDING_WAIT_BUDGET_MS = 30_000;

/**
 * Starts the job (idempotently) and polls it to `target`; with `onJobFailure`, restarts it after a
 * backoff when it fails while waited on, within a budget. Fails with an ApplicationFailure whose
 * type says why: the API code, `ApsJobFailed`, `ApsJobStopped`, `ApsJobTimeout` or `InvalidWorkflowInput`.
 * Updates `setPollInterval`, `setDeadline`, `extendDeadline` and `setOnCancel` steer it while it is
 * open: a wait in flight is re-scheduled under a new interval or deadline, a start in flight never.
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
  const root = CancellationScope.current();
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
    if (action === 'suspend' || action === 'leave') {
      onCancelOverride = action;
      status.onCancel = action;
    }
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
  const iso = (ms: number): string => new Date(ms).toISOString();
  // What the updates change while the run is open; each wait and start reads them when scheduled.
  const originalDeadline = workflowStartedAt + cfg.timeoutMs;
  let deadline = originalDeadline;
  let pollIntervalMs = cfg.pollIntervalMs;
  let pollSchedule = cfg.pollSchedule;
  /** Bumped by each accepted change that a wait in flight is re-scheduled for. */
  let changes = 0;
  Object.assign(status, {
    target: cfg.target,
    deadline: iso(deadline),
    pollIntervalMs,
    ...(pollSchedule ? { pollSchedule } : {}),
    onCancel: onCancelOverride ?? cfg.onCancel,
  });
  const ref = { regionId: cfg.regionId, apsJobId: cfg.apsJobId };
  const remainingMs = (): number => deadline - Date.now();

  /**
   * The validators of the updates: a bad value, or any change once the run is ending, is rejected
   * before it is recorded, so it leaves no trace in the history.
   */
  const validated = <T>(update: string, check: () => T): T => {
    if (root.consideredCancelled || ['suspending', 'done', 'failed', 'cancelled'].includes(status.phase)) {
      throw ApplicationFailure.create({
        type: RUN_ENDING,
        message: `${update}: the run is ${root.consideredCancelled ? 'being cancelled' : status.phase}; there is nothing left to change`,
        nonRetryable: true,
      });
    }
    try {
      return check();
    } catch (err) {
      if (err instanceof InputValidationError) throw invalidInputFailure(err);
      throw err;
    }
  };
  setHandler(
    setPollIntervalUpdate,
    (arg) => {
      const next = validateSetPollInterval(arg);
      pollIntervalMs = next.pollIntervalMs;
      pollSchedule = next.pollSchedule;
      status.pollIntervalMs = pollIntervalMs;
      if (pollSchedule) status.pollSchedule = pollSchedule;
      else delete status.pollSchedule;
      changes++;
      log.info('poll interval changed', { pollIntervalMs, pollSchedule });
      return status;
    },
    { validator: (arg) => void validated('setPollInterval', () => validateSetPollInterval(arg)) },
  );
  const moveDeadline = (to: number, by: string): RunApsJobStatus => {
    deadline = to;
    status.deadline = iso(to);
    changes++;
    log.info('deadline moved', { deadline: status.deadline, by });
    return status;
  };
  // The validators compare with the workflow's clock, as the handlers do.
  setHandler(setDeadlineUpdate, (arg) => moveDeadline(validateSetDeadline(arg, Date.now()), 'setDeadline'), {
    validator: (arg) => void validated('setDeadline', () => validateSetDeadline(arg, Date.now())),
  });
  setHandler(
    extendDeadlineUpdate,
    (arg) => moveDeadline(validateExtendDeadline(arg, deadline, Date.now()), 'extendDeadline'),
    {
      validator: (arg) =>
        void validated('extendDeadline', () => validateExtendDeadline(arg, deadline, Date.now())),
    },
  );
  setHandler(
    setOnCancelUpdate,
    (arg) => {
      onCancelOverride = validateSetOnCancel(arg);
      status.onCancel = onCancelOverride;
      return status;
    },
    { validator: (arg) => void validated('setOnCancel', () => validateSetOnCancel(arg)) },
  );

  // Unlimited attempts until the run's deadline (the schedule-to-close).
  const activities = (scheduleToCloseMs: number) => activitiesWith(cfg.activityTimeoutMs, scheduleToCloseMs);
  // Each status outside the known table is reported once per run.
  let unknownReported: string[] | undefined;
  let suspendError: SuspendError | undefined;

  const timeoutFailure = (cause?: Error): ApplicationFailure =>
    ApplicationFailure.create({
      type: FailureTypes.ApsJobTimeout,
      message:
        deadline === originalDeadline
          ? `APS job ${cfg.apsJobId} did not reach ${cfg.target} within ${cfg.timeoutMs} ms`
          : `APS job ${cfg.apsJobId} did not reach ${cfg.target} by ${iso(deadline)}, its deadline as ` +
            `moved by an update (its timeout of ${cfg.timeoutMs} ms gave ${iso(originalDeadline)})`,
      nonRetryable: true,
      details: [
        {
          lastStatus: status.lastStatus,
          lastErrorCode: status.lastErrorCode,
          ...(deadline !== originalDeadline ? { deadline: iso(deadline) } : {}),
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
  const maxDelayMs = (): number => pollSchedule?.maxMs ?? pollIntervalMs;
  const inProcessSpec = { windowMs: IN_PROCESS_WINDOW_MS };
  const waitSpec = () => ({
    pollIntervalMs,
    ...(pollSchedule ? { pollSchedule } : {}),
    stoppedGraceMs: cfg.stoppedGraceMs,
    waitOutageMs: cfg.waitOutageMs,
    inProcess: inProcessSpec,
  });

  /**
   * Awaits a start. A change made meanwhile never cancels it: once the start's own wait is held by
   * the waiter of a worker that reads the run's pending start, it is handed back (as at the end of
   * its window) and the wait that follows takes the change. The pending start is read again after
   * 1 s, 2 s, … (at most a minute apart) until then, or until the start returns by itself. Without
   * an update, no command.
   */
  const whileStarting = async (start: Promise<StartApsJobResult>): Promise<StartApsJobResult> => {
    let done = false;
    const watch = async (): Promise<void> => {
      let seen = changes;
      for (;;) {
        await condition(() => done || changes !== seen);
        if (done) return;
        seen = changes;
        for (let delay = 1_000; ; delay = Math.min(2 * delay, 60_000)) {
          const pending = await activities(PENDING_WAIT_BUDGET_MS).readPendingWait({
            activityType: 'startApsJob',
          });
          if (!pending.found || pending.heldHere) {
            if (pending.heldHere) log.info("start's own wait handed back for the run's new settings");
            break;
          }
          if (await condition(() => done, delay)) return;
        }
      }
    };
    void watch().catch((err: unknown) => {
      // The start's own outcome decides; a cancel of the run reaches the start itself.
      if (!isCancellation(err)) log.warn('could not look at the start under way', { error: String(err) });
    });
    try {
      return await start;
    } finally {
      done = true;
    }
  };

  /** The interval the last start was given (its own wait reads at it). */
  let startedWith = { pollIntervalMs, pollSchedule };

  const startJob = async (): Promise<StartApsJobResult> => {
    let start: StartApsJobResult;
    for (;;) {
      setPhase('starting');
      startedWith = { pollIntervalMs, pollSchedule };
      // The run's deadline is `notAfter`: the activity sends no start past it, and an attempt under
      // way is never cut by the server (one activityTimeout more), so a suspend that follows comes
      // after every StartApsJob that was sent. A start in flight is never cancelled by an update:
      // it keeps the deadline and interval it was scheduled with.
      const inProcess = patched(Patches.inProcessWait);
      const notAfter = deadline;
      const scheduleToCloseMs = remainingMs() + cfg.activityTimeoutMs;
      try {
        start = await whileStarting(
          (inProcess
            ? inProcessActivities(
                cfg.activityTimeoutMs,
                scheduleToCloseMs,
                maxDelayMs(),
                true,
                cfg.heartbeatTimeoutMs,
              )
            : startActivities(cfg.activityTimeoutMs, scheduleToCloseMs)
          ).startApsJob({
            ...ref,
            target: cfg.target,
            retryRules: cfg.retryRules,
            settleMs: cfg.settleWindowMs,
            settleIntervalMs: Math.min(pollIntervalMs, 5_000),
            notAfter,
            ...(unknownReported ? { unknownReported } : {}),
            // The wait goes on in the same activity: no workflow task and no activity between them.
            ...(inProcess ? { wait: waitSpec() } : {}),
          }),
        );
        break;
      } catch (err) {
        // The deadline moved later while the start was under way, and the start stopped at the one
        // it was given before any StartApsJob went out: it is made again under the new deadline.
        // (After a StartApsJob whose outcome is unknown it is not: a new start would not know of it.)
        if (deadline > notAfter && remainingMs() > 0 && stoppedBeforeAnyStart(err)) {
          log.info('start stopped at its deadline before sending; starting again under the later one', {
            deadline: iso(deadline),
          });
          continue;
        }
        throw err;
      }
    }
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
    if (delay > 0) await backOff(delay, err);
    if (remainingMs() <= 0) throw timeoutFailure(err);
    const start = await startJob();
    restart.restartedAt = new Date(start.at).toISOString();
    return start;
  };

  /**
   * Sleeps the backoff before a restart. A deadline moved meanwhile to before the end of it ends the
   * run at once (the restart would come too late); without an update it is one timer, as a sleep.
   */
  const backOff = async (delayMs: number, cause: Error): Promise<void> => {
    const until = Date.now() + delayMs;
    let seen = deadline;
    while (until > Date.now() && (await condition(() => deadline !== seen, until - Date.now()))) {
      seen = deadline;
      if (until >= deadline) throw timeoutFailure(cause);
    }
  };

  /**
   * Waits for the target after `start`. A change of the poll interval or of the deadline re-schedules
   * the wait in flight: it is cancelled, hands back its state (reads made, stale-read and stopped
   * watches, retry budgets, when the next read is due), and a new wait resumes from it.
   */
  const waitForTarget = async (start: StartApsJobResult): Promise<WaitForApsJobResult> => {
    let resume = start.waitState;
    // The interval the wait so far read at: the start's, then each re-scheduled wait's.
    let heldWith = startedWith;
    for (;;) {
      if (remainingMs() <= 0) throw timeoutFailure();
      if (resume && (heldWith.pollIntervalMs !== pollIntervalMs || heldWith.pollSchedule !== pollSchedule)) {
        // Changed since: the next read comes the new interval after the last one (or the start).
        const from = resume.lastReadAt ?? start.at;
        resume = {
          ...resume,
          nextReadAt: from + pollDelayMs(pollIntervalMs, pollSchedule, Math.max(1, resume.polls)),
        };
      }
      const seen = changes;
      heldWith = { pollIntervalMs, pollSchedule };
      const inProcess = patched(Patches.inProcessWait);
      // A cancel of the wait waits for its hand-back (no command differs from a plain cancel).
      const waits = inProcess
        ? inProcessActivities(
            cfg.activityTimeoutMs,
            remainingMs(),
            maxDelayMs(),
            true,
            cfg.heartbeatTimeoutMs,
          )
        : activitiesWith(cfg.activityTimeoutMs, remainingMs(), true);
      const waitInput = {
        ...ref,
        target: cfg.target,
        pollIntervalMs,
        stoppedGraceMs: cfg.stoppedGraceMs,
        retryRules: cfg.retryRules,
        startedAt: start.at,
        waitOutageMs: cfg.waitOutageMs,
        ...(start.statusBefore !== undefined ? { statusBefore: start.statusBefore } : {}),
        ...(unknownReported ? { unknownReported } : {}),
        ...(pollSchedule ? { pollSchedule } : {}),
        ...(resume ? { resume } : {}),
        ...(inProcess ? { inProcess: inProcessSpec } : {}),
      };
      // Asked in the cancelled run, the wait is refused at once, with no command, as ever.
      if (root.consideredCancelled) return await waits.waitForApsJob(waitInput);
      // Scheduled in a scope of its own that the run's cancel does not reach: the run re-schedules
      // it by cancelling that scope, and ends it on a cancel of its own below.
      const waitScope = new CancellationScope({
        cancellable: true,
        parent: new CancellationScope({ cancellable: false }),
      });
      let wait!: Promise<WaitForApsJobResult>;
      void waitScope.run(async () => {
        wait = waits.waitForApsJob(waitInput);
        await wait.catch(() => undefined);
      });
      let settled = false;
      wait.then(
        () => (settled = true),
        () => (settled = true),
      );
      // The run's cancel ends the wait as it always did: at once, with the cancel requested from
      // the server, unless the wait's own outcome came in the same activation (it then stands).
      const runCancelled = new Promise<never>((_, reject) => {
        root.cancelRequested.catch(async (err: CancelledFailure) => {
          // Not cut short by the cancel it waits on.
          await CancellationScope.nonCancellable(afterQueuedMicrotasks);
          if (settled) return;
          waitScope.cancel();
          reject(err);
        });
      });
      runCancelled.catch(() => undefined);
      await Promise.race([condition(() => settled || changes !== seen), runCancelled]);
      if (settled) return await wait;

      const handedBack = await handOver(wait, waitScope, () => settled, resume);
      if ('reached' in handedBack) return handedBack.reached;
      unknownReported = handedBack.unknownReported ?? unknownReported;
      resume = handedBack.resume;
      log.info('wait re-scheduled', {
        polls: resume.polls,
        pollIntervalMs,
        deadline: iso(deadline),
        ...(resume.nextReadAt !== undefined ? { nextReadAt: iso(resume.nextReadAt) } : {}),
      });
    }
  };

  /**
   * Stops a wait in flight for a re-schedule: reads it on the server, cancels it, and takes its
   * hand-back. The wait's own outcome, when it came first, stands.
   */
  const handOver = async (
    wait: Promise<WaitForApsJobResult>,
    waitScope: CancellationScope,
    settled: () => boolean,
    given: WaitResume | undefined,
  ): Promise<{ reached: WaitForApsJobResult } | WaitHandBack> => {
    // A wait between two attempts is cancelled by the server at once, without its state: that
    // state is read first (and a wait held by a worker's waiter is heartbeated often meanwhile,
    // so that it hears of the cancel at once).
    let onServer: PendingWait | undefined;
    try {
      onServer = await activities(PENDING_WAIT_BUDGET_MS).readPendingWait({
        activityType: 'waitForApsJob',
        heartbeatOftenMs: HEARTBEAT_OFTEN_MS,
      });
    } catch (err) {
      if (isCancellation(err)) throw err;
      log.warn('could not read the wait on the server before re-scheduling it', {
        error: err instanceof Error ? err.message : String(err),
      });
    }
    waitScope.cancel();
    if (!settled()) {
      // The deadline holds while the wait ends (a shorter one may come first).
      if (remainingMs() <= 0 || !(await condition(settled, remainingMs()))) throw timeoutFailure();
    }
    try {
      return { reached: await wait };
    } catch (err) {
      const handBack = handBackIn(err);
      if (handBack) return handBack;
      if (!endedForReschedule(err, remainingMs() > 0)) throw err;
      // Cancelled between two attempts: the state the wait left on the server.
      if (onServer?.handBack) {
        // Exact when no attempt could start between the read and the cancel.
        const exact =
          onServer.running === false &&
          onServer.nextAttemptAt !== undefined &&
          Date.now() < onServer.nextAttemptAt;
        if (!exact) {
          log.warn(
            'wait re-scheduled from the state it left on the server: a read made since may be missing',
            {
              polls: onServer.handBack.resume.polls,
            },
          );
        }
        return onServer.handBack;
      }
      if (!(onServer?.running === false && onServer.attempt === 1)) {
        log.warn('wait re-scheduled from the state it was given: reads made since may be missing');
      }
      return { resume: given ?? { polls: 0 } };
    }
  };

  try {
    if (remainingMs() <= 0) throw timeoutFailure();
    let start = await startJob();
    let reached: WaitForApsJobResult;
    for (;;) {
      if (start.reached) {
        reached = start.reached;
        break;
      }
      setPhase('waiting');
      if (remainingMs() <= 0) throw timeoutFailure();
      try {
        reached = await waitForTarget(start);
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

/** The state a wait handed back in the failure that ended it (cancellation or retried failure). */
function handBackIn(err: unknown): WaitHandBack | undefined {
  if (!(err instanceof ActivityFailure)) return undefined;
  const cause = err.cause;
  let d: unknown;
  if (cause instanceof CancelledFailure) d = cause.details?.[0];
  else if (cause instanceof ApplicationFailure && !cause.nonRetryable)
    d = (cause.details?.[0] as { handBack?: unknown } | undefined)?.handBack;
  const resume = (d as Partial<WaitHandBack> | undefined)?.resume;
  return typeof resume === 'object' && resume !== null && typeof resume.polls === 'number'
    ? (d as WaitHandBack)
    : undefined;
}

/**
 * Whether a wait cancelled for a re-schedule ended that way rather than with an outcome of its own:
 * cancelled (the server does so at once between attempts), a failure it would have retried, or a
 * timeout of an attempt while the run's deadline is still ahead.
 */
function endedForReschedule(err: unknown, deadlineAhead: boolean): boolean {
  if (!(err instanceof ActivityFailure)) return false;
  const cause = err.cause;
  return (
    cause instanceof CancelledFailure ||
    (cause instanceof ApplicationFailure && !cause.nonRetryable) ||
    (cause instanceof TimeoutFailure && deadlineAhead)
  );
}

/** A start that stopped at its deadline (`notAfter`) before any StartApsJob went out. */
function stoppedBeforeAnyStart(err: unknown): boolean {
  if (!(err instanceof ActivityFailure) || !(err.cause instanceof ApplicationFailure)) return false;
  const d = err.cause.details?.[0] as { startSent?: unknown } | undefined;
  return err.cause.type === FailureTypes.ApsJobTimeout && d?.startSent === false;
}

/**
 * Resolves once the microtasks queued so far have run: at the workflow's next look at its blocked
 * conditions, after the activation's jobs and what they set off (no command).
 */
function afterQueuedMicrotasks(): Promise<void> {
  let looked = false;
  return condition(() => {
    const again = looked;
    looked = true;
    return again;
  });
}
