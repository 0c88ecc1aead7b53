/**
 * Activities over the {@link ApsApi}: an idempotent start, a one-read wait step, a one-read check,
 * a suspend, and the fleet reconciler's scan, adoption and ending of gone supervisors (`fleet.ts`).
 * Created by closure over their dependencies; they never read `process.env`.
 */
import { activityInfo, CompleteAsyncError, Context, heartbeat, log } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure, type Logger } from '@temporalio/common';
import { consoleUrl, readRecentErrors } from '../aps/action-logs';
import type { ApsApi, ApsError, ApsJobSummary, JobRef, JobStatus, StatusClass } from '../aps/types';
import { resolveRules, validateRetryRules, waitDefaultRules } from '../retry';
import type { RetryRule, RetryRuleInput, RuleCounters } from '../retry/types';
import { InputValidationError, validateApsJobId, validateRegionId } from '../validation';
import { FailureTypes, type JobTarget } from '../api';
import type { FailureReasons, JobFailedDetails } from '../failures';
import { apiFailure, invalidInputFailure, notReadyFailure, toApsError } from './failures';
import { pollDelayMs, type PollSchedule } from './poll-schedule';
import type { InProcessWaiter, WaitOutcome } from './waiter';
import { ERR_MESSAGE_MAX_PAGES } from './call-budget';
import { createFleetActivities, type FleetActivityDeps } from './fleet';
import { createOrchestratorActivities } from './orchestrators';
import { readPendingActivity } from './pending-wait';

export {
  InProcessWaiter,
  type CompletionLike,
  type HeldActivity,
  type InProcessWaiterOptions,
  type WaitEntry,
  type WaitOutcome,
  type WaiterStats,
} from './waiter';
export { pollDelayMs, type PollSchedule } from './poll-schedule';
export {
  WORKFLOW_STILL_OPEN,
  type ClosedWorkflow,
  type JobOrchestrators,
  type OpenWorkflow,
} from './orchestrators';
export {
  ACTION_LOG_MAX_CALLS,
  ERR_MESSAGE_MAX_PAGES,
  RATE_LIMITED_ACTION_LOG_CALLS,
  RATE_LIMITED_CALLS_PER_ATTEMPT,
  RATE_LIMITED_ERR_MESSAGE_PAGES,
  maxApiCallsPerAttempt,
} from './call-budget';
export {
  createFleetActivities,
  type AdoptApsJobsInput,
  type AdoptionOutcome,
  type EndGoneSupervisorsInput,
  type FleetActivities,
  type FleetActivityDeps,
  type ScanApsFleetInput,
  type ScanApsFleetResult,
} from './fleet';

/** Longest delay between reads that a wait holds in process; longer ones go back to the server. */
export const IN_PROCESS_MAX_DELAY_MS = 60_000;
/**
 * Longest wait for a failed job's action logs (every page of them), ms: past it the failure is
 * reported without them, so a slow DescribeApsActionLogs cannot hold the outcome back.
 */
export const ACTION_LOGS_TIMEOUT_MS = 10_000;
/** Margin kept before an attempt's own timeouts when a wait is held in process, ms. */
const IN_PROCESS_MARGIN_MS = 10_000;

/** Observers for metrics; every field optional. */
export interface ActivityObservers {
  /** A rule granted a retry (or refused one). */
  onRetryDecision?(e: { action: string; code: string; rule?: string; retry: boolean }): void;
  /** The job reached its target. */
  onTargetReached?(e: { target: JobTarget; sinceStartMs: number }): void;
  /** A status outside the known table was read (once per status and run). */
  onUnknownStatus?(e: { status: string }): void;
}

/** Dependencies of the activities. */
export interface ActivityDeps {
  /** The APS API (the real client, or a fake in unit tests). */
  aps: ApsApi;
  /** Worker-wide rules, validated at worker start; placed after workflow rules, before the defaults. */
  workerRules?: RetryRule[];
  /** Metric hooks. */
  observers?: ActivityObservers;
  /** The Temporal client of the fleet activities (default: the worker's, from the activity context). */
  temporal?: FleetActivityDeps['temporal'];
  /** Clock (tests). */
  now?: () => number;
  /** Jitter source (tests). */
  random?: () => number;
  /** Bound of the action-log read of a failed job, ms (default {@link ACTION_LOGS_TIMEOUT_MS}). */
  actionLogsTimeoutMs?: number;
  /**
   * The worker's in-process waiter: with it, a wait whose attempt has a heartbeat timeout is held
   * in process between reads (no slot, no server round trip per read); without it, every read is
   * one attempt.
   */
  waiter?: InProcessWaiter;
  /**
   * DescribeApsJobs pages read at most to find a failed job's ErrMessage (default
   * {@link ERR_MESSAGE_MAX_PAGES}); with the waits, it bounds the API calls of one attempt
   * ({@link maxApiCallsPerAttempt}).
   */
  errMessagePages?: number;
  /** DescribeApsActionLogs calls at most to read a failed job's reasons (default 3). */
  actionLogCalls?: number;
}

/** Input of {@link Activities.startApsJob}. */
export interface StartApsJobInput extends JobRef {
  /** Target state: a job found `running` counts as started either way. */
  target: JobTarget;
  /** Workflow-level rules (validated by the workflow). */
  retryRules?: RetryRuleInput[];
  /**
   * How long a job found in a transitional state (someone's start in progress) is watched before
   * starting it anyway, ms.
   */
  settleMs: number;
  /** Delay between reads while a transitional job settles, ms. */
  settleIntervalMs: number;
  /** Epoch ms from which no StartApsJob is sent: the run's deadline (the attempt fails `ApsJobTimeout`). */
  notAfter?: number;
  /** Unknown statuses the run already reported (each is reported once per run). */
  unknownReported?: string[];
  /**
   * Wait for the target in the same attempt, once the job is started: the result then carries
   * `reached`, or `waitState` when the wait is handed back to {@link Activities.waitForApsJob}
   * (a worker without an in-process waiter returns neither).
   */
  wait?: StartThenWait;
}

/** The wait that follows a start in the same attempt (see {@link StartApsJobInput.wait}). */
export type StartThenWait = Pick<
  WaitForApsJobInput,
  'pollIntervalMs' | 'pollSchedule' | 'stoppedGraceMs' | 'waitOutageMs' | 'inProcess'
