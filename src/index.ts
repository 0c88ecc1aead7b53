/**
 * The package's public API: workflows' shared types, the client helpers, the activities and the
 * APS client for custom workers, the fleet view and the reconciler's schedule, the retry rules and
 * the emulator. It loads the worker too; the subpaths (`adb-aps-temporal/client`, `/workflows`,
 * `/activities`, `/worker`, `/emulator`) load only their part.
 */
// Everything of the client entry (shared types, run, supervisor and fleet helpers), then the rest.
export * from './exports/client';
export { normalizeReconcileInput, FLEET_DEFAULTS, type NormalizedReconcileInput } from './input';
export { createActivities, type Activities, type ActivityDeps, type ActivityObservers } from './activities';
export {
  apsApiFromEnv,
  createApsWorker,
  createInProcessWaiter,
  runWorkerFromEnv,
  type ApsWorkerOptions,
} from './run-worker';
export { workflowsPath } from './exports/worker';
export * from './aps';
export {
  DEFAULT_RETRY_RULES,
  DEFAULT_WAIT_OUTAGE,
  waitDefaultRules,
  validateRetryRules,
  resolveRules,
  decideRetry,
  type RetryRule,
  type RetryRuleInput,
} from './retry';
export { SETTINGS, ConfigError, workerConfigFrom } from './config';
export { startEmulator, generateAccessKey, type RunningEmulator } from './emulator';
export type { EmulatorOptions, JobScript, FaultSpec } from './emulator/types';
