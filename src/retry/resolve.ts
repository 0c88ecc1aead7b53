/**
 * The effective rule list of one activity: the workflow's rules, then the worker's, then the
 * built-in defaults. First match wins, so a user overrides a default by writing a rule that matches
 * the same errors. Pure: safe to import in workflow code.
 */
import { DEFAULT_RETRY_RULES } from './defaults';
import type { RetryRule } from './types';

/** Where a rule of the effective list came from; also the prefix that makes a clashing name unique. */
export type RuleSource = 'workflow' | 'worker' | 'default';

/** Input of {@link resolveRules}. */
export interface ResolveRulesInput {
  /** Rules from the workflow input (validated), tried first. */
  workflowRules?: readonly RetryRule[];
  /** Worker-wide rules (validated), tried next. */
  workerRules?: readonly RetryRule[];
  /** The built-in rules, tried last (default {@link DEFAULT_RETRY_RULES}; tests may replace them). */
  defaults?: readonly RetryRule[];
}

/**
 * Concatenates workflow, worker and default rules (in that order) into fresh copies with unique
 * names. A name already taken by an earlier rule gets its source as a prefix (`worker:slow`,
 * `default:throttling`), then `#2`, `#3`… if still taken. Earlier lists keep their names, so the
 * counter keys of the workflow's own rules never depend on what the worker or the defaults contain.
 */
export function resolveRules(input: ResolveRulesInput = {}): RetryRule[] {
  const lists: [RuleSource, readonly RetryRule[]][] = [
    ['workflow', input.workflowRules ?? []],
    ['worker', input.workerRules ?? []],
    ['default', input.defaults ?? DEFAULT_RETRY_RULES],
  ];
  const taken = new Set<string>();
  const out: RetryRule[] = [];
  for (const [source, rules] of lists) {
    for (const rule of rules) {
      let name = rule.name;
      if (taken.has(name)) {
        name = `${source}:${rule.name}`;
        for (let n = 2; taken.has(name); n++) name = `${source}:${rule.name}#${n}`;
      }
      taken.add(name);
      out.push({ ...rule, name, errorEquals: [...rule.errorEquals] });
    }
  }
  return out;
}
