/**
 * Turning API failures into Temporal failures with the retry rules' verdict.
 */
import { heartbeat } from '@temporalio/activity';
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import { ApsApiError, type ApsError } from '../aps/types';
import { normalizeError } from '../aps/errors';
import { decideRetry } from '../retry';
import type { RetryDecision, RetryRule, RuleCounters } from '../retry/types';
import { FailureTypes } from '../api';
export { invalidInputFailure } from '../failures';

/** What the activity attempts carry to the next attempt (heartbeat details): plain JSON. */
export interface AttemptState {
  /** Per-rule budget use. */
  counters: RuleCounters;
}

/** Details attached to a failure thrown for an API error. */
export interface ApiFailureDetails {
  /** Normalized error code. */
  code: string;
  /** HTTP status, when a response arrived. */
  httpStatus?: number;
  /** The service's request ID. */
  requestId?: string;
  /** Retry class of the code. */
  retryClass: ApsError['retryClass'];
  /** The rule that decided. */
  rule?: string;
  /** The rule's reasoning (budget used, …). */
  reason: string;
  /** Delay before the next attempt, ms (absent when final). */
  nextRetryDelayMs?: number;
}

/** Normalizes anything an API call threw. */
export function toApsError(err: unknown): ApsError {
  return err instanceof ApsApiError ? err.error : normalizeError(err);
}

/**
 * Applies the rules to an API error, saves the updated counters as heartbeat details (the SDK
 * sends the last details along with the failure, so the next attempt and a restarted worker see
 * them; `save` does it for a wait held in process) and returns the failure to throw. `minDelayMs` keeps a retry from coming sooner than that
 * (polling never speeds up because of an error).
 */
export function apiFailure(
  error: ApsError,
  rules: RetryRule[],
  state: AttemptState,
  saveExtra: Record<string, unknown> = {},
  minDelayMs = 0,
  now: () => number = Date.now,
  random: () => number = Math.random,
  save: (details: Record<string, unknown>) => void = heartbeat,
): { failure: ApplicationFailure; decision: RetryDecision; delayMs?: number } {
  const decision = decideRetry({
    rules,
    error: { code: error.code, retryClass: error.retryClass },
    counters: state.counters,
    nowMs: now(),
    random,
  });
  const delayMs = decision.retry ? Math.max(decision.delayMs ?? 0, minDelayMs) : undefined;
  save({ ...saveExtra, counters: decision.counters });
  const details: ApiFailureDetails = {
    code: error.code,
    httpStatus: error.httpStatus,
    requestId: error.requestId,
    retryClass: error.retryClass,
    rule: decision.ruleName,
    reason: decision.reason,
    nextRetryDelayMs: delayMs,
  };
  const failure = ApplicationFailure.create({
    type: error.code,
    message: decision.retry
      ? `${error.code}: ${error.message}`
      : `${error.code}: ${error.message} (${decision.reason})`,
    nonRetryable: !decision.retry,
    nextRetryDelay: delayMs,
    details: [details],
  });
  return { failure, decision, ...(delayMs !== undefined ? { delayMs } : {}) };
}

/** A BENIGN "not there yet" failure: retried after `delayMs`, logged at debug, no failure metrics. */
export function notReadyFailure(
  message: string,
  delayMs: number,
  details: Record<string, unknown>,
): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureTypes.ApsJobNotReady,
    message,
    nonRetryable: false,
    nextRetryDelay: delayMs,
    category: ApplicationFailureCategory.BENIGN,
    details: [details],
  });
}
