/**
 * The retry decision: which rule an error falls under, whether that rule's budget allows one more
 * retry, and after what delay. Pure and deterministic given its inputs: the clock and the random
 * source are parameters, so the same function serves activities (Date.now, Math.random) and
 * workflows (their replay-safe Date.now and Math.random).
 *
 * Budgets are per rule and exact. A rule's counter (keyed by rule name) holds the retries it has
 * granted and the epoch ms of its first matching failure; it only changes when a retry is granted.
 * - `maxAttempts`: the rule grants exactly that many retries in all. The next matching failure
 *   after the last one is final, however many failures of other rules came in between.
 * - `maxElapsed`: a retry is granted only while `now - firstFailureAt < maxElapsed`, and its delay
 *   is clamped so that it runs no later than `firstFailureAt + maxElapsed`. The retry that runs at
 *   that instant is therefore the last one: if it fails too, the budget is spent.
 * - A clock behind the one that recorded `firstFailureAt` (another worker) can stretch a time
 *   budget by that skew; it never ends a budget early.
 */
import { formatMs } from '../validation';
import { findRule } from './match';
import type { RetryableError, RetryDecision, RetryRule, RuleCounter, RuleCounters } from './types';

/**
 * Smallest full-jitter delay (unless the computed delay itself is smaller). Full jitter can draw a
 * delay near zero, and an immediate retry against a throttled or failing API is exactly the burst
 * that jitter exists to avoid; 100 ms is negligible next to the intervals that rules use.
 */
export const JITTER_FLOOR_MS = 100;

/** Input of {@link decideRetry}. */
export interface DecideRetryInput {
  /** The rules, in order (first match wins), e.g. from `resolveRules`. */
  rules: readonly RetryRule[];
  /** The failure to decide about. */
  error: RetryableError;
  /** Counters saved after the previous decision (absent or `{}` before the first failure). */
  counters?: RuleCounters;
  /** Now, epoch ms (`Date.now()`, which is replay-safe inside workflows). */
  nowMs: number;
  /**
   * A uniform random number in [0, 1). Called exactly once per granted retry under a `full`
   * jitter rule and never otherwise, so a workflow's seeded Math.random stays replay-safe.
   */
  random: () => number;
}

/** An exponential backoff: `initial × coefficient^n`, capped at `maximum`, whole ms. */
export function exponentialDelayMs(
  b: { initialIntervalMs: number; backoffCoefficient: number; maximumIntervalMs: number },
  n: number,
): number {
  const grown = b.initialIntervalMs * b.backoffCoefficient ** n;
  // coefficient ** n overflows to Infinity for long runs; the cap is then the answer.
  return Math.round(Number.isFinite(grown) ? Math.min(b.maximumIntervalMs, grown) : b.maximumIntervalMs);
}

/** The delay before the `retryIndex`-th retry under a rule (from 0), before jitter, ms. */
export function backoffDelayMs(rule: RetryRule, retryIndex: number): number {
  return Math.max(1, exponentialDelayMs(rule, retryIndex));
}

/** The delay before the `retryIndex`-th retry under a rule (from 0), with the rule's jitter, ms. */
export function retryDelayMs(rule: RetryRule, retryIndex: number, random: () => number): number {
  const base = backoffDelayMs(rule, retryIndex);
  if (rule.jitter === 'none') return base;
  const r = random();
  // A broken random source must not produce a zero or negative delay: NaN counts as 1 (no jitter).
  const u = Number.isNaN(r) ? 1 : Math.min(1, Math.max(0, r));
  return Math.max(Math.min(JITTER_FLOOR_MS, base), Math.min(base, Math.round(u * base)));
}

/**
 * Decides whether to retry a failure: the first matching rule's budget, the delay, and the updated
 * counters (a new object; the input is not modified; counters of other rules, even of rules no
 * longer in the list, are carried over unchanged). No matching rule means no retry. A malformed
 * counter entry counts as absent.
 */
