/**
 * `adb-aps-temporal/client`: start, follow, cancel and supervise jobs from any Node process. Loads
 * no worker code (`@temporalio/worker`, its native core); `test/exports.test.ts` holds it to that.
 */
export * from '../api';
export {
  connectClient,
  startJobRun,
  jobRunHandle,
  describeJobRun,
  cancelJobRun,
  setJobRunPollInterval,
  setJobRunDeadline,
  extendJobRunDeadline,
  setJobRunOnCancel,
  NoOpenRunError,
  startSupervisor,
  supervisorHandle,
  supervisorStatus,
  pauseSupervisor,
  resumeSupervisor,
  setSupervisorCheckInterval,
  cancelSupervisor,
  hasWorkflowPoller,
  noWorkerMessage,
  STATUS_QUERY_WAIT_MS,
  ConflictingRunError,
  OrchestratorConflictError,
  WorkflowNotFoundError,
  INPUT_HASH_MEMO_KEY,
  type ConnectOverrides,
  type StartJobRunOptions,
  type StartedJobRun,
  type StartedSupervisor,
  type JobRunView,
} from '../client';
export * from '../schedules';
export { followJobRun, type FollowOutcome } from '../follow';
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
} from '../fleet';
export { upsertFleetSchedule, fleetScheduleStatus, type FleetStatusView } from '../fleet-schedule';
export {
  apsJobFailureOf,
  failureReasonsOf,
  type FailureReasons,
  type JobFailedDetails,
  type SuspendError,
} from '../failures';
export { normalizeRunInput, RUN_DEFAULTS, type NormalizedRunInput } from '../input';
export { InputValidationError } from '../validation';
export type { ActionLogLine } from '../aps/types';
export type { RetryRule, RetryRuleInput } from '../retry/types';
