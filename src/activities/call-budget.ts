/**
 * How many APS API calls one activity attempt makes at most: what turns an API rate limit into the
 * task queue's activity rate. Light on imports so that `config.ts` can use it.
 */
import { ACTION_LOG_MAX_CALLS } from '../aps/action-logs';

/** DescribeApsJobs pages read to find a failed job's ErrMessage (100 jobs a page). */
export const ERR_MESSAGE_MAX_PAGES = 5;

export { ACTION_LOG_MAX_CALLS };

/**
 * The ErrMessage lookup under an API rate limit: one page (the first 100 jobs of the region), so
 * that a read of a failed job, with its reasons, makes no more calls than the start's three.
 */
export const RATE_LIMITED_ERR_MESSAGE_PAGES = 1;

/** The reasons under an API rate limit: one DescribeApsActionLogs call (100 lines). */
export const RATE_LIMITED_ACTION_LOG_CALLS = 1;

/**
 * The most API calls one attempt makes on a worker that does not hold waits in process, when the
 * ErrMessage lookup reads at most `errMessagePages` pages and the reasons at most `actionLogCalls`
 * calls:
 * - `startApsJob`: DescribeApsJobDetail (the status before), StartApsJob, and DescribeApsJobDetail
 *   again after a failed start: 3 (an attempt that resumes an earlier attempt's wait makes one
 *   read instead, as below);
 * - one read (`waitForApsJob`, `checkApsJob`, a resumed start): DescribeApsJobDetail, and for a job
 *   that reads failed its ErrMessage lookup (`errMessagePages` DescribeApsJobs pages at most) and
 *   its reasons (`actionLogCalls` DescribeApsActionLogs calls at most);
 * - `suspendApsJob`: SuspendApsJob, 1.
 * Heartbeats make no API call. A waiter holding waits in process reads on its own timers, without
 * an attempt per read: no bound holds then.
 */
export function maxApiCallsPerAttempt(
  errMessagePages: number = ERR_MESSAGE_MAX_PAGES,
  actionLogCalls: number = ACTION_LOG_MAX_CALLS,
): number {
  return Math.max(3, 1 + errMessagePages + actionLogCalls);
}

/** The factor k of a rate-limited worker: activity attempts per second = API calls per second ÷ k. */
export const RATE_LIMITED_CALLS_PER_ATTEMPT = maxApiCallsPerAttempt(
  RATE_LIMITED_ERR_MESSAGE_PAGES,
  RATE_LIMITED_ACTION_LOG_CALLS,
);
