/**
 * Custom metrics, recorded through the activity metric meter so that they share the Runtime's
 * Prometheus endpoint (and the activity's namespace/task-queue tags) with Temporal's own metrics.
 *
 * Every label has a bounded set of values, since each new value is a new time series kept for
 * the life of the process: `code` comes from the server and `rule` from workflow input, so a value
 * outside the known names is recorded as `other` (codes) or `custom` (rules).
 */
import { Context } from '@temporalio/activity';
import type { MetricMeter } from '@temporalio/common';
import type { ActivityObservers } from './activities';
import type { ApsClientOptions } from './aps/client';
import { knownErrorCode } from './aps/errors';
import { BUILT_IN_RULE_NAMES } from './retry/defaults';
import type { RuleSource } from './retry/resolve';

/** Names of the custom metrics (Prometheus adds `_total` to counters). */
export const METRIC_NAMES = {
  apiCalls: 'aps_api_calls',
  apiCallLatency: 'aps_api_call_latency',
  throttles: 'aps_api_throttles',
  retries: 'aps_retry_decisions',
  startToTarget: 'aps_job_start_to_target',
  unknownStatus: 'aps_unknown_status',
} as const;

/** The `code` label of a call that succeeded. */
export const OK_CODE = 'OK';
/** The `code` label of an error code not known by name (`KNOWN_ERROR_CODES` in aps/errors.ts). */
export const OTHER_CODE = 'other';
/** The `rule` label of a decision no rule made. */
export const NO_RULE = 'none';
/** The `rule` label of a rule whose name is neither built in nor a worker-wide rule's. */
export const CUSTOM_RULE = 'custom';

/** The `code` label of an API call or a retry decision: `OK`, a known code, or `other`. */
export function codeLabel(code: string): string {
  if (code === OK_CODE) return OK_CODE;
  return knownErrorCode(code) ?? OTHER_CODE;
}

/**
 * The `rule` labeller of one worker: the built-in rule names and the worker-wide rules' names
 * (known at start) pass, with the `worker:` / `default:` prefix that `resolveRules` gives a name
 * an earlier list already took; any other name (a workflow's own rules) is `custom`. A workflow
 * rule that reuses a known name is counted under that name: the set stays bounded either way.
 */
export function ruleLabeler(workerRuleNames: readonly string[] = []): (rule: string | undefined) => string {
  const prefixed = (source: RuleSource, names: readonly string[]): string[] =>
    names.map((n) => `${source}:${n}`);
  const known = new Set([
    ...BUILT_IN_RULE_NAMES,
    ...prefixed('default', BUILT_IN_RULE_NAMES),
    ...workerRuleNames,
    ...prefixed('worker', workerRuleNames),
  ]);
  return (rule) => (rule === undefined ? NO_RULE : known.has(rule) ? rule : CUSTOM_RULE);
}

/** The activity's meter when called inside an activity, else none (e.g. a CLI call). */
function meter(): MetricMeter | undefined {
  try {
    return Context.current().metricMeter;
  } catch {
    return undefined;
  }
}

/** Records one API call by action and code (`OK` on success); throttles are also counted apart. */
export const recordApiCall: NonNullable<ApsClientOptions['onCall']> = (e) => {
  const m = meter();
  if (!m) return;
  const code = codeLabel(e.code);
  m.createCounter(METRIC_NAMES.apiCalls, 'calls', 'APS API calls by action and code').add(1, {
    action: e.action,
    code,
  });
  m.createHistogram(METRIC_NAMES.apiCallLatency, 'int', 'ms', 'APS API call latency').record(
    Math.max(0, Math.round(e.durationMs)),
    { action: e.action },
  );
  // As the classifier reads codes: without regard to case (the documented spellings vary).
  if (/^throttling(\.|$)/i.test(e.code)) {
    m.createCounter(METRIC_NAMES.throttles, 'calls', 'APS API calls answered with Throttling.*').add(1, {
      action: e.action,
      code,
    });
  }
};

/** Options of {@link createMetricObservers}. */
export interface MetricObserverOptions {
  /** Names of the worker-wide retry rules: recorded as themselves in the `rule` label. */
  workerRuleNames?: readonly string[];
}

/** Activity observers that record retries by rule and the time from start to target. */
export function createMetricObservers(options: MetricObserverOptions = {}): ActivityObservers {
  const ruleLabel = ruleLabeler(options.workerRuleNames);
  return {
    onRetryDecision(e) {
      meter()
        ?.createCounter(METRIC_NAMES.retries, 'decisions', 'Retry-rule decisions by rule, code and verdict')
        .add(1, {
          action: e.action,
          code: codeLabel(e.code),
          rule: ruleLabel(e.rule),
          retry: e.retry ? 'yes' : 'no',
        });
    },
    onUnknownStatus(e) {
      meter()
        ?.createCounter(
          METRIC_NAMES.unknownStatus,
          'runs',
          'Runs that read a job status outside the known table',
        )
        .add(1, { status: e.status });
    },
    onTargetReached(e) {
      meter()
        ?.createHistogram(
          METRIC_NAMES.startToTarget,
          'int',
          'ms',
          'Time from the job start to its target state',
        )
        .record(Math.max(0, Math.round(e.sinceStartMs)), { target: e.target });
    },
  };
}
