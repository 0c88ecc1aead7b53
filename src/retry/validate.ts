/**
 * Validation of retry rules as users write them (workflow input, `APS_RETRY_RULES`). Pure: safe to
 * import in workflow code. Every message names the rule (index, and name when it has one) and the
 * field, so a typo in a long JSON list is found without bisecting it.
 */
import {
  describeValue,
  DURATION_FORM,
  formatMs,
  InputValidationError,
  parseDuration,
  validateEnum,
} from '../validation';
import { MATCH_ALL, MATCHER_FORM, matcherCovers, parseMatcher, RETRY_CLASSES } from './match';
import type { RetryRule, RetryRuleInput } from './types';

/** Most rules one list may hold (a longer list is a generated mistake, not a policy). */
export const MAX_RULES = 100;
/** Most matchers one rule may hold. */
export const MAX_MATCHERS_PER_RULE = 100;
/** Largest `maxAttempts`: large enough that a time budget, not the count, bounds a rule. */
export const MAX_ATTEMPTS_LIMIT = 1_000_000;
/** Longest delay between two attempts: anything longer is a schedule, not a retry. */
export const MAX_INTERVAL_MS = 24 * 3_600_000;
/** Longest `maxElapsed`. */
export const MAX_ELAPSED_LIMIT_MS = 30 * 24 * 3_600_000;
/** Largest `backoffCoefficient`. */
export const MAX_BACKOFF_COEFFICIENT = 100;
/** Longest rule name. */
export const MAX_NAME_LENGTH = 100;
/** Longest rule description. */
export const MAX_DESCRIPTION_LENGTH = 500;

/** What an omitted optional field becomes. */
export const RULE_FIELD_DEFAULTS = {
  /** `initialInterval`, ms. */
  initialIntervalMs: 1000,
  /** `backoffCoefficient`. */
  backoffCoefficient: 2,
  /** `maximumInterval` is this many times `initialInterval` (at most {@link MAX_INTERVAL_MS}). */
  maximumIntervalFactor: 100,
  /** `jitter`. */
  jitter: 'full',
} as const;

const KNOWN_FIELDS: readonly (keyof RetryRuleInput)[] = [
  'name',
  'description',
  'errorEquals',
  'maxAttempts',
  'initialInterval',
  'backoffCoefficient',
  'maximumInterval',
  'jitter',
  'maxElapsed',
];

// Field names people bring from AWS Step Functions and Temporal retry policies.
const FOREIGN_FIELDS: Record<string, string> = {
  intervalseconds: 'initialInterval (a duration such as "2s"; plain numbers are milliseconds)',
  backoffrate: 'backoffCoefficient',
  maxdelayseconds: 'maximumInterval (a duration such as "2m"; plain numbers are milliseconds)',
  jitterstrategy: "jitter ('full' or 'none')",
  maximumattempts: 'maxAttempts (which counts retries, not calls)',
  initialintervalms: 'initialInterval',
  maximumintervalms: 'maximumInterval',
  maxelapsedms: 'maxElapsed',
};

const JITTERS = ['full', 'none'] as const;

/** Expected form of a whole rule list. */
export const RULES_FORM =
  'a JSON array of retry rules, each an object like {"errorEquals": ["Throttling.*"], "maxAttempts": 10}';

/**
 * Validates a list of retry rules and fills in defaults; durations become whole milliseconds.
 * `source` names the list in messages and default rule names (`retryRules`, `APS_RETRY_RULES`).
 * Throws {@link InputValidationError} naming the first bad field.
 */
export function validateRetryRules(value: unknown, source = 'retryRules'): RetryRule[] {
  if (!Array.isArray(value)) throw new InputValidationError(source, RULES_FORM, describe(value));
  if (value.length > MAX_RULES) {
    throw new InputValidationError(source, `${RULES_FORM}, at most ${MAX_RULES} rules`, describeValue(value));
  }
  const rules: RetryRule[] = [];
  const labels: string[] = [];
  (value as unknown[]).forEach((raw, index) => {
    const { rule, label } = validateRule(raw, source, index);
    checkNameUnique(rule, index, source, rules, labels);
    checkReachable(rule, label, rules, labels);
    rules.push(rule);
    labels.push(label);
  });
  return rules;
}

