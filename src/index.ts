/**
 * The package's public API: workflows' shared types, the client helpers, the activities and the
 * APS client for custom workers, the retry rules and the emulator.
 */
export * from './api';
export { normalizeRunInput, RUN_DEFAULTS, type NormalizedRunInput } from './input';
export type { SuspendError } from './failures';
export { InputValidationError } from './validation';
export {
  connectClient,
  startJobRun,
  jobRunHandle,
  describeJobRun,
  cancelJobRun,
  startSupervisor,
  ConflictingRunError,
  OrchestratorConflictError,
  INPUT_HASH_MEMO_KEY,
  type ConnectOverrides,
  type StartJobRunOptions,
  type StartedJobRun,
  type JobRunView,
} from './client';
export * from './schedules';
export { followJobRun, type FollowOutcome } from './follow';
export { createActivities, type Activities, type ActivityDeps, type ActivityObservers } from './activities';
export { createApsWorker, runWorkerFromEnv, type ApsWorkerOptions } from './run-worker';
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