export function decideRetry(input: DecideRetryInput): RetryDecision {
  const { rules, error, nowMs, random } = input;
  if (!Number.isFinite(nowMs))
    throw new TypeError(`decideRetry: nowMs must be epoch milliseconds, got ${nowMs}`);
  const counters: RuleCounters = { ...(input.counters ?? {}) };

  const rule = findRule(rules, error);
  if (!rule) {
    return {
      retry: false,
      reason: `no retry rule matches ${error.code} (class ${error.retryClass}): not retried`,
      counters,
      stopReason: 'no-rule',
    };
  }
  const what = `rule ${rule.name} matched ${error.code}`;
  if (rule.maxAttempts <= 0) {
    return {
      retry: false,
      ruleName: rule.name,
      reason: `${what}: the rule allows no retries`,
      counters,
      stopReason: 'no-retries',
    };
  }

  const prior = readCounter(counters, rule.name);
  const retries = prior?.retries ?? 0;
  const firstFailureAt = prior?.firstFailureAt ?? nowMs;
  if (retries >= rule.maxAttempts) {
    return {
      retry: false,
      ruleName: rule.name,
      reason: `${what}: ${retries} of ${rule.maxAttempts} retries used, not retried`,
      counters,
      stopReason: 'max-attempts',
    };
  }

  let remainingMs: number | undefined;
  if (rule.maxElapsedMs !== undefined) {
    const elapsed = nowMs - firstFailureAt;
    if (elapsed >= rule.maxElapsedMs) {
      return {
        retry: false,
        ruleName: rule.name,
        reason: `${what}: time budget of ${formatMs(rule.maxElapsedMs)} spent (first matching failure ${formatMs(elapsed)} ago), not retried`,
        counters,
        stopReason: 'max-elapsed',
      };
    }
    // Whole milliseconds, and at least 1: a zero delay would let Temporal fall back to the retry
    // policy's own interval, which knows nothing of this budget.
    remainingMs = Math.max(1, Math.floor(firstFailureAt + rule.maxElapsedMs - nowMs));
  }

  const drawn = retryDelayMs(rule, retries, random);
  const delayMs = remainingMs !== undefined ? Math.min(drawn, remainingMs) : drawn;
  setCounter(counters, rule.name, { retries: retries + 1, firstFailureAt });

  let reason = `${what}: retry ${retries + 1} of ${rule.maxAttempts} in ${formatMs(delayMs)}`;
  if (rule.maxElapsedMs !== undefined) {
    reason +=
      delayMs < drawn
        ? ` (clamped to the end of its ${formatMs(rule.maxElapsedMs)} time budget)`
        : ` (${formatMs(Math.max(0, nowMs - firstFailureAt))} of its ${formatMs(rule.maxElapsedMs)} time budget used)`;
  }
  return { retry: true, delayMs, ruleName: rule.name, reason, counters };
}

function isCounter(value: unknown): value is RuleCounter {
  if (typeof value !== 'object' || value === null) return false;
  const { retries, firstFailureAt } = value as Record<string, unknown>;
  return (
    typeof retries === 'number' &&
    Number.isSafeInteger(retries) &&
    retries >= 0 &&
    typeof firstFailureAt === 'number' &&
    Number.isFinite(firstFailureAt)
  );
}

// Own properties only: a rule named `constructor` must not find Object.prototype.constructor.
function readCounter(counters: RuleCounters, name: string): RuleCounter | undefined {
  if (!Object.hasOwn(counters, name)) return undefined;
  const c = counters[name];
  return isCounter(c) ? c : undefined;
}

// defineProperty, so that a rule named `__proto__` stays a plain key.
function setCounter(counters: RuleCounters, name: string, counter: RuleCounter): void {
  Object.defineProperty(counters, name, {
    value: counter,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/**
 * Reads counters from untyped storage (heartbeat details, a workflow's saved state): keeps the
 * well-formed entries and drops the rest, so a corrupt entry restarts that rule's budget instead of
 * failing the attempt that reads it.
 */
export function parseRuleCounters(value: unknown): RuleCounters {
  const out: RuleCounters = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return out;
  for (const [name, c] of Object.entries(value)) {
    if (isCounter(c)) setCounter(out, name, { retries: c.retries, firstFailureAt: c.firstFailureAt });
  }
  return out;
}
