/**
 * Types of the error-code keyed retry rules. Pure: safe to import in workflow code.
 */
import type { RetryClass } from '../aps/types';

/** A duration as a Temporal duration string (`'30s'`, `'5m'`) or milliseconds. */
export type RuleDuration = string | number;

/**
 * A retry rule as users write it (workflow input, `APS_RETRY_RULES`), in the spirit of AWS Step
 * Functions' `Retry`. Rules are ordered; the first whose `errorEquals` matches the error wins.
 */
export interface RetryRuleInput {
  /** A name for messages, metrics and counters (default: `<source>[<index>]`). Unique within one list. */
  name?: string;
  /** Why the rule exists, for documentation tables and logs (free text, optional). */
  description?: string;
  /**
   * What the rule matches: exact codes (`Throttling.User`), prefix wildcards (`Throttling.*`),
   * retry classes (`@throttled`, `@transient`, `@permanent`, `@unknown`) or `*` (anything).
   */
  errorEquals: string[];
  /** Retries this rule allows in all (not counting the first call); 0 means never retry. */
  maxAttempts: number;
  /** Delay before the first retry (default `1s`). */
  initialInterval?: RuleDuration;
  /** Growth factor of the delay per retry (default 2, at least 1). */
  backoffCoefficient?: number;
  /** Upper bound of one delay (default `100 × initialInterval`). */
  maximumInterval?: RuleDuration;
  /** `full`: a uniformly random delay between 0 and the computed one; `none`: exactly the computed one (default `full`). */
  jitter?: 'full' | 'none';
  /** Time budget from this rule's first matching failure; once spent, the next matching failure is final. */
  maxElapsed?: RuleDuration;
}

/** A validated rule, durations in milliseconds. */
export interface RetryRule {
  /** Unique name. */
  name: string;
  /** Why the rule exists (free text). */
  description?: string;
  /** Matchers, as in {@link RetryRuleInput.errorEquals}. */
  errorEquals: string[];
  /** Retries allowed in all; 0 means never retry. */
  maxAttempts: number;
  /** Delay before the first retry, ms. */
  initialIntervalMs: number;
  /** Growth factor. */
  backoffCoefficient: number;
  /** Upper bound of one delay, ms. */
  maximumIntervalMs: number;
  /** Jitter strategy. */
  jitter: 'full' | 'none';
  /** Time budget from the first matching failure, ms. */
  maxElapsedMs?: number;
}

/** Per-rule budget use; kept where it survives attempts and worker crashes (heartbeat details). */
export interface RuleCounter {
  /** Retries granted so far under this rule. */
  retries: number;
  /** Epoch ms of this rule's first matching failure. */
  firstFailureAt: number;
}

/** Counters by rule name. Plain JSON. */
export type RuleCounters = Record<string, RuleCounter>;

/** The error as the rules see it. */
export interface RetryableError {
  /** Normalized error code. */
  code: string;
  /** Its retry class. */
  retryClass: RetryClass;
}

/** What to do after a failure. */
export interface RetryDecision {
  /** Whether to retry. */
  retry: boolean;
  /** Delay before the retry, ms (when `retry`). */
  delayMs?: number;
  /** The rule that matched (none when no rule matched: never retried). */
  ruleName?: string;
  /** Why, for logs and failure messages (e.g. `rule throttling: 10 of 10 retries used`). */
  reason: string;
  /** Updated counters, to be saved before the failure is thrown. */
  counters: RuleCounters;
  /** Why no retry was granted (when not `retry`), for metrics and tests that must not parse `reason`. */
  stopReason?: RetryStopReason;
}

/**
 * Why a failure is final: no rule matched, the rule allows no retries, its retry count is used up,
 * or its time budget is spent.
 */
export type RetryStopReason = 'no-rule' | 'no-retries' | 'max-attempts' | 'max-elapsed';
