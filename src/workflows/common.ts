/**
 * What both workflows do the same way: their activity options, suspending without losing the
 * outcome, and the patch IDs that keep histories of earlier releases replaying.
 */
import {
  ActivityCancellationType,
  CancellationScope,
  log,
  patched,
  proxyActivities,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { suspendErrorOf, type SuspendError } from '../failures';

/** Suspending on cancel, pause or deadline gets this long, beyond any deadline of the workflow. */
export const SUSPEND_BUDGET_MS = 5 * 60_000;

/**
 * Patch IDs. Each names a change in the order of the commands a workflow sends; histories of
 * earlier releases lack the marker and replay the old way.
 */
export const Patches = {
  /**
   * A cancel (or a pause) waits until the start attempt in flight has ended before the workflow
   * goes on to suspend the job, so the suspend comes after every StartApsJob sent.
   */
  startCancellationWaits: 'start-cancellation-waits',
  /** A refused suspend is recorded; the run keeps its own outcome (cancelled, timed out). */
  suspendRefusalKeepsOutcome: 'suspend-refusal-keeps-outcome',
  /** After the suspend of a cancelled workflow, its phase is `cancelled` again, not `suspending`. */
  finalPhaseAfterSuspend: 'final-phase-after-suspend',
  /** A pause interrupts a supervisor's check that is being retried. */
  pauseInterruptsCheck: 'pause-interrupts-check',
  /**
   * runApsJob's start waits for the target in the same activity, and waits are held in process
   * between reads (heartbeat timeout set): a job reached in that activity needs no wait activity.
   */
  inProcessWait: 'in-process-wait',
} as const;

/** How long one attempt holds a wait in process before handing it back to the server. */
export const IN_PROCESS_WINDOW_MS = 10 * 60_000;

/**
 * The heartbeat timeout of an attempt that holds a wait in process: how long a dead worker's waits
 * go unnoticed: the run's `heartbeatTimeout` when it gave one (`givenMs`), else three times the
 * longest delay between reads that is held in process (1 min), and at least 30 s, above the default
 * read timeout of one API call.
 */
export function waitHeartbeatTimeoutMs(maxDelayMs: number, givenMs?: number): number {
  return givenMs ?? Math.max(30_000, 3 * Math.min(maxDelayMs, 60_000));
}

/**
 * The activities for waits held in process: an attempt lasts up to {@link IN_PROCESS_WINDOW_MS}
 * (plus one `activityTimeoutMs` for its last read), and a worker that dies is noticed after the
 * heartbeat timeout (`heartbeatTimeoutMs` when the run was given one).
 */
export function inProcessActivities(
  activityTimeoutMs: number,
  scheduleToCloseMs: number,
  maxDelayMs: number,
  waitCancellation = false,
  heartbeatTimeoutMs?: number,
): Activities {
  return proxyActivities<Activities>({
    startToCloseTimeout: IN_PROCESS_WINDOW_MS + activityTimeoutMs,
    heartbeatTimeout: waitHeartbeatTimeoutMs(maxDelayMs, heartbeatTimeoutMs),
    scheduleToCloseTimeout: Math.max(1, scheduleToCloseMs),
    retry: { initialInterval: 100, backoffCoefficient: 2, maximumInterval: '1m' },
    ...(waitCancellation ? { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED } : {}),
  });
}

/**
 * The activities with the workflows' options: `activityTimeoutMs` bounds each attempt, Temporal's
 * retry policy is only the outer bound (`scheduleToCloseMs`), and each attempt's failure says
 * non-retryable or nextRetryDelay, as the error-code rules decide. `waitCancellation` makes a
 * cancel wait for the attempt in flight to end (the start, whose request may still land).
 */
export function activitiesWith(
  activityTimeoutMs: number,
  scheduleToCloseMs: number,
  waitCancellation = false,
): Activities {
  return proxyActivities<Activities>({
    startToCloseTimeout: activityTimeoutMs,
    scheduleToCloseTimeout: Math.max(1, scheduleToCloseMs),
    retry: { initialInterval: 100, backoffCoefficient: 2, maximumInterval: '1m' },
    ...(waitCancellation ? { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED } : {}),
  });
}

/**
 * The activities for a start: a cancel of its scope waits until the attempt in flight has ended
 * (runs of earlier releases keep the old way, see {@link Patches.startCancellationWaits}).
 */
export function startActivities(activityTimeoutMs: number, scheduleToCloseMs: number): Activities {
  return activitiesWith(activityTimeoutMs, scheduleToCloseMs, patched(Patches.startCancellationWaits));
}

/**
 * Suspends the job, not cancellable. A refusal (a permanent code, a spent budget) is logged and
 * returned, so that the caller keeps its own outcome; runs of earlier releases threw it
 * ({@link Patches.suspendRefusalKeepsOutcome}).
 */
export async function suspendJob(
  suspend: () => Promise<unknown>,
  why: string,
): Promise<SuspendError | undefined> {
  log.info('suspending the job', { why });
  try {
    await CancellationScope.nonCancellable(suspend);
    return undefined;
  } catch (err) {
    if (!patched(Patches.suspendRefusalKeepsOutcome)) throw err;
    const refused = suspendErrorOf(err);
    log.error('the job could not be suspended', { why, code: refused.code, message: refused.message });
    return refused;
  }
}
