/**
 * Human-readable forms of rule lists: one line per rule for logs and the CLI, and a markdown table
 * for the README, generated from the rules themselves so the documentation cannot drift from them.
 * Pure: safe to import in workflow code.
 */
import { formatMs } from '../validation';
import { DEFAULT_RETRY_RULES } from './defaults';
import type { RetryRule } from './types';

function delays(rule: RetryRule): string {
  if (rule.maxAttempts === 0) return '–';
  const first = formatMs(rule.initialIntervalMs);
  // With one retry, or nothing to grow into, growth settings never show: say what happens.
  if (rule.maxAttempts === 1) return first;
  if (rule.backoffCoefficient === 1 || rule.maximumIntervalMs <= rule.initialIntervalMs)
    return `${first}, constant`;
  return `${first} ×${rule.backoffCoefficient} up to ${formatMs(rule.maximumIntervalMs)}`;
}

/** One line describing a rule, e.g. `throttling: Throttling.*, @throttled → up to 10000 retries, 2s ×2 up to 2m, full jitter, within 30m`. */
export function describeRule(rule: RetryRule): string {
  const matches = rule.errorEquals.join(', ');
  if (rule.maxAttempts === 0) return `${rule.name}: ${matches} → never retried`;
  const parts = [
    `up to ${rule.maxAttempts} ${rule.maxAttempts === 1 ? 'retry' : 'retries'}`,
    delays(rule),
    rule.jitter === 'full' ? 'full jitter' : 'no jitter',
  ];
  if (rule.maxElapsedMs !== undefined)
    parts.push(`within ${formatMs(rule.maxElapsedMs)} of the first failure`);
  return `${rule.name}: ${matches} → ${parts.join(', ')}`;
}

/** One line per rule, in matching order. */
export function describeRules(rules: readonly RetryRule[]): string[] {
  return rules.map(describeRule);
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** A markdown table of a rule list, in matching order (first match wins). */
export function rulesMarkdownTable(rules: readonly RetryRule[]): string {
  const lines = [
    '| # | rule | matches | retries | delay | jitter | time budget | why |',
    '|---|---|---|---|---|---|---|---|',
  ];
  rules.forEach((rule, i) => {
    lines.push(
      `| ${[
        String(i + 1),
        `\`${rule.name}\``,
        rule.errorEquals.map((m) => `\`${m}\``).join(', '),
        rule.maxAttempts === 0 ? '0 (never)' : String(rule.maxAttempts),
        delays(rule),
        rule.maxAttempts === 0 ? '–' : rule.jitter,
        rule.maxElapsedMs === undefined ? '–' : formatMs(rule.maxElapsedMs),
        rule.description ?? '',
      ]
        .map(cell)
        .join(' | ')} |`,
    );
  });
  return lines.join('\n');
}

/** The markdown table of {@link DEFAULT_RETRY_RULES}, for the README. */
export function defaultRulesMarkdownTable(): string {
  return rulesMarkdownTable(DEFAULT_RETRY_RULES);
}
