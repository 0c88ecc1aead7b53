/**
 * The delay between status reads: a fixed interval, or an adaptive one that starts short and grows
 * geometrically up to a ceiling (fast detection early, few calls for long jobs). Pure: the waits
 * use it, and so does the workflow when it re-schedules a wait under a new interval.
 */

/** An adaptive poll interval, in ms. */
export interface PollSchedule {
  /** Delay after the first read. */
  initialMs: number;
  /** The delay never grows past this. */
  maxMs: number;
  /** Growth per read (≥ 1). */
  coefficient: number;
}

/**
 * The delay after the `polls`-th read (1-based): `intervalMs` without a schedule, else
 * min(maxMs, initialMs × coefficient^(polls − 1)), rounded to the millisecond.
 */
export function pollDelayMs(intervalMs: number, schedule: PollSchedule | undefined, polls: number): number {
  if (!schedule) return intervalMs;
  const n = Math.max(0, Math.floor(polls) - 1);
  const grown = schedule.initialMs * Math.pow(schedule.coefficient, n);
  return Math.round(Math.min(schedule.maxMs, grown));
}