// describeValue says "a object"; rules are objects often enough to deserve proper grammar.
function describe(value: unknown): string {
  return isRecord(value) ? 'an object' : describeValue(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function validateRule(raw: unknown, source: string, index: number): { rule: RetryRule; label: string } {
  const at = `${source}[${index}]`;
  if (!isRecord(raw)) {
    throw new InputValidationError(
      at,
      'a retry rule object like {"errorEquals": ["Throttling.*"], "maxAttempts": 10}',
      describe(raw),
    );
  }
  const name = raw.name === undefined ? undefined : validateName(raw.name, `${at}.name`);
  // Once the rule has a name, every later message carries it: indexes alone are hard to map back
  // to a rule in a long list.
  const label = name === undefined ? at : `${at} (name ${JSON.stringify(name)})`;

  for (const key of Object.keys(raw)) {
    if (!(KNOWN_FIELDS as readonly string[]).includes(key)) {
      throw new InputValidationError(
        `${label}.${key}`,
        `one of the known fields ${KNOWN_FIELDS.join(', ')}${suggestField(key)}`,
        `an unknown field set to ${describe(raw[key])}`,
      );
    }
  }

  const description =
    raw.description === undefined ? undefined : validateDescription(raw.description, `${label}.description`);
  const errorEquals = validateErrorEquals(raw.errorEquals, `${label}.errorEquals`);
  const maxAttempts = validateMaxAttempts(raw.maxAttempts, `${label}.maxAttempts`);

  const initialIntervalMs =
    raw.initialInterval === undefined
      ? RULE_FIELD_DEFAULTS.initialIntervalMs
      : Math.round(
          parseDuration(raw.initialInterval, `${label}.initialInterval`, {
            minMs: 1,
            maxMs: MAX_INTERVAL_MS,
          }),
        );
  const maximumIntervalMs =
    raw.maximumInterval === undefined
      ? Math.min(MAX_INTERVAL_MS, initialIntervalMs * RULE_FIELD_DEFAULTS.maximumIntervalFactor)
      : validateMaximumInterval(raw.maximumInterval, `${label}.maximumInterval`, initialIntervalMs);
  const backoffCoefficient =
    raw.backoffCoefficient === undefined
      ? RULE_FIELD_DEFAULTS.backoffCoefficient
      : validateCoefficient(raw.backoffCoefficient, `${label}.backoffCoefficient`);
  const jitter =
    raw.jitter === undefined
      ? RULE_FIELD_DEFAULTS.jitter
      : validateEnum(raw.jitter, `${label}.jitter`, JITTERS);
  const maxElapsedMs =
    raw.maxElapsed === undefined
      ? undefined
      : Math.round(
          parseDuration(raw.maxElapsed, `${label}.maxElapsed`, { minMs: 1, maxMs: MAX_ELAPSED_LIMIT_MS }),
        );

  const rule: RetryRule = {
    name: name ?? at,
    ...(description !== undefined ? { description } : {}),
    errorEquals,
    maxAttempts,
    initialIntervalMs,
    backoffCoefficient,
    maximumIntervalMs,
    jitter,
    ...(maxElapsedMs !== undefined ? { maxElapsedMs } : {}),
  };
  return { rule, label };
}

function validateName(value: unknown, field: string): string {
  if (
    typeof value !== 'string' ||
    value.trim() === '' ||
    value !== value.trim() ||
    value.length > MAX_NAME_LENGTH ||
    /\p{C}/u.test(value)
  ) {
    throw new InputValidationError(
      field,
      `a rule name of 1 to ${MAX_NAME_LENGTH} characters, no leading or trailing spaces or control characters`,
      describeValue(value),
    );
  }
  return value;
}

function validateDescription(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length > MAX_DESCRIPTION_LENGTH) {
    throw new InputValidationError(
      field,
      `a text of at most ${MAX_DESCRIPTION_LENGTH} characters`,
      describeValue(value),
    );
  }
  return value;
}

function validateErrorEquals(value: unknown, field: string): string[] {
  const form = `a non-empty array of matchers, each ${MATCHER_FORM}`;
  if (!Array.isArray(value) || value.length === 0)
    throw new InputValidationError(field, form, describeValue(value));
  if (value.length > MAX_MATCHERS_PER_RULE) {
    throw new InputValidationError(
      field,
      `${form}, at most ${MAX_MATCHERS_PER_RULE} of them`,
      describeValue(value),
    );
  }
  const matchers = (value as unknown[]).map((m, j) => {
    if (typeof m !== 'string' || parseMatcher(m) === undefined) {
      throw new InputValidationError(`${field}[${j}]`, matcherHint(m), describeValue(m));
    }
    return m;
  });
  if (matchers.length > 1 && matchers.includes(MATCH_ALL)) {
    throw new InputValidationError(
      field,
      `'*' alone (it already matches every error), or matchers without '*'`,
      `an array of ${matchers.length} with '*' among them`,
    );
  }
  return matchers;
}

// The expected form, tuned to the mistake actually made.
function matcherHint(m: unknown): string {
  if (typeof m === 'string' && m.startsWith('@')) {
    return `a known retry class: ${RETRY_CLASSES.map((c) => `'@${c}'`).join(', ')} (lower case)`;
  }
  if (typeof m === 'string' && m.includes('*')) {
    return `a wildcard only as a trailing '.*' after a code ('Throttling.*'), or '*' alone; ${MATCHER_FORM}`;
  }
  return MATCHER_FORM;
}

function validateMaxAttempts(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_ATTEMPTS_LIMIT) {
    throw new InputValidationError(
      field,
      `an integer from 0 (never retry) to ${MAX_ATTEMPTS_LIMIT}: the retries this rule allows, not counting the first call`,
      describeValue(value),
    );
  }
  return value;
}

