/**
 * The built-in retry rules, from the error-code table in docs (aps-api.md, "Error codes"). They come
 * last, after the workflow's and the worker's rules, so any user rule that matches first overrides
 * them. Pure: safe to import in workflow code.
 *
 * Transient, permanent and unknown errors are matched by class: which code belongs to which class
 * is decided once, by the classifier in `aps/errors.ts`. Codes are named here only where the wanted
 * behaviour differs from a plain class (an expired STS token, a cluster not ready, throttling). The
 * two narrow code rules come first, before any class matcher, so that they win whatever class the
 * code was given; the throttling rule names its codes too, for the same reason.
 */
import type { RetryRule, RetryRuleInput } from './types';
import { MAX_ATTEMPTS_LIMIT, validateRetryRules } from './validate';

/** The built-in rules as written (see {@link DEFAULT_RETRY_RULES} for the validated form). */
export const DEFAULT_RETRY_RULE_INPUTS: readonly RetryRuleInput[] = [
  {
    name: 'security-token',
    description:
      'InvalidSecurityToken.Expired and kin: the STS token expired in flight. The credential provider ' +
      'fetches a new one on the next call, so one retry after a short pause is enough; a second ' +
      'failure means the credentials themselves are wrong.',
    errorEquals: ['InvalidSecurityToken.*'],
    maxAttempts: 1,
    initialInterval: '2s',
    jitter: 'none',
  },
  {
    name: 'db-instance-state',
    description:
      'IncorrectDBInstanceState: the cluster is being created, scaled, restarted or upgraded, which ' +
      'takes minutes. Retry slowly (about 30 minutes of delays over 10 retries), at most an hour, then ' +
      'fail so that someone looks at the cluster.',
    errorEquals: ['IncorrectDBInstanceState'],
    maxAttempts: 10,
    initialInterval: '30s',
    backoffCoefficient: 1.5,
    maximumInterval: '5m',
    // One workflow per job and a handful of jobs per cluster: no crowd to spread out, and a fixed
    // schedule keeps the early retries from landing seconds apart.
    jitter: 'none',
    maxElapsed: '1h',
  },
  {
    name: 'throttling',
    description:
      'Flow control (Throttling, Throttling.User, Throttling.Api, …): slow down. Quotas refill within ' +
      'seconds to minutes, and every workflow of the account is throttled at once, so delays grow to ' +
      'minutes with full jitter to spread them out; a 30-minute time budget, not the count, ends it.',
    // `Throttling.*` also matches the bare `Throttling`.
    errorEquals: ['Throttling.*', '@throttled'],
    maxAttempts: 10_000,
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '2m',
    jitter: 'full',
    maxElapsed: '30m',
  },
  {
    name: 'transient',
    description:
      'Transient (5xx, ServiceUnavailable, InternalError, AcsServerTimeOut, SignatureNonceUsed, network ' +
      'errors and timeouts, non-JSON bodies): a blip. 8 retries from 1s doubling to 1m wait about 3 ' +
      'minutes at most; an outage longer than that is better reported than hidden.',
    errorEquals: ['@transient'],
    maxAttempts: 8,
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '1m',
    jitter: 'full',
  },
  {
    name: 'permanent',
    description:
      'Permanent (bad input, unknown cluster or API, bad or inactive AccessKey, signature, RAM ' +
      'permission, clock skew, unsupported cluster class): the same call fails the same way, so fail now.',
    errorEquals: ['@permanent'],
    maxAttempts: 0,
  },
  {
    name: 'unknown',
    description:
      'A code no table knows: treated as transient with a small budget (3 retries within about 14s), ' +
      'so that a new permanent code costs seconds, not hours.',
    errorEquals: ['@unknown'],
    maxAttempts: 3,
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    jitter: 'full',
  },
];

function deepFreeze(rules: RetryRule[]): RetryRule[] {
  for (const rule of rules) {
    Object.freeze(rule.errorEquals);
    Object.freeze(rule);
  }
  return Object.freeze(rules) as RetryRule[];
}

/**
 * The built-in rules, validated (frozen: copy before changing; `resolveRules` returns copies).
 */
export const DEFAULT_RETRY_RULES: RetryRule[] = deepFreeze(
  validateRetryRules(DEFAULT_RETRY_RULE_INPUTS, 'default'),
);

/** Name of the rule that takes the place of `transient` while a job is waited on. */
export const WAIT_OUTAGE_RULE_NAME = 'wait-outage';

/** The names a built-in rule can have: the defaults and {@link WAIT_OUTAGE_RULE_NAME}. */
export const BUILT_IN_RULE_NAMES: readonly string[] = Object.freeze([
  ...DEFAULT_RETRY_RULES.map((r) => r.name),
  WAIT_OUTAGE_RULE_NAME,
]);

/** Default of `waitOutage`: how long a waited-on job's status reads may fail transiently. */
export const DEFAULT_WAIT_OUTAGE = '1h';

/**
 * The rule that takes the place of `transient` while a job is waited on. A waited-on job runs
 * whatever its status API does, so an outage of DescribeApsJobDetail is bounded by time, never by
 * a small count: the run gives up only when the outage outlasts `waitOutage` (or its deadline).
 */
export function waitOutageRule(waitOutageMs: number): RetryRule {
  return validateRetryRules(
    [
      {
        name: WAIT_OUTAGE_RULE_NAME,
        description:
          'While a job is waited on, in place of `transient`: status reads that fail transiently ' +
          '(5xx, timeouts, resets, non-JSON bodies) are retried from the poll interval, doubling up ' +
          'to 1m, for as long as the outage lasts within `waitOutage` (default 1h; the run deadline ' +
          'bounds it too). A good read resets the budget.',
        errorEquals: ['@transient'],
        maxAttempts: MAX_ATTEMPTS_LIMIT,
        initialInterval: '1s',
        backoffCoefficient: 2,
        maximumInterval: '1m',
        jitter: 'full',
        maxElapsed: waitOutageMs,
      },
    ],
    'default',
  )[0] as RetryRule;
}

// Built once per waitOutage value: every poll asks for them, and a run's value never changes.
const waitDefaultsByOutage = new Map<number, RetryRule[]>();

/** The built-in rules in force while a job is waited on: `transient` gives way to `wait-outage`. */
export function waitDefaultRules(waitOutageMs: number): RetryRule[] {
  let rules = waitDefaultsByOutage.get(waitOutageMs);
  if (!rules) {
    rules = deepFreeze(
      DEFAULT_RETRY_RULES.map((r) => (r.name === 'transient' ? waitOutageRule(waitOutageMs) : r)),
    );
    // Runs choose their own value: keep the cache small however many they choose.
    if (waitDefaultsByOutage.size >= 32) waitDefaultsByOutage.clear();
    waitDefaultsByOutage.set(waitOutageMs, rules);
  }
  return rules;
}
