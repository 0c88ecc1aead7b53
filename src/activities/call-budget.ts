/**
 * How many APS API calls one activity attempt makes at most: what turns an API rate limit into the
 * task queue's activity rate. Kept free of imports so that `config.ts` can use it.
 */

/** DescribeApsJobs pages read to find a failed job's ErrMessage (100 jobs a page). */
export const ERR_MESSAGE_MAX_PAGES = 5;

/**
 * The same under an API rate limit: two pages (the first 200 jobs of the region), so that the
 * lookup does not raise the calls per attempt above the start's three.
 */
export const RATE_LIMITED_ERR_MESSAGE_PAGES = 2;

/**
 * The most API calls one attempt makes on a worker that does not hold waits in process, when the
 * ErrMessage lookup reads at most `errMessagePages` pages:
 * - `startApsJob`: DescribeApsJobDetail (the status before), StartApsJob, and DescribeApsJobDetail
 *   again after a failed start: 3 (an attempt that resumes an earlier attempt's wait makes one
 *   read instead, as below);
 * - one read (`waitForApsJob`, `checkApsJob`, a resumed start): DescribeApsJobDetail, and for a job
 *   that reads failed its ErrMessage lookup (`errMessagePages` DescribeApsJobs pages at most);
 * - `suspendApsJob`: SuspendApsJob, 1.
 * Heartbeats make no API call. A waiter holding waits in process reads on its own timers, without
 * an attempt per read: no bound holds then.
 */
export function maxApiCallsPerAttempt(errMessagePages: number = ERR_MESSAGE_MAX_PAGES): number {
  return Math.max(3, 1 + errMessagePages);
}

/** The factor k of a rate-limited worker: activity attempts per second = API calls per second ÷ k. */
export const RATE_LIMITED_CALLS_PER_ATTEMPT = maxApiCallsPerAttempt(RATE_LIMITED_ERR_MESSAGE_PAGES);
