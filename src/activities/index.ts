/**
 * Activities over the {@link ApsApi}: an idempotent start, a one-read wait step, a one-read check,
 * and a suspend.
 * Created by closure over their dependencies; they never read `process.env`.
 */
import { activityInfo, heartbeat, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ApsApi, ApsError, JobRef, JobStatus, StatusClass } from '../aps/types';
import { resolveRules, validateRetryRules } from '../retry';
import type { RetryRule, RetryRuleInput, RuleCounters } from '../retry/types';
import { InputValidationError, validateApsJobId, validateRegionId } from '../validation';
import { FailureTypes, type JobTarget } from '../api';
import { apiFailure, invalidInputFailure, notReadyFailure, toApsError } from './failures';

/** Observers for metrics; every field optional. */
export interface ActivityObservers {
  /** A rule granted a retry (or refused one). */
  onRetryDecision?(e: { action: string; code: string; rule?: string; retry: boolean }): void;
  /** The job reached its target. */
  onTargetReached?(e: { target: JobTarget; sinceStartMs: number }): void;
}

/** Dependencies of the activities. */
export interface ActivityDeps {
  /** The APS API (the real client, or a fake in unit tests). */
  aps: ApsApi;
  /** Worker-wide rules, validated at worker start; placed after workflow rules, before the defaults. */
  workerRules?: RetryRule[];
  /** Metric hooks. */
  observers?: ActivityObservers;
  /** Clock (tests). */
  now?: () => number;
  /** Jitter source (tests). */
  random?: () => number;
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
}

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
}

/** Input of {@link Activities.waitForApsJob}. */
export interface WaitForApsJobInput extends JobRef {
  /** Target state. */
  target: JobTarget;
  /** Delay between reads, ms. */
  pollIntervalMs: number;
  /** How long the job may look stopped before that is final (a fresh start may read stale), ms. */
  stoppedGraceMs: number;
  /** Workflow-level rules. */
  retryRules?: RetryRuleInput[];
  /** Epoch ms when the job was started, for the start-to-target metric. */
  startedAt?: number;
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

/** Input of {@link Activities.suspendApsJob}. */
export interface SuspendApsJobInput extends JobRef {
  /** Workflow-level rules. */
  retryRules?: RetryRuleInput[];
}

/** Input of {@link Activities.checkApsJob}. */
export interface CheckApsJobInput extends JobRef {
  /** Workflow-level rules. */
  retryRules?: RetryRuleInput[];
}

/** Result of {@link Activities.checkApsJob}. */
export interface CheckApsJobResult {
  /** The raw status. */
  status: string;
  /** Its class. */
  class: StatusClass;
  /** The job's ErrMessage, looked up when the job is failed. */
  errMessage?: string;
  /** Epoch ms of the read. */
  at: number;
}

/** Details of an `ApsJobFailed` failure. */
export interface JobFailedDetails {
  /** Raw status. */
  status: string;
  /** The job's ErrMessage from DescribeApsJobs, when it could be read. */
  errMessage?: string;
}

/** Heartbeat details of the start activity. */
interface StartState {
  counters: RuleCounters;
  /** A StartApsJob request was sent by an earlier attempt; its outcome is unknown. */
  startSent?: boolean;
  /** Epoch ms when a transitional status was first seen before our start. */
  transitionalSince?: number;
}

/** Heartbeat details of the wait activity. */
interface WaitState {
  counters: RuleCounters;
  /** Epoch ms since when the job has looked stopped. */
  stoppedSince?: number;
  /** The raw status last logged, so each new status is logged once. */
  lastLogged?: string;
}

/** How many DescribeApsJobs pages are read to find a failed job's ErrMessage. */
const ERR_MESSAGE_MAX_PAGES = 5;

/** Creates the activities. */
export function createActivities(deps: ActivityDeps) {
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const { aps, observers } = deps;

  const rulesFor = (input: { retryRules?: RetryRuleInput[] }): RetryRule[] =>
    resolveRules({
      workflowRules: input.retryRules ? validateRetryRules(input.retryRules, 'retryRules') : undefined,
      workerRules: deps.workerRules,
    });

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
    input: JobRef & { retryRules?: RetryRuleInput[] },
  ) => {
    validateRef(input);
    let rules: RetryRule[];
    try {
      rules = rulesFor(input);
    } catch (err) {
      if (err instanceof InputValidationError) throw invalidInputFailure(err);
      throw err;
    }
    const prior = (activityInfo().heartbeatDetails ?? {}) as T;
    return { rules, prior, counters: prior.counters ?? {} };
  };

  const fail = (
    action: string,
    error: ApsError,
    rules: RetryRule[],
    counters: RuleCounters,
    extra: Record<string, unknown>,
    minDelayMs = 0,
  ): ApplicationFailure => {
    const { failure, decision } = apiFailure(error, rules, { counters }, extra, minDelayMs, now, random);
    observers?.onRetryDecision?.({
      action,
      code: error.code,
      rule: decision.ruleName,
      retry: decision.retry,
    });
    log.warn(`${action} failed`, {
      code: error.code,
      httpStatus: error.httpStatus,
      requestId: error.requestId,
      retryClass: error.retryClass,
      retry: decision.retry,
      rule: decision.ruleName,
      reason: decision.reason,
      attempt: activityInfo().attempt,
    });
    return failure;
  };

