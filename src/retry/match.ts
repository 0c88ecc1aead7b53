/**
 * What an `errorEquals` entry means and whether it matches an error. Pure: safe to import in
 * workflow code.
 *
 * Matchers, all case-sensitive (service codes are compared exactly as the service spells them):
 * - `Throttling.User`: exactly that code.
 * - `Throttling.*`: the code `Throttling` itself and every code starting `Throttling.`; not
 *   `ThrottlingX`. The bare stem is included because services send both `Throttling` and
 *   `Throttling.User` for the same condition, and a rule for "the Throttling family" should not
 *   need two entries.
 * - `@throttled`, `@transient`, `@permanent`, `@unknown`: the error's retry class, as the
 *   classifier in `aps/errors.ts` assigned it.
 * - `*`: every error. It must stand alone in its rule, and that rule must be the last of its list.
 */
import type { RetryClass } from '../aps/types';
import type { RetryableError, RetryRule } from './types';

/** The retry classes a `@class` matcher may name. */
export const RETRY_CLASSES: readonly RetryClass[] = ['throttled', 'transient', 'permanent', 'unknown'];

/** The matcher that matches every error. */
export const MATCH_ALL = '*';

/** Expected form of one matcher, for validation messages. */
export const MATCHER_FORM =
  "an error code ('Throttling.User'), a prefix wildcard ('Throttling.*', matching Throttling and Throttling.<anything>), " +
  `a retry class (${RETRY_CLASSES.map((c) => `'@${c}'`).join(', ')}) or '*' alone`;

/** A parsed matcher. */
export type Matcher =
  | { kind: 'all' }
  | { kind: 'class'; retryClass: RetryClass }
  | { kind: 'prefix'; stem: string }
  | { kind: 'exact'; code: string };

// A code: no whitespace, no control characters, no `*`; not starting with `@` (reserved for
// classes) or `.`, and not ending with `.` (so that the stem of `X.*` is a plain code).
const CODE_RE = /^[^\s*@.\p{C}]([^\s*\p{C}]*[^\s*.\p{C}])?$/u;
const MAX_MATCHER_LENGTH = 200;

/** Parses a matcher; undefined when it is not one of the forms in {@link MATCHER_FORM}. */
export function parseMatcher(text: string): Matcher | undefined {
  if (text.length === 0 || text.length > MAX_MATCHER_LENGTH) return undefined;
  if (text === MATCH_ALL) return { kind: 'all' };
  if (text.startsWith('@')) {
    const retryClass = RETRY_CLASSES.find((c) => `@${c}` === text);
    return retryClass ? { kind: 'class', retryClass } : undefined;
  }
  if (text.endsWith('.*')) {
    const stem = text.slice(0, -2);
    return CODE_RE.test(stem) ? { kind: 'prefix', stem } : undefined;
  }
  return CODE_RE.test(text) ? { kind: 'exact', code: text } : undefined;
}

function stemCovers(stem: string, code: string): boolean {
  return code === stem || code.startsWith(`${stem}.`);
}

/** Whether one matcher matches an error. A malformed matcher matches nothing. */
export function matcherMatches(matcher: string, error: RetryableError): boolean {
  const m = parseMatcher(matcher);
  if (!m) return false;
  switch (m.kind) {
    case 'all':
      return true;
    case 'class':
      return error.retryClass === m.retryClass;
    case 'prefix':
      return stemCovers(m.stem, error.code);
    case 'exact':
      return error.code === m.code;
  }
}

/** Whether a rule matches an error (any of its matchers does). */
export function ruleMatches(rule: RetryRule, error: RetryableError): boolean {
  return rule.errorEquals.some((m) => matcherMatches(m, error));
}

/** The first rule that matches the error (first match wins), if any. */
export function findRule<R extends RetryRule>(rules: readonly R[], error: RetryableError): R | undefined {
  return rules.find((rule) => ruleMatches(rule, error));
}

/**
 * Whether every error that `later` matches is already matched by `earlier`, judged on the matcher
 * text alone. Class matchers are only compared with themselves: which codes a class holds is the
 * classifier's business, not something a rule list can see.
 */
export function matcherCovers(earlier: string, later: string): boolean {
  if (earlier === MATCH_ALL || earlier === later) return true;
  const a = parseMatcher(earlier);
  const b = parseMatcher(later);
  if (a?.kind !== 'prefix') return false;
  if (b?.kind === 'exact') return stemCovers(a.stem, b.code);
  if (b?.kind === 'prefix') return stemCovers(a.stem, b.stem);
  return false;
}