>;

/** Result of {@link Activities.startApsJob}. */
export interface StartApsJobResult {
  /** True when our StartApsJob took effect; false when the job was already running (reattached). */
  started: boolean;
  /** The raw status last read. */
  status: string;
  /** Request ID of the StartApsJob call that took effect. */
  requestId?: string;
  /** Epoch ms when the start took effect or the job was found running. */
  at: number;
  /**
   * The raw status read before our start was sent, when we started the job: a read of that same
   * terminal status right after the start may be stale, and the wait does not trust it at once.
   */
  statusBefore?: string;
  /** Unknown statuses reported so far in the run (this one's included). */
  unknownReported?: string[];
  /** With {@link StartApsJobInput.wait}: the target was reached in the same attempt. */
  reached?: WaitForApsJobResult;
  /** With {@link StartApsJobInput.wait}: the wait was handed back; `waitForApsJob` resumes from it. */
  waitState?: WaitResume;
}

/** Where a wait handed back by a start resumes (see {@link WaitForApsJobInput.resume}). */
export interface WaitResume {
  /** Reads made so far. */
  polls: number;
  /** Epoch ms since when the job has looked stopped. */
  stoppedSince?: number;
  /** The job was seen in a status other than `statusBefore`. */
  leftBefore?: boolean;
  /** Epoch ms since when the job has read `statusBefore` after our start. */
  staleSince?: number;
  /** The raw status last logged. */
  lastLogged?: string;
  /** Epoch ms when the next read is due (a wait handed back between two reads keeps its delay). */
  nextReadAt?: number;
  /** Epoch ms of the last read (a new poll interval counts from it). */
  lastReadAt?: number;
  /**
   * Per-rule budget use of failed reads: a wait re-scheduled by the run keeps it (a start's hand
   * back does not: the wait after it begins afresh).
   */
  counters?: RuleCounters;
}

/**
 * What a wait hands back to its run when the run stops it to re-schedule it (a new poll interval
 * or deadline): the details of its cancellation, and of a retried failure that ended it instead.
 */
export interface WaitHandBack {
  /** Where the re-scheduled wait resumes. */
  resume: WaitResume;
  /** Unknown statuses reported so far in the run. */
  unknownReported?: string[];
}

/** Input of {@link Activities.waitForApsJob}. */
export interface WaitForApsJobInput extends JobRef {
  /** Target state. */
  target: JobTarget;
  /** Delay between reads, ms (the fixed interval; `pollSchedule` overrides it). */
  pollIntervalMs: number;
  /** An adaptive interval: the delay grows from `initialMs` by `coefficient` per read up to `maxMs`. */
  pollSchedule?: PollSchedule;
  /**
   * Hold the wait in process between reads for at most `windowMs` per attempt, when the worker has
   * an in-process waiter and the attempt a heartbeat timeout (absent: one read per attempt).
   */
  inProcess?: { windowMs: number };
  /** State handed back by a start that waited first ({@link StartApsJobResult.waitState}). */
  resume?: WaitResume;
  /** How long the job may look stopped before that is final (a fresh start may read stale), ms. */
  stoppedGraceMs: number;
  /** Workflow-level rules. */
  retryRules?: RetryRuleInput[];
  /** Epoch ms when the job was started, for the start-to-target metric. */
  startedAt?: number;
  /**
   * The status the job had before our start ({@link StartApsJobResult.statusBefore}): until the
   * job is seen leaving it, a completed or failed read of that same status counts as stale for
   * `stoppedGraceMs`.
   */
  statusBefore?: string;
  /**
   * How long status reads may fail transiently before the wait gives up, ms: an outage is bounded
   * by time, not by a count (absent: the `transient` rule's count, as before this field existed).
   */
  waitOutageMs?: number;
  /** Unknown statuses the run already reported. */
  unknownReported?: string[];
}

/** Result of {@link Activities.waitForApsJob}. */
export interface WaitForApsJobResult {
  /** The raw status at the target. */
  status: string;
  /** Reads made while waiting (successful or not). */
  polls: number;
  /** Epoch ms when the target was observed. */
  at: number;
}

/** Input of {@link Activities.readPendingWait}. */
export interface ReadPendingWaitInput {
  /**
   * `waitForApsJob`: the run is about to cancel its wait to re-schedule it. `startApsJob`: the run
   * never cancels its start, but a start whose own wait this worker's waiter holds is handed back
   * now, as when its window ends (the start completes with its `waitState`).
   */
  activityType: 'waitForApsJob' | 'startApsJob';
  /**
   * How long a wait held by this worker's waiter is heartbeated at every sweep, ms: the cancel the
   * run sends next is heard at once rather than at the next regular heartbeat.
   */
  heartbeatOftenMs?: number;
}

/** Result of {@link Activities.readPendingWait}. */
export interface PendingWait {
  /** The run has such an activity pending on the server. */
  found: boolean;
  /** An attempt is under way (a worker runs it or its waiter holds it); false between attempts. */
  running?: boolean;
  /** The attempt under way, or the next one. */
  attempt?: number;
  /** The state its last attempt left on the server (absent before any attempt did). */
  handBack?: WaitHandBack;
  /** Epoch ms when the server runs the next attempt (between attempts). */
  nextAttemptAt?: number;
  /** This worker's waiter holds the attempt (a wait: now heartbeated often; a start: handed back). */
  heldHere?: boolean;
}

/** Input of {@link Activities.suspendApsJob}. */
export interface SuspendApsJobInput extends JobRef {
  /** Workflow-level rules. */
  retryRules?: RetryRuleInput[];
}

/** Input of {@link Activities.checkApsJob}. */
export interface CheckApsJobInput extends JobRef {
  /** Workflow-level rules. */
  retryRules?: RetryRuleInput[];
  /** Epoch ms since when the job has been running: where a failed job's action logs are read from. */
  since?: number;
  /** Unknown statuses the run already reported. */
  unknownReported?: string[];
}

/** Result of {@link Activities.checkApsJob}; a failed job's reasons come with it. */
export interface CheckApsJobResult extends FailureReasons {
  /** The raw status. */
  status: string;
  /** Its class. */
  class: StatusClass;
  /** The job's ErrMessage, looked up when the job is failed. */
  errMessage?: string;
  /** Epoch ms of the read. */
  at: number;
  /** Unknown statuses reported so far in the run (this one's included). */
  unknownReported?: string[];
}

