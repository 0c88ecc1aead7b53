/**
 * Raw APS job status → class. The full set of status values is not documented (aps-api.md,
 * "Status values"), so statuses are matched whole, ignoring case, against the table of the names
 * known from examples and from the same API version's Spark job states; the raw value is kept.
 */
import type { JobStatus, StatusClass } from './types';

/**
 * The known statuses. Whole names only: a substring match would read `Finishing` as completed or
 * `Failover` as failed, and either would end a wait (or start a job) on a guess.
 */
const KNOWN: ReadonlyArray<readonly [StatusClass, readonly string[]]> = [
  ['running', ['Running']],
  ['completed', ['Completed', 'Finished', 'Succeeded', 'Success']],
  ['failed', ['Failed', 'Fatal', 'Error']],
  ['stopped', ['Suspended', 'Paused', 'Stopped', 'Killed']],
  [
    'transitional',
    [
      'Starting',
      'Submitted',
      'Creating',
      'Init',
      'Initializing',
      'Pending',
      'Resuming',
      'Suspending',
      'Stopping',
      'Failing',
      'Killing',
      'Succeeding',
      '-',
    ],
  ],
];

const BY_NAME: ReadonlyMap<string, StatusClass> = new Map(
  KNOWN.flatMap(([cls, names]) => names.map((n) => [n.toLowerCase(), cls] as const)),
);

/**
 * Classifies a raw job status. Anything not in the table, including a missing or non-string
 * value, is `unknown`: not ready while waiting, and never by itself a reason to start the job.
 */
export function classifyStatus(raw: unknown): JobStatus {
  if (typeof raw !== 'string') return { raw: rawText(raw), class: 'unknown' };
  return { raw, class: BY_NAME.get(raw.trim().toLowerCase()) ?? 'unknown' };
}

// Only JSON values reach here (the status comes from a parsed body), so stringifying cannot throw.
function rawText(raw: unknown): string {
  if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
  return typeof raw === 'object' && raw !== null ? JSON.stringify(raw) : '';
}
