/**
 * The failures both workflows and the activities end with, built in one place. Pure: safe to
 * import in workflow code.
 */
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/common';
import { FailureTypes } from './api';
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

/** The raw status and ErrMessage of a job that reported a failed status. */
export interface JobFailedDetails {
  /** Raw status. */
  status: string;
  /** The job's ErrMessage from DescribeApsJobs, when it could be read. */
  errMessage?: string;
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
  };
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