/** Details of an `ApsJobFailed` failure. */
export type { JobFailedDetails } from '../failures';

/** Heartbeat details of the start activity. */
interface StartState {
  counters: RuleCounters;
  /** A StartApsJob request was sent by an earlier attempt; its outcome is unknown. */
  startSent?: boolean;
  /** The raw status read before the first StartApsJob was sent (absent in older details). */
  statusBefore?: string;
  /** Epoch ms when a transitional or unknown status was first seen before our start. */
  transitionalSince?: number;
  /** Epoch ms since when the job, after an ambiguous start, still reads `statusBefore`. */
  unmovedSince?: number;
  /** Unknown statuses reported in the run. */
  unknownReported?: string[];
  /** The start took effect (or the job was found running): the attempt only waits now. */
  started?: StartApsJobResult;
  /** The wait's state after the start, when {@link StartApsJobInput.wait} is given. */
  wait?: WaitState;
}

/** Heartbeat details of the wait activity. */
interface WaitState {
  counters: RuleCounters;
  /** Reads made so far (absent in older details: the attempt number counts them). */
  polls?: number;
  /** Epoch ms since when the job has looked stopped. */
  stoppedSince?: number;
  /** The raw status last logged, so each new status is logged once. */
  lastLogged?: string;
  /** The job was seen in a status other than `statusBefore`: its reads are fresh. */
  leftBefore?: boolean;
  /** Epoch ms since when the job has read `statusBefore` (completed or failed) after our start. */
  staleSince?: number;
  /** Unknown statuses reported in the run. */
  unknownReported?: string[];
  /** Epoch ms of the last read. */
  lastReadAt?: number;
}

/** The hand-back of a wait in `state` whose next read is due at `nextReadAt`. */
function handBackOf(state: WaitState, nextReadAt: number | undefined): WaitHandBack {
  return {
    resume: {
      polls: state.polls ?? 0,
      ...(state.stoppedSince !== undefined ? { stoppedSince: state.stoppedSince } : {}),
      ...(state.leftBefore ? { leftBefore: true } : {}),
      ...(state.staleSince !== undefined ? { staleSince: state.staleSince } : {}),
      ...(state.lastLogged !== undefined ? { lastLogged: state.lastLogged } : {}),
      ...(nextReadAt !== undefined ? { nextReadAt } : {}),
      ...(state.lastReadAt !== undefined ? { lastReadAt: state.lastReadAt } : {}),
      ...(Object.keys(state.counters).length > 0 ? { counters: state.counters } : {}),
    },
    ...(state.unknownReported ? { unknownReported: state.unknownReported } : {}),
  };
}

/**
 * The same failure with the wait's hand-back in its first detail: a run that stopped the wait to
 * re-schedule it, and got this retried failure instead of the cancellation, resumes from it.
 */
function withHandBack(failure: ApplicationFailure, handBack: WaitHandBack): ApplicationFailure {
  const [first, ...rest] = failure.details ?? [];
  return ApplicationFailure.create({
    type: failure.type ?? undefined,
    message: failure.message,
    nonRetryable: failure.nonRetryable === true,
    ...(failure.nextRetryDelay != null ? { nextRetryDelay: failure.nextRetryDelay } : {}),
    ...(failure.category != null ? { category: failure.category } : {}),
    details: [{ ...(first as object | undefined), handBack }, ...rest],
  });
}

