/**
 * The package's public API: workflows' shared types, the client helpers, the activities and the
 * APS client for custom workers, the fleet view and the reconciler's schedule, the retry rules and
 * the emulator. It loads the worker too; the subpaths (`adb-aps-temporal/client`, `/workflows`,
 * `/activities`, `/worker`, `/emulator`) load only their part.
 */
export * from './api';
export { normalizeRunInput, RUN_DEFAULTS, type NormalizedRunInput } from './input';
export {
  apsJobFailureOf,
  failureReasonsOf,
  type FailureReasons,
  type JobFailedDetails,
  type SuspendError,
} from './failures';
export { InputValidationError } from './validation';
export {
  connectClient,
  startJobRun,
  jobRunHandle,
  describeJobRun,
  hasWorkflowPoller,
  noWorkerMessage,
  cancelJobRun,
  startSupervisor,
  supervisorHandle,
  supervisorStatus,
  pauseSupervisor,
  resumeSupervisor,
  setSupervisorCheckInterval,
  cancelSupervisor,
  ConflictingRunError,
  WorkflowNotFoundError,
  OrchestratorConflictError,
  INPUT_HASH_MEMO_KEY,
  type ConnectOverrides,
  type StartJobRunOptions,
  type StartedJobRun,
  type StartedSupervisor,
  type JobRunView,
} from './client';
export { followJobRun, type FollowOutcome } from './follow';
export {
  listFleet,
  listAllJobs,
  orchestrationsIn,
  FLEET_PAGE_SIZE,
  type FleetEntry,
  type FleetJob,
  type FleetView,
  type JobOrchestration,
  type OrchestrationKind,
} from './fleet';
export { upsertFleetSchedule, fleetScheduleStatus, type FleetStatusView } from './fleet-schedule';
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
