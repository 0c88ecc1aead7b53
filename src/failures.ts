/**
 * The failures both workflows and the activities end with, built in one place. Pure: safe to
 * import in workflow code.
 */
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/common';
import { FailureTypes } from './api';
import type { ActionLogLine } from './aps/types';
import type { InputValidationError } from './validation';

/** Bad input (workflow input, an update argument, an activity called directly): final, names the field. */
export function invalidInputFailure(err: InputValidationError): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureTypes.InvalidWorkflowInput,
    message: err.message,
    nonRetryable: true,
    details: [{ field: err.field, expected: err.expected, got: err.got }],
  });
}

/**
 * Why a job failed beyond its ErrMessage: its newest ERROR lines (DescribeApsActionLogs) and the
 * console page to look further. Best effort: absent fields mean they could not be read.
 */
export interface FailureReasons {
  /** The job's newest ERROR lines of the run, newest first: at most 20 lines, 4 KB of text. */
  actionLogs?: ActionLogLine[];
  /** True when lines were left out or a text was cut to stay within those bounds. */
  actionLogsTruncated?: boolean;
  /** The AnalyticDB console page of the job's cluster (or the region's clusters). */
  consoleUrl?: string;
}

/** The raw status and ErrMessage of a job that reported a failed status, with its reasons. */
export interface JobFailedDetails extends FailureReasons {
  /** Raw status. */
  status: string;
  /** The job's ErrMessage from DescribeApsJobs, when it could be read. */
  errMessage?: string;
}

/** The {@link FailureReasons} fields of a details object, checked (anything malformed is left out). */
export function failureReasonsOf(d: unknown): FailureReasons {
  if (typeof d !== 'object' || d === null) return {};
  const r = d as Record<string, unknown>;
  const lines = Array.isArray(r.actionLogs)
    ? r.actionLogs.filter(
        (l): l is ActionLogLine =>
          typeof l === 'object' &&
          l !== null &&
          typeof (l as ActionLogLine).time === 'string' &&
          typeof (l as ActionLogLine).state === 'string' &&
          typeof (l as ActionLogLine).context === 'string',
      )
    : undefined;
  return {
    ...(lines ? { actionLogs: lines } : {}),
    ...(r.actionLogsTruncated === true ? { actionLogsTruncated: true } : {}),
    ...(typeof r.consoleUrl === 'string' ? { consoleUrl: r.consoleUrl } : {}),
  };
}

/** Splits a failure record from its reasons: the record is what lists and restart windows keep. */
export function withoutReasons<T extends FailureReasons>(
  value: T,
): { record: Omit<T, keyof FailureReasons>; reasons: FailureReasons } {
  const { actionLogs, actionLogsTruncated, consoleUrl, ...record } = value;
  return { record, reasons: failureReasonsOf({ actionLogs, actionLogsTruncated, consoleUrl }) };
}

/** The details of an `ApsJobFailed` failure of an activity, or undefined for anything else. */
export function jobFailedDetails(err: unknown): JobFailedDetails | undefined {
  if (!(err instanceof ActivityFailure)) return undefined;
  const cause = err.cause;
  if (!(cause instanceof ApplicationFailure) || cause.type !== FailureTypes.ApsJobFailed) return undefined;
  const d = cause.details?.[0] as Partial<JobFailedDetails> | undefined;
  return {
    status: typeof d?.status === 'string' ? d.status : 'Failed',
    ...(typeof d?.errMessage === 'string' ? { errMessage: d.errMessage } : {}),
    ...failureReasonsOf(d),
  };
}

/**
 * The details of an `ApsJobFailed` failure found in an error's cause chain, or undefined when the
 * chain holds none: a child `runApsJob` or `superviseApsJob` awaited in a workflow
 * (`ChildWorkflowFailure`), a run awaited by a client (`WorkflowFailedError`), or an activity
 * (`ActivityFailure`). Pure: safe in workflow code.
 */
export function apsJobFailureOf(err: unknown): JobFailedDetails | undefined {
  let e: unknown = err;
  // A short walk: the failure is at most a few causes down (workflow → activity → application).
  for (let depth = 0; depth < 8 && e instanceof Error; depth++) {
    if (e instanceof ApplicationFailure && e.type === FailureTypes.ApsJobFailed) {
      const d = e.details?.[0] as Partial<JobFailedDetails> | undefined;
      return {
        status: typeof d?.status === 'string' ? d.status : 'Failed',
        ...(typeof d?.errMessage === 'string' ? { errMessage: d.errMessage } : {}),
        ...failureReasonsOf(d),
      };
    }
    e = e.cause;
  }
  return undefined;
}

/**
 * Whether an activity failure means the deadline: the server timed the activity out, a retry
 * would have landed past its schedule-to-close, or the start activity refused to send after the
 * run's deadline. A final API error that merely arrives near the deadline is not one.
 */
export function isDeadlineFailure(err: unknown): boolean {
  if (!(err instanceof ActivityFailure)) return false;
  const cause = err.cause;
  return (
    cause instanceof TimeoutFailure ||
    err.retryState === 'TIMEOUT' ||
    (cause instanceof ApplicationFailure && cause.type === FailureTypes.ApsJobTimeout)
  );
}

/** The failure type an activity failure carries (an API code), `ApsJobTimeout` for a timeout, or `UnexpectedError`. */
export function failureTypeOf(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
    return err.cause.type ?? 'ActivityFailed';
  }
  if (err instanceof ActivityFailure && err.cause instanceof TimeoutFailure)
    return FailureTypes.ApsJobTimeout;
  return 'UnexpectedError';
}

/**
 * Maps what ended a workflow to the ApplicationFailure it fails with: its own failures as they
 * are, an activity's API error under its code, a deadline as `timeoutFailure` (when the workflow
 * has a deadline), anything else as `UnexpectedError`.
 */
export function workflowFailure(
  err: unknown,
  what: string,
  timeoutFailure?: (cause: Error) => ApplicationFailure,
): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  if (timeoutFailure && err instanceof ActivityFailure && isDeadlineFailure(err)) return timeoutFailure(err);
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
    return ApplicationFailure.create({
      type: err.cause.type ?? 'ActivityFailed',
      message: err.cause.message,
      nonRetryable: true,
      details: err.cause.details ?? undefined,
      cause: err,
    });
  }
  return ApplicationFailure.create({
    type: 'UnexpectedError',
    message: `${what} failed: ${err instanceof Error ? err.message : String(err)}`,
    nonRetryable: true,
    cause: err instanceof Error ? err : undefined,
  });
}

/** Why a suspend was refused: kept in the status and the failure details, never thrown over the outcome. */
export interface SuspendError {
  /** The API error code (or `ApsJobTimeout` when the suspend's own budget ran out). */
  code: string;
  /** The message. */
  message: string;
}

/** The {@link SuspendError} of a failed suspend activity. */
export function suspendErrorOf(err: unknown): SuspendError {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  return {
    code: failureTypeOf(err),
    message: (cause ?? (err instanceof Error ? err : undefined))?.message ?? String(err),
  };
}
