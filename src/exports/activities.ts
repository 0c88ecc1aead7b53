/**
 * `adb-aps-temporal/activities`: the package's activities for a worker of your own, and the APS
 * client they call. Loads no `@temporalio/worker`: the in-process waiter that needs a worker
 * connection is in `adb-aps-temporal/worker`.
 */
export {
  createActivities,
  type Activities,
  type ActivityDeps,
  type ActivityObservers,
  type StartApsJobInput,
  type StartApsJobResult,
  type WaitForApsJobInput,
  type WaitForApsJobResult,
  type SuspendApsJobInput,
  type CheckApsJobInput,
  type CheckApsJobResult,
} from '../activities';
export * from '../aps';
export {
  DEFAULT_RETRY_RULES,
  DEFAULT_WAIT_OUTAGE,
  validateRetryRules,
  type RetryRule,
  type RetryRuleInput,
} from '../retry';
export { createMetricObservers, type MetricObserverOptions } from '../metrics';
