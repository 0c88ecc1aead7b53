/**
 * `adb-aps-temporal/workflows`: what a workflow of your own needs to run the package's workflows as
 * children (`executeChild(runApsJob, …)`, `startChild(superviseApsJob, …)`), or to register them in
 * your own workflows file (`export { runApsJob, superviseApsJob } from 'adb-aps-temporal/workflows'`).
 * Workflow-safe: no Node built-ins, no worker, client or cloud SDK code is loaded from here.
 */
export { runApsJob } from '../workflows/run-aps-job';
export { superviseApsJob } from '../workflows/supervise-aps-job';
export { reconcileApsFleet } from '../workflows/reconcile-aps-fleet';
export { scheduledApsJobRun } from '../workflows/scheduled-aps-job-run';
export * from '../api';
export { apsJobFailureOf, type FailureReasons, type JobFailedDetails, type SuspendError } from '../failures';
export type { ActionLogLine } from '../aps/types';
export type { RetryRule, RetryRuleInput } from '../retry/types';