/** Whether two raw statuses name the same status (the API's case varies). */
function sameStatus(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

/** Creates the activities. */
export function createActivities(deps: ActivityDeps) {
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const { aps, observers } = deps;
  const errMessagePages = deps.errMessagePages ?? ERR_MESSAGE_MAX_PAGES;

  /** The rules in force for an input; bad workflow rules fail the attempt as invalid input. */
  const rulesFor = (input: { retryRules?: RetryRuleInput[]; waitOutageMs?: number }): RetryRule[] => {
    try {
      return resolveRules({
        workflowRules: input.retryRules ? validateRetryRules(input.retryRules, 'retryRules') : undefined,
        workerRules: deps.workerRules,
        ...(input.waitOutageMs !== undefined ? { defaults: waitDefaultRules(input.waitOutageMs) } : {}),
      });
    } catch (err) {
      if (err instanceof InputValidationError) throw invalidInputFailure(err);
      throw err;
    }
  };

  const validateRef = (ref: JobRef): void => {
    try {
      validateRegionId(ref.regionId);
      validateApsJobId(ref.apsJobId);
    } catch (err) {
      if (err instanceof InputValidationError) throw invalidInputFailure(err);
      throw err;
    }
  };

  const prepare = <T extends { counters?: RuleCounters }>(
    input: JobRef & { retryRules?: RetryRuleInput[]; waitOutageMs?: number },
  ) => {
    validateRef(input);
    const rules = rulesFor(input);
    const prior = (activityInfo().heartbeatDetails ?? {}) as T;
    return { rules, prior, counters: prior.counters ?? {} };
  };

  /** Where a step saves its state and logs: the activity's context, or a wait held in process. */
  interface Io {
    log: Logger;
    save: (details: Record<string, unknown>) => void;
    attempt: number;
    /**
     * Read a failed job's reasons (action logs) for its `ApsJobFailed` (default true). False where
     * the failure is only handed on for the wait activity to read again and report.
     */
    explain?: boolean;
  }
  const activityIo = (): Io => {
    const ctx = Context.current();
    return { log: ctx.log, save: (d) => ctx.heartbeat(d), attempt: ctx.info.attempt };
  };

  /** Applies the rules to an API error: the failure to throw, and the retry delay when it retries. */
  const decide = (
    action: string,
    error: ApsError,
    rules: RetryRule[],
    counters: RuleCounters,
    extra: Record<string, unknown>,
    minDelayMs = 0,
    io: Io = activityIo(),
  ): { failure: ApplicationFailure; delayMs?: number } => {
    const { failure, decision, delayMs } = apiFailure(
      error,
      rules,
      { counters },
      extra,
      minDelayMs,
      now,
      random,
      io.save,
    );
    observers?.onRetryDecision?.({
      action,
      code: error.code,
      rule: decision.ruleName,
      retry: decision.retry,
    });
    io.log.warn(`${action} failed`, {
      code: error.code,
      httpStatus: error.httpStatus,
      requestId: error.requestId,
      retryClass: error.retryClass,
      retry: decision.retry,
      rule: decision.ruleName,
      reason: decision.reason,
      attempt: io.attempt,
    });
    return { failure, ...(decision.retry ? { delayMs } : {}) };
  };
  const fail = (...args: Parameters<typeof decide>): ApplicationFailure => decide(...args).failure;

  /**
   * Warns about a status outside the known table, once per status and run (`reported` travels in
   * heartbeat details and from one activity to the next); returns the updated list.
   */
  const noteUnknown = (
    status: JobStatus,
    reported: string[] | undefined,
    logger: Logger = log,
  ): string[] | undefined => {
    if (status.class !== 'unknown' || reported?.includes(status.raw)) return reported;
    logger.warn('job reports a status outside the known table: treated as not ready', { status: status.raw });
    observers?.onUnknownStatus?.({ status: status.raw });
    return [...(reported ?? []), status.raw];
  };

  /**
   * Best-effort lookup of a job in DescribeApsJobs, for its ErrMessage (the detail call does not
   * have it) and its creation time.
   */
  const findJobSummary = async (ref: JobRef, logger: Logger = log): Promise<ApsJobSummary | undefined> => {
    try {
      for (let page = 1; page <= errMessagePages; page++) {
        const res = await aps.listJobs({ regionId: ref.regionId, pageNumber: page, pageSize: 100 });
        const hit = res.jobs.find((j) => j.apsJobId === ref.apsJobId);
        if (hit) return hit;
        if (page * res.pageSize >= res.totalCount || res.jobs.length === 0) return undefined;
      }
    } catch (err) {
      logger.warn('could not read the failed job ErrMessage', { code: toApsError(err).code });
    }
    return undefined;
  };

  /**
   * Best-effort reasons of a failed job: its newest ERROR lines since `since` (else since its
   * creation, at most 30 days back) and the console link. Errors and a read slower than
   * `actionLogsTimeoutMs` are logged and leave the lines out; they never change the failure.
   */
  const failureReasons = async (
    ref: JobRef,
    dbClusterId: string | undefined,
    since: number | undefined,
    summary: ApsJobSummary | undefined,
    logger: Logger,
  ): Promise<FailureReasons> => {
    const url = consoleUrl(ref.regionId, dbClusterId);
    if (dbClusterId === undefined) {
      logger.warn('the job detail names no cluster (DestinationEndpointInstanceID): action logs not read');
      return { consoleUrl: url };
    }
    const created = summary?.createTime !== undefined ? Date.parse(summary.createTime) : NaN;
    const timeoutMs = deps.actionLogsTimeoutMs ?? ACTION_LOGS_TIMEOUT_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ActionLogsTimeout(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    const read = readRecentErrors(
      aps,
      {
        ...ref,
        dbClusterId,
        since: since ?? (Number.isNaN(created) ? undefined : created),
        now: now(),
      },
      deps.actionLogCalls,
    );
    // A read that loses the race must not end as an unhandled rejection.
    read.catch(() => undefined);
    try {
      const kept = await Promise.race([read, timedOut]);
      return {
        actionLogs: kept.lines,
        ...(kept.truncated ? { actionLogsTruncated: true } : {}),
        consoleUrl: url,
      };
    } catch (err) {
      const error = err instanceof ActionLogsTimeout ? undefined : toApsError(err);
      logger.warn('could not read the failed job action logs: reported without them', {
        code: error?.code ?? 'ActionLogsTimeout',
        ...(error?.httpStatus !== undefined ? { httpStatus: error.httpStatus } : {}),
        ...(error?.requestId !== undefined ? { requestId: error.requestId } : {}),
        timeoutMs,
      });
      return { consoleUrl: url };
    } finally {
      clearTimeout(timer);
    }
  };

  /** One read of a wait. */
  type ReadOutcome =
    | { kind: 'reached'; result: WaitForApsJobResult }
    | { kind: 'again'; delayMs: number; why: string; status?: string; failure?: ApplicationFailure };

  /**
   * One status read of a wait: the target reached, or the delay until the next read (not there
   * yet, or a failed read that the rules retry, with its failure). Throws the wait's final
   * failures: `ApsJobFailed`, `ApsJobStopped`, and API errors the rules give up on. Updates `state`.
   */
  const readOnce = async (
    input: WaitForApsJobInput,
    rules: RetryRule[],
    state: WaitState,
    io: Io,
  ): Promise<ReadOutcome> => {
    const ref: JobRef = { regionId: input.regionId, apsJobId: input.apsJobId };
    const polls = (state.polls ?? 0) + 1;
    state.polls = polls;
    const interval = pollDelayMs(input.pollIntervalMs, input.pollSchedule, polls);
    let status: JobStatus;
    let dbClusterId: string | undefined;
    state.lastReadAt = now();
    try {
      const detail = await aps.describeJob(ref);
      status = detail.status;
      dbClusterId = detail.destinationInstanceId;
    } catch (err) {
      // Throttling and outages slow polling down (never below the poll interval) instead of failing it.
      const { failure, delayMs } = decide(
        'DescribeApsJobDetail',
        toApsError(err),
        rules,
        state.counters,
        { ...state },
        interval,
        {
          ...io,
          save: (d) => {
            state.counters = d.counters as RuleCounters;
            io.save(d);
          },
        },
      );
      if (delayMs === undefined) throw failure;
      return { kind: 'again', delayMs, why: failure.message, failure };
    }
    // Budgets count consecutive failures while waiting: a good read resets them.
    state.counters = {};
    const staleSince = state.staleSince;
    state.staleSince = undefined;
    state.unknownReported = noteUnknown(status, state.unknownReported ?? input.unknownReported, io.log);
    if (status.raw !== state.lastLogged) {
      io.log.info('job status', { status: status.raw, class: status.class, polls });
      state.lastLogged = status.raw;
    }
    const notReady = (why: string): ReadOutcome => ({
      kind: 'again',
      delayMs: interval,
      why,
      status: status.raw,
    });

    if (input.statusBefore !== undefined && !state.leftBefore) {
      if (!sameStatus(status.raw, input.statusBefore)) {
        state.leftBefore = true;
      } else if (status.class === 'completed' || status.class === 'failed') {
        const since = staleSince ?? now();
        if (now() - since < input.stoppedGraceMs) {
          state.staleSince = since;
          return notReady(
            `job still reads ${status.raw}, its status before our start; the read may be stale`,
          );
        }
        io.log.warn('job kept its status from before our start for the whole grace: taken as its new state', {
          status: status.raw,
          forMs: now() - since,
        });
      }
    }

    const reached =
      status.class === 'completed' || (input.target === 'running' && status.class === 'running');
    if (reached) {
      if (input.startedAt !== undefined) {
        observers?.onTargetReached?.({ target: input.target, sinceStartMs: now() - input.startedAt });
      }
      return { kind: 'reached', result: { status: status.raw, polls, at: now() } };
    }

    if (status.class === 'failed') {
      const summary = await findJobSummary(ref, io.log);
      const details: JobFailedDetails = {
        status: status.raw,
        errMessage: summary?.errMessage,
        ...(io.explain === false
          ? {}
          : await failureReasons(ref, dbClusterId, input.startedAt, summary, io.log)),
      };
      throw ApplicationFailure.create({
        type: FailureTypes.ApsJobFailed,
        message: `APS job ${ref.apsJobId} reported ${status.raw}${details.errMessage ? `: ${details.errMessage}` : ''}`,
        nonRetryable: true,
        details: [details],
      });
    }
    if (status.class === 'stopped') {
      const since = state.stoppedSince ?? now();
      if (now() - since >= input.stoppedGraceMs) {
        throw ApplicationFailure.create({
          type: FailureTypes.ApsJobStopped,
          message: `APS job ${ref.apsJobId} is ${status.raw}: stopped by someone else while waited on`,
          nonRetryable: true,
          details: [{ status: status.raw, stoppedForMs: now() - since }],
        });
      }
      state.stoppedSince = since;
    } else {
      state.stoppedSince = undefined;
    }
    return notReady(`job is ${status.raw}, waiting for ${input.target}`);
  };

  /**
   * Until when this attempt may hold its wait in process, or undefined when it cannot: no waiter,
   * no heartbeat timeout, not asked for, a delay longer than {@link IN_PROCESS_MAX_DELAY_MS}, or
   * too little time left before the attempt's own timeouts (or `notAfter`) for one more read.
   */
  const inProcessUntil = (
    spec: Pick<WaitForApsJobInput, 'inProcess'>,
    delayMs: number,
    notAfter?: number,
  ): number | undefined => {
    if (!deps.waiter?.accepting || !spec.inProcess || delayMs > IN_PROCESS_MAX_DELAY_MS) return undefined;
    const info = activityInfo();
    if (!info.heartbeatTimeoutMs) return undefined;
    const t = now();
    let until = t + spec.inProcess.windowMs;
    if (info.startToCloseTimeoutMs) {
      until = Math.min(
        until,
        info.currentAttemptScheduledTimestampMs + info.startToCloseTimeoutMs - IN_PROCESS_MARGIN_MS,
      );
    }
    if (info.scheduleToCloseTimeoutMs) {
      until = Math.min(
        until,
        info.scheduledTimestampMs + info.scheduleToCloseTimeoutMs - IN_PROCESS_MARGIN_MS,
      );
    }
    if (notAfter !== undefined) until = Math.min(until, notAfter);
    return until - t > delayMs ? until : undefined;
  };

  /**
   * While an attempt with a heartbeat timeout waits on an API call, heartbeats `details()` every
   * third of the timeout (the SDK sends them at its own pace), so a slow call is not taken for a
   * dead worker. Returns the function that stops it.
   */
  const keepAlive = (details: () => unknown): (() => void) => {
    const timeoutMs = activityInfo().heartbeatTimeoutMs;
    if (!timeoutMs) return () => undefined;
    const ctx = Context.current();
    const timer = setInterval(() => ctx.heartbeat(details()), Math.max(1000, timeoutMs / 3));
    return () => clearInterval(timer);
  };

  /**
   * Hands the attempt's wait to the in-process waiter and ends the activity function (the attempt
   * completes later, through the waiter). `done` maps the result at the target to the attempt's
   * result; `final` and `handBack` say how the attempt ends on a final failure and when it is
   * handed back (its window ended, the worker shuts down, or the delay grew past the in-process
   * limit).
   */
  const hold = (o: {
    input: WaitForApsJobInput;
    rules: RetryRule[];
    state: WaitState;
    log: Logger;
    firstDelayMs: number;
    until: number;
    onDelay: (ms: number) => void;
    details: () => unknown;
    done: (r: WaitForApsJobResult) => unknown;
    final: (err: Error) => WaitOutcome;
    handBack: (why: 'window' | 'shutdown') => WaitOutcome;
    /** The details reported when the attempt is cancelled (see {@link WaitEntry.cancelled}). */
    cancelled?: () => unknown;
    /** Read a failed job's reasons (see {@link Io.explain}). */
    explain: boolean;
  }): never => {
    const info = activityInfo();
    const io: Io = { log: o.log, save: () => undefined, attempt: info.attempt, explain: o.explain };
    deps.waiter!.add({
      taskToken: info.taskToken,
      name: o.input.apsJobId,
      firstDelayMs: o.firstDelayMs,
      heartbeatEveryMs: Math.max(1000, (info.heartbeatTimeoutMs ?? 30_000) / 2),
      handBackAt: o.until,
      log: o.log,
      details: o.details,
      handBack: o.handBack,
      ...(o.cancelled ? { cancelled: o.cancelled } : {}),
      ...(info.workflowExecution
        ? {
            activity: {
              workflowId: info.workflowExecution.workflowId,
              runId: info.workflowExecution.runId,
              activityId: info.activityId,
            },
          }
        : {}),
      step: async () => {
        try {
          const r = await readOnce(o.input, o.rules, o.state, io);
          if (r.kind === 'reached') return { kind: 'done', result: o.done(r.result) };
          o.onDelay(r.delayMs);
          // An adaptive interval that grew past the limit goes back to the server's timers.
          if (r.delayMs > IN_PROCESS_MAX_DELAY_MS) return o.handBack('window');
          return { kind: 'again', delayMs: r.delayMs };
        } catch (err) {
          return o.final(err instanceof Error ? err : new Error(String(err)));
        }
      },
    });
    o.log.debug('wait held in process', { polls: o.state.polls, firstDelayMs: o.firstDelayMs });
    throw new CompleteAsyncError();
  };

  /**
   * The start itself (see {@link Activities.startApsJob}). `beat` heartbeats; `out` receives the
   * attempt's state and the class of the status last read, for a wait that follows.
   */
  const startOnce = async (
    input: StartApsJobInput,
    rules: RetryRule[],
    prior: StartState,
    counters: RuleCounters,
    beat: (details: StartState) => void,
    out: { state?: StartState; cls?: StatusClass },
  ): Promise<StartApsJobResult> => {
    const ref: JobRef = { regionId: input.regionId, apsJobId: input.apsJobId };
    const state: StartState = { ...prior, counters };
    const io: Io = { ...activityIo(), save: (d) => beat(d as unknown as StartState) };
    const reported = prior.unknownReported ?? input.unknownReported;
    if (reported) state.unknownReported = reported;
    const pastDeadline = (): void => {
      if (input.notAfter !== undefined && now() >= input.notAfter) {
        throw ApplicationFailure.create({
          type: FailureTypes.ApsJobTimeout,
          message: `the run's deadline passed before StartApsJob was sent for ${ref.apsJobId}`,
          nonRetryable: true,
          details: [{ startSent: state.startSent === true }],
        });
      }
    };
    pastDeadline();

    let before: JobStatus;
    try {
      before = (await aps.describeJob(ref)).status;
    } catch (err) {
      throw fail('DescribeApsJobDetail', toApsError(err), rules, counters, { ...state }, 0, io);
    }
    const noted = noteUnknown(before, state.unknownReported);
    if (noted) state.unknownReported = noted;
    out.state = state;
    out.cls = before.class;
    const result = (started: boolean, status: string, requestId?: string): StartApsJobResult => ({
      started,
      status,
      ...(requestId !== undefined ? { requestId } : {}),
      at: now(),
      ...(started && state.statusBefore !== undefined ? { statusBefore: state.statusBefore } : {}),
      ...(state.unknownReported ? { unknownReported: state.unknownReported } : {}),
    });
    /** Watches the job for `settleMs` from `since`; throws "not ready" until then. */
    const watch = (since: number, key: 'transitionalSince' | 'unmovedSince', why: string): void => {
      if (now() - since >= input.settleMs) return;
      beat({ ...state, [key]: since });
      throw notReadyFailure(why, input.settleIntervalMs, { status: before.raw });
    };

    if (before.class === 'running') {
      log.info(state.startSent ? 'job started by an earlier attempt' : 'job already running: reattached', {
        status: before.raw,
      });
      return result(state.startSent === true, before.raw);
    }
    if (state.startSent) {
      // An earlier attempt's StartApsJob may have taken effect.
      if (before.class === 'transitional') return result(true, before.raw);
      if (state.statusBefore === undefined) {
        // Details of an older release carry no status: a job that ended since counts as ours.
        if (before.class === 'completed' || before.class === 'failed') return result(true, before.raw);
      } else if (!sameStatus(before.raw, state.statusBefore)) {
        // It left the status it had before our start, so the start took effect.
        log.info('job started by an earlier attempt', {
          status: before.raw,
          statusBefore: state.statusBefore,
        });
        return result(true, before.raw);
      } else if (before.class === 'stopped') {
        // Still suspended: started again at once, as before. A start that took effect shows at
        // once, and a second call that reaches a live job does not run it twice (the API refuses
        // or ignores it); only an ended job could run again, so only it is watched.
      } else {
        // Still the old status: either the start never took effect, or its read is stale. A
        // start that took effect leaves that status, so watch for a while before sending again.
        const since = state.unmovedSince ?? now();
        watch(
          since,
          'unmovedSince',
          `job still reads ${before.raw} after an ambiguous start; watching it before starting again`,
        );
        log.warn('job never left its status after an ambiguous start: starting it again', {
          status: before.raw,
          watchedForMs: now() - since,
        });
        state.unmovedSince = undefined;
      }
    }
    if (before.class === 'transitional' || before.class === 'unknown') {
      const since = state.transitionalSince ?? now();
      watch(since, 'transitionalSince', `job is ${before.raw}; waiting for it to settle before starting`);
      log.warn(`job stayed ${before.class}; starting it`, {
        status: before.raw,
        settledForMs: now() - since,
      });
    }

    pastDeadline();
    if (Context.current().cancellationSignal.aborted) {
      // Known to be cancelled: a start now would come after the suspend the workflow is about to send.
      throw new CancelledFailure('cancelled before StartApsJob was sent');
    }
    state.statusBefore = state.statusBefore ?? before.raw;
    // Recorded before the request goes out: if this worker dies mid-call, the next attempt knows
    // a start may have happened and reads the status instead of trusting a stale "not running".
    beat({ ...state, startSent: true });
    try {
      const res = await aps.startJob(ref);
      log.info('StartApsJob accepted', { requestId: res.requestId, statusBefore: before.raw });
      state.startSent = true;
      return result(true, before.raw, res.requestId);
    } catch (err) {
      const error = toApsError(err);
      if (error.retryClass !== 'throttled') {
        // Ambiguous outcomes and 4xx answers that may mean "already running": the status decides.
        try {
          const after = (await aps.describeJob(ref)).status;
          if (after.class === 'running' || (error.ambiguous && after.class === 'transitional')) {
            log.info('StartApsJob failed but the job is starting or running: counted as started', {
              code: error.code,
              status: after.raw,
            });
            state.startSent = true;
            out.cls = after.class;
            return result(true, after.raw, error.requestId);
          }
        } catch (describeErr) {
          log.warn('status re-read after a failed start failed too', {
            code: toApsError(describeErr).code,
          });
        }
      }
      // Only an ambiguous failure may have started the job: a definite answer (4xx) or a
      // connection that never opened leaves nothing behind.
      const startSent = state.startSent === true || error.ambiguous;
      throw fail(
        'StartApsJob',
        error,
        rules,
        counters,
        { ...state, startSent, ...(startSent ? {} : { statusBefore: undefined }) },
        0,
        io,
      );
    }
  };

  /**
   * The wait that follows a start in the same attempt ({@link StartApsJobInput.wait}): read now
   * (`readNow`, when an earlier attempt was waiting) or after the first delay, held in process
   * when it can be. Any way it ends other than at the target hands it back, and the workflow goes
   * on with `waitForApsJob` from `waitState`.
   */
  const waitAfterStart = async (
    input: StartApsJobInput,
    started: StartApsJobResult,
    startState: StartState,
    readNow: boolean,
  ): Promise<StartApsJobResult> => {
    const spec = input.wait!;
    const waitInput: WaitForApsJobInput = {
      regionId: input.regionId,
      apsJobId: input.apsJobId,
      target: input.target,
      ...spec,
      ...(input.retryRules ? { retryRules: input.retryRules } : {}),
      startedAt: started.at,
      ...(started.statusBefore !== undefined ? { statusBefore: started.statusBefore } : {}),
    };
    const rules = rulesFor(waitInput);
    const state: WaitState = {
      ...startState.wait,
      counters: startState.wait?.counters ?? {},
      polls: startState.wait?.polls ?? 0,
      ...(started.unknownReported ? { unknownReported: started.unknownReported } : {}),
    };
    // When the next read is due: kept when the wait is handed back between two reads, so the wait
    // activity that follows does not read early (not after a final failure: it reads at once).
    let nextReadAt: number | undefined;
    const resumeFrom = (): StartApsJobResult => ({
      ...started,
      ...(state.unknownReported ? { unknownReported: state.unknownReported } : {}),
      waitState: {
        polls: state.polls ?? 0,
        ...(state.stoppedSince !== undefined ? { stoppedSince: state.stoppedSince } : {}),
        ...(state.leftBefore ? { leftBefore: true } : {}),
        ...(state.staleSince !== undefined ? { staleSince: state.staleSince } : {}),
        ...(state.lastLogged !== undefined ? { lastLogged: state.lastLogged } : {}),
        ...(nextReadAt !== undefined ? { nextReadAt } : {}),
        ...(state.lastReadAt !== undefined ? { lastReadAt: state.lastReadAt } : {}),
      },
    });
    const io = activityIo();
    let delayMs = pollDelayMs(spec.pollIntervalMs, spec.pollSchedule, 1);
    if (readNow) {
      let first: ReadOutcome;
      try {
        first = await readOnce(waitInput, rules, state, { ...io, save: () => undefined, explain: false });
      } catch {
        // A final failure: the wait that follows reads it again and fails with it.
        return resumeFrom();
      }
      if (first.kind === 'reached') return { ...started, reached: first.result };
      delayMs = first.delayMs;
    }
    nextReadAt = now() + delayMs;
    const until = inProcessUntil(spec, delayMs, input.notAfter);
    if (until === undefined) return resumeFrom();
    const startedState: StartState = { ...startState, startSent: startState.startSent, started };
    const handBack = (): WaitOutcome => ({ kind: 'done', result: resumeFrom() });
    const final = (): WaitOutcome => {
      nextReadAt = undefined;
      return handBack();
    };
    return hold({
      input: waitInput,
      rules,
      state,
      log: io.log,
      firstDelayMs: delayMs,
      until,
      onDelay: (ms) => (nextReadAt = now() + ms),
      details: () => ({ ...startedState, wait: state }),
      done: (reached) => ({
        ...started,
        ...(state.unknownReported ? { unknownReported: state.unknownReported } : {}),
        reached,
      }),
      final,
      handBack,
      // A failure ends this wait only to be read again, and reported, by the wait activity.
      explain: false,
    });
  };

  return {
    ...createFleetActivities({
      aps,
      ...(deps.workerRules ? { workerRules: deps.workerRules } : {}),
      ...(deps.temporal ? { temporal: deps.temporal } : {}),
    }),
    ...createOrchestratorActivities(),
    /**
     * Starts the job unless it is already running. Reads the status first; after an ambiguous
     * failure reads it again and counts a running job as started. Never starts a job twice: an
     * earlier attempt's StartApsJob is remembered in heartbeat details with the status read before
     * it, a job whose start is in progress (transitional) or whose status is unknown is watched,
     * not started at once, and after an ambiguous start a job that still reads its old status is
     * watched for `settleMs` (a start that took effect leaves that status) before it is started
     * again. Sends nothing once the run's deadline (`notAfter`) has passed or the activity is
     * cancelled, so a cancel or a deadline that waits for this attempt sees every start it sent.
     */
    async startApsJob(input: StartApsJobInput): Promise<StartApsJobResult> {
      const { rules, prior, counters } = prepare<StartState>(input);
      if (input.wait && prior.started) {
        // An earlier attempt started the job and was waiting when it ended (its worker died):
        // only the wait goes on.
        return waitAfterStart(input, prior.started, { ...prior, counters }, true);
      }
      let last: StartState = { ...prior, counters };
      const stop = keepAlive(() => last);
      const out: { state?: StartState; cls?: StatusClass } = {};
      let started: StartApsJobResult;
      try {
        started = await startOnce(input, rules, prior, counters, (d) => heartbeat((last = d)), out);
      } finally {
        stop();
      }
      if (!input.wait) return started;
      if (input.target === 'running' && out.cls === 'running') {
        return { ...started, reached: { status: started.status, polls: 0, at: started.at } };
      }
      return waitAfterStart(input, started, out.state ?? last, false);
    },

    /**
     * Waits for the target. Each attempt reads the status once; not there yet, it either hands the
     * wait to the worker's in-process waiter (when the attempt has a heartbeat timeout and asks for
     * `inProcess`: the waiter reads on its own timers, heartbeats, and completes the attempt
     * asynchronously, so the wait holds no slot and costs the server one heartbeat per half of the
     * heartbeat timeout), or fails with a BENIGN retryable failure whose delay is the poll interval
     * (no slot, no history, one attempt per read). Right after our start of a job that was
     * completed or failed, that same status is not trusted until the job was seen leaving it or
     * `stoppedGraceMs` has passed (the read may be stale).
     */
    async waitForApsJob(input: WaitForApsJobInput): Promise<WaitForApsJobResult> {
      const { rules, prior } = prepare<WaitState>(input);
      const info = activityInfo();
      const io = activityIo();
      const state: WaitState = {
        ...input.resume,
        ...prior,
        counters: prior.counters ?? input.resume?.counters ?? {},
        polls: prior.polls ?? (info.attempt > 1 ? info.attempt - 1 : (input.resume?.polls ?? 0)),
      };
      // A wait handed back between two reads keeps its delay: the first attempt reads when due.
      const dueInMs =
        info.attempt === 1 && input.resume?.nextReadAt !== undefined ? input.resume.nextReadAt - now() : 0;
      let first: ReadOutcome;
      if (dueInMs > 0) {
        first = {
          kind: 'again',
          delayMs: dueInMs,
          why: 'the next read is not due yet',
          status: state.lastLogged,
        };
      } else {
        const stop = keepAlive(() => state);
        try {
          first = await readOnce(input, rules, state, io);
        } finally {
          stop();
        }
      }
      if (first.kind === 'reached') return first.result;
      const until = inProcessUntil(input, first.delayMs);
      if (until !== undefined) {
        let nextAt = now() + first.delayMs;
        hold({
          input,
          rules,
          state,
          log: io.log,
          firstDelayMs: first.delayMs,
          until,
          onDelay: (ms) => (nextAt = now() + ms),
          details: () => state,
          done: (r) => r,
          final: (err) => ({ kind: 'fail', failure: err, details: state }),
          explain: true,
          handBack: (why) => ({
            kind: 'fail',
            failure: notReadyFailure(
              `wait handed back to the server (${why === 'window' ? 'its window ended' : 'the worker shuts down'})`,
              Math.max(1, nextAt - now()),
              { status: state.lastLogged, polls: state.polls, handBack: handBackOf(state, nextAt) },
            ),
            details: state,
          }),
          // The run stops the wait to re-schedule it (a new poll interval or deadline): it resumes
          // from here, with nothing read twice or lost.
          cancelled: () => handBackOf(state, nextAt),
        });
      }
      const nextAt = now() + first.delayMs;
      if (first.failure) throw withHandBack(first.failure, handBackOf(state, nextAt));
      heartbeat(state);
      throw notReadyFailure(first.why, first.delayMs, {
        status: first.status,
        polls: state.polls,
        handBack: handBackOf(state, nextAt),
      });
    },

    /**
     * Reads the status once and returns it classified (a failed job with its ErrMessage). Only API
     * errors fail it, under the retry rules; what the status means is the workflow's business.
     */
    async checkApsJob(input: CheckApsJobInput): Promise<CheckApsJobResult> {
      const { rules, prior, counters } = prepare<{ counters?: RuleCounters }>(input);
      const ref: JobRef = { regionId: input.regionId, apsJobId: input.apsJobId };
      let status: JobStatus;
      let dbClusterId: string | undefined;
      try {
        const detail = await aps.describeJob(ref);
        status = detail.status;
        dbClusterId = detail.destinationInstanceId;
      } catch (err) {
        throw fail('DescribeApsJobDetail', toApsError(err), rules, counters, { ...prior });
      }
      const summary = status.class === 'failed' ? await findJobSummary(ref) : undefined;
      const errMessage = summary?.errMessage;
      const reasons =
        status.class === 'failed' ? await failureReasons(ref, dbClusterId, input.since, summary, log) : {};
      const unknownReported = noteUnknown(status, input.unknownReported);
      return {
        status: status.raw,
        class: status.class,
        ...(errMessage !== undefined ? { errMessage } : {}),
        ...reasons,
        at: now(),
        ...(unknownReported ? { unknownReported } : {}),
      };
    },

    /**
     * Reads the run's own pending wait (waitForApsJob) on the server, through the worker's client:
     * the state its last attempt left, whether an attempt is under way, and when the next is due.
     * A run reads it right before it cancels the wait to re-schedule it, because the server
     * cancels a wait that is between attempts at once and hands back none of its state. A wait
     * held by this worker's waiter is heartbeated often for a while, so that the cancel is heard
     * at once. For a start (never cancelled) it only hands back the start's own wait when this
     * worker's waiter holds it, so the wait that follows takes the run's new settings.
     */
    async readPendingWait(input: ReadPendingWaitInput): Promise<PendingWait> {
      const execution = activityInfo().workflowExecution;
      if (!execution) return { found: false };
      const pending = await readPendingActivity(Context.current().client, execution, input.activityType);
      if (!pending) return { found: false };
      const activity = { ...execution, activityId: pending.activityId };
      if (input.activityType === 'startApsJob') {
        // Only a start that waits is held (its start has taken effect): handing it back cancels nothing.
        const heldHere = deps.waiter?.handBackNow(activity) ?? false;
        return { found: true, running: pending.running, attempt: pending.attempt, heldHere };
      }
      const d = pending.details as Partial<WaitState> | undefined;
      const state: WaitState | undefined =
        typeof d === 'object' && d !== null
          ? { ...d, counters: d.counters ?? {}, polls: d.polls ?? pending.attempt - 1 }
          : undefined;
      const heldHere = deps.waiter?.heartbeatOften(activity, input.heartbeatOftenMs ?? 10_000) ?? false;
      return {
        found: true,
        running: pending.running,
        attempt: pending.attempt,
        ...(state ? { handBack: handBackOf(state, pending.nextAttemptAt) } : {}),
        ...(pending.nextAttemptAt !== undefined ? { nextAttemptAt: pending.nextAttemptAt } : {}),
        heldHere,
      };
    },

    /** Suspends the job (SuspendApsJob), under the same retry rules. */
    async suspendApsJob(input: SuspendApsJobInput): Promise<{ requestId?: string }> {
      const { rules, prior, counters } = prepare<{ counters?: RuleCounters }>(input);
      try {
        const res = await aps.suspendJob({ regionId: input.regionId, apsJobId: input.apsJobId });
        log.info('SuspendApsJob accepted', { requestId: res.requestId });
        return { requestId: res.requestId };
      } catch (err) {
        throw fail('SuspendApsJob', toApsError(err), rules, counters, { ...prior });
      }
    },
  };
}

/** The action-log read of a failed job took longer than its bound. */
class ActionLogsTimeout extends Error {
  override readonly name = 'ActionLogsTimeout';
}

/** The activities' type, for `proxyActivities<Activities>()` in workflows. */
export type Activities = ReturnType<typeof createActivities>;
