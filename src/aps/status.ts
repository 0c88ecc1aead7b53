/**
 * Raw APS job status → class. The full set of status values is not documented (aps-api.md,
 * "Status values"), so classification is by case-insensitive substring and the raw value is kept.
 */
import type { JobStatus, StatusClass } from './types';

/**
 * Checked in this order; the first class with a matching fragment wins. Order only matters for
 * compound values, and none is documented, so it encodes which signal is the stronger one. Failure
 * words first: they are terminal, and a `StartFailed` or `RunningError` must end the wait rather
 * than look like progress. `completed` next: a finished batch job is done whatever else the value
 * says. `stopped` before `running`: a value naming both (say `RunningToSuspend`) describes a job
 * leaving the running state, and reading it as running would count a start as done too early.
 * `running` last, as the weakest signal. Anything else (`Starting`, `Creating`, `-`, …) is
 * transitional: keep polling.
 */
const RULES: ReadonlyArray<readonly [StatusClass, readonly string[]]> = [
  ['failed', ['fail', 'error']],
  ['completed', ['complete', 'finish', 'succe']],
  ['stopped', ['suspend', 'pause', 'stop']],
  ['running', ['running']],
];

/** Classifies a raw job status; non-string or missing values are transitional. */
export function classifyStatus(raw: unknown): JobStatus {
  if (typeof raw !== 'string') return { raw: rawText(raw), class: 'transitional' };
  const lower = raw.toLowerCase();
  const rule = RULES.find(([, fragments]) => fragments.some((f) => lower.includes(f)));
  return { raw, class: rule ? rule[0] : 'transitional' };
}

// Only JSON values reach here (the status comes from a parsed body), so stringifying cannot throw.
function rawText(raw: unknown): string {
  if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
  return typeof raw === 'object' && raw !== null ? JSON.stringify(raw) : '';
}
