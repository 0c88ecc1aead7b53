/**
 * `adb-aps-temporal/worker`: run the package's workflows and activities in a worker of your own,
 * or a worker of the package's (`createApsWorker`, usually on its own `aps-jobs` task queue).
 */
export {
  apsApiFromEnv,
  createApsWorker,
  createInProcessWaiter,
  runWorkerFromEnv,
  installRuntime,
  type ApsWorkerOptions,
} from '../run-worker';
export { createActivities, type Activities, type ActivityDeps, type ActivityObservers } from '../activities';
export { createApsApi, checkCredentials, type ApsClientOptions, type ApsCallEvent } from '../aps/client';
export type { ApsApi } from '../aps/types';
export type { CredentialsConfig } from '../config';
export { validateRetryRules, type RetryRule, type RetryRuleInput } from '../retry';
export { createMetricObservers, recordApiCall } from '../metrics';
export { DEFAULT_TASK_QUEUE } from '../api';
export { ConfigError } from '../config';

/**
 * The module that holds the package's workflows (`runApsJob`, `superviseApsJob`): give it to
 * `Worker.create({ workflowsPath })` or `bundleWorkflowCode` for a worker that runs only them. A
 * worker that runs workflows of yours too re-exports them from its own workflows file instead.
 */
export const workflowsPath: string = require.resolve('../workflows');