function validateMaximumInterval(value: unknown, field: string, initialIntervalMs: number): number {
  const ms = Math.round(parseDuration(value, field, { maxMs: MAX_INTERVAL_MS }));
  if (ms < initialIntervalMs) {
    throw new InputValidationError(
      field,
      `${DURATION_FORM}, at least initialInterval (${formatMs(initialIntervalMs)})`,
      describeValue(value),
    );
  }
  return ms;
}

function validateCoefficient(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 1 || value > MAX_BACKOFF_COEFFICIENT) {
    throw new InputValidationError(
      field,
      `a number from 1 (constant delay) to ${MAX_BACKOFF_COEFFICIENT}`,
      describeValue(value),
    );
  }
  return value;
}

function suggestField(key: string): string {
  const lower = key.toLowerCase();
  const foreign = FOREIGN_FIELDS[lower];
  if (foreign !== undefined && Object.hasOwn(FOREIGN_FIELDS, lower)) return ` (did you mean ${foreign}?)`;
  let best: string | undefined;
  let bestDistance = 3; // a suggestion further than two edits away is more confusing than none
  for (const known of KNOWN_FIELDS) {
    const d = editDistance(lower, known.toLowerCase());
    if (d < bestDistance) {
      best = known;
      bestDistance = d;
    }
  }
  return best === undefined ? '' : ` (did you mean ${best}?)`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

function checkNameUnique(
  rule: RetryRule,
  index: number,
  source: string,
  earlier: readonly RetryRule[],
  labels: readonly string[],
): void {
  const other = earlier.findIndex((r) => r.name === rule.name);
  if (other < 0) return;
  throw new InputValidationError(
    `${source}[${index}].name`,
    `a name no other rule in the list has (${labels[other]} is already named ${JSON.stringify(rule.name)})`,
    rule.name === `${source}[${index}]`
      ? `nothing (default name ${JSON.stringify(rule.name)})`
      : describeValue(rule.name),
  );
}

// First match wins, so a matcher that an earlier one already covers can never decide anything:
// almost always a rule list written as if the most specific rule won (it does not).
function checkReachable(
  rule: RetryRule,
  label: string,
  earlier: readonly RetryRule[],
  labels: readonly string[],
): void {
  rule.errorEquals.forEach((m, j) => {
    const field = `${label}.errorEquals[${j}]`;
    for (const [k, prior] of earlier.entries()) {
      const cover = prior.errorEquals.find((p) => matcherCovers(p, m));
      if (cover === undefined) continue;
      const expected =
        cover === MATCH_ALL
          ? `no rule after the catch-all '*' of ${labels[k]}: it matches every error first, so this rule can never match (put '*' in the last rule)`
          : `a matcher no earlier rule already catches: ${labels[k]} matches everything ${JSON.stringify(m)} does via ${JSON.stringify(cover)}, and the first matching rule wins (put the more specific rule first)`;
      throw new InputValidationError(field, expected, JSON.stringify(m));
    }
    const same = rule.errorEquals.slice(0, j).findIndex((p) => matcherCovers(p, m));
    if (same >= 0) {
      throw new InputValidationError(
        field,
        `a matcher not already covered in this rule (errorEquals[${same}] ${JSON.stringify(rule.errorEquals[same])} matches it)`,
        JSON.stringify(m),
      );
    }
  });
}