  /** Best-effort lookup of a job's ErrMessage (DescribeApsJobs has it; the detail call does not). */
  const findErrMessage = async (ref: JobRef): Promise<string | undefined> => {
    try {
      for (let page = 1; page <= ERR_MESSAGE_MAX_PAGES; page++) {
        const res = await aps.listJobs({ regionId: ref.regionId, pageNumber: page, pageSize: 100 });
        const hit = res.jobs.find((j) => j.apsJobId === ref.apsJobId);
        if (hit) return hit.errMessage;
        if (page * res.pageSize >= res.totalCount || res.jobs.length === 0) return undefined;
      }
    } catch (err) {
      log.warn('could not read the failed job ErrMessage', { code: toApsError(err).code });
    }
    return undefined;
  };

  return {
    /**
     * Starts the job unless it is already running. Reads the status first; after an ambiguous
     * failure reads it again and counts a running job as started. Never starts a job twice: an
     * earlier attempt's StartApsJob is remembered in heartbeat details, and a job whose start is
     * in progress (transitional) is watched, not started again.
     */
    async startApsJob(input: StartApsJobInput): Promise<StartApsJobResult> {
      const { rules, prior, counters } = prepare<StartState>(input);
      const ref: JobRef = { regionId: input.regionId, apsJobId: input.apsJobId };
      const state: StartState = { ...prior, counters };

      let before: JobStatus;
      try {
        before = (await aps.describeJob(ref)).status;
      } catch (err) {
        throw fail('DescribeApsJobDetail', toApsError(err), rules, counters, { ...state });
      }
      // After an earlier attempt's start whose reply was lost, a job that has since completed or
      // failed was started by us: starting it again would be a second start. The wait reports a
      // failure (and onJobFailure decides about a restart).
      const endedSinceOurStart =
        state.startSent === true && (before.class === 'completed' || before.class === 'failed');
      if (before.class === 'running' || endedSinceOurStart) {
        log.info(state.startSent ? 'job started by an earlier attempt' : 'job already running: reattached', {
          status: before.raw,
        });
        return { started: state.startSent === true, status: before.raw, at: now() };
      }
      if (before.class === 'transitional') {
        if (state.startSent) return { started: true, status: before.raw, at: now() };
        const since = state.transitionalSince ?? now();
        if (now() - since < input.settleMs) {
          heartbeat({ ...state, transitionalSince: since });
          throw notReadyFailure(
            `job is ${before.raw}; waiting for it to settle before starting`,
            input.settleIntervalMs,
            {
              status: before.raw,
            },
          );
        }
        log.warn('job stayed transitional; starting it', { status: before.raw, settledForMs: now() - since });
      }

      // Recorded before the request goes out: if this worker dies mid-call, the next attempt knows
      // a start may have happened and reads the status instead of trusting a stale "not running".
      heartbeat({ ...state, startSent: true });
      try {
        const res = await aps.startJob(ref);
        log.info('StartApsJob accepted', { requestId: res.requestId, statusBefore: before.raw });
        return { started: true, status: before.raw, requestId: res.requestId, at: now() };
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
              return { started: true, status: after.raw, requestId: error.requestId, at: now() };
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
        throw fail('StartApsJob', error, rules, counters, { ...state, startSent });
      }
    },

    /**
     * Reads the status once. At the target: returns. Not there yet: fails with a BENIGN retryable
     * failure whose delay is the poll interval, so waiting holds no worker slot and adds no history.
     */
    async waitForApsJob(input: WaitForApsJobInput): Promise<WaitForApsJobResult> {
      const { rules, prior, counters } = prepare<WaitState>(input);
      const ref: JobRef = { regionId: input.regionId, apsJobId: input.apsJobId };
      const polls = activityInfo().attempt;
      let status: JobStatus;
      try {
        status = (await aps.describeJob(ref)).status;
      } catch (err) {
        // Throttling and outages slow polling down (never below the poll interval) instead of failing it.
        throw fail(
          'DescribeApsJobDetail',
          toApsError(err),
          rules,
          counters,
          { ...prior },
          input.pollIntervalMs,
        );
      }
      // Budgets count consecutive failures while waiting: a good read resets them.
      const state: WaitState = {
        counters: {},
        stoppedSince: prior.stoppedSince,
        lastLogged: prior.lastLogged,
      };
      if (status.raw !== state.lastLogged) {
        log.info('job status', { status: status.raw, class: status.class, polls });
        state.lastLogged = status.raw;
      }

      const reached =
        status.class === 'completed' || (input.target === 'running' && status.class === 'running');
      if (reached) {
        if (input.startedAt !== undefined) {
          observers?.onTargetReached?.({ target: input.target, sinceStartMs: now() - input.startedAt });
        }
        return { status: status.raw, polls, at: now() };
      }

      if (status.class === 'failed') {
        const details: JobFailedDetails = { status: status.raw, errMessage: await findErrMessage(ref) };
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
      heartbeat(state);
      throw notReadyFailure(`job is ${status.raw}, waiting for ${input.target}`, input.pollIntervalMs, {
        status: status.raw,
        polls,
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
      try {
        status = (await aps.describeJob(ref)).status;
      } catch (err) {
        throw fail('DescribeApsJobDetail', toApsError(err), rules, counters, { ...prior });
      }
      const errMessage = status.class === 'failed' ? await findErrMessage(ref) : undefined;
      return {
        status: status.raw,
        class: status.class,
        ...(errMessage !== undefined ? { errMessage } : {}),
        at: now(),
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

/** The activities' type, for `proxyActivities<Activities>()` in workflows. */
export type Activities = ReturnType<typeof createActivities>;
