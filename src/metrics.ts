/**
 * Custom metrics, recorded through the activity metric meter so that they share the Runtime's
 * Prometheus endpoint (and the activity's namespace/task-queue tags) with Temporal's own metrics.
 */
import { Context } from '@temporalio/activity';
import type { MetricMeter } from '@temporalio/common';
import type { ActivityObservers } from './activities';
import type { ApsClientOptions } from './aps/client';

/** Names of the custom metrics (Prometheus adds `_total` to counters). */
export const METRIC_NAMES = {
  apiCalls: 'aps_api_calls',
  apiCallLatency: 'aps_api_call_latency',
  throttles: 'aps_api_throttles',
  retries: 'aps_retry_decisions',
  startToTarget: 'aps_job_start_to_target',
  unknownStatus: 'aps_unknown_status',
} as const;

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
  m.createCounter(METRIC_NAMES.apiCalls, 'calls', 'APS API calls by action and code').add(1, {
    action: e.action,
    code: e.code,
  });
  m.createHistogram(METRIC_NAMES.apiCallLatency, 'int', 'ms', 'APS API call latency').record(
    Math.max(0, Math.round(e.durationMs)),
    { action: e.action },
  );
  if (e.code.startsWith('Throttling')) {
    m.createCounter(METRIC_NAMES.throttles, 'calls', 'APS API calls answered with Throttling.*').add(1, {
      action: e.action,
      code: e.code,
    });
  }
};

/** Activity observers that record retries by rule and the time from start to target. */
export function createMetricObservers(): ActivityObservers {
  return {
    onRetryDecision(e) {
      meter()
        ?.createCounter(METRIC_NAMES.retries, 'decisions', 'Retry-rule decisions by rule, code and verdict')
        .add(1, { action: e.action, code: e.code, rule: e.rule ?? 'none', retry: e.retry ? 'yes' : 'no' });
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
