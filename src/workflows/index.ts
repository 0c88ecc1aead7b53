/**
 * The workflows this package registers: the one `workflowsPath` target.
 */
export { runApsJob } from './run-aps-job';
export { superviseApsJob } from './supervise-aps-job';
export { reconcileApsFleet } from './reconcile-aps-fleet';
export { scheduledApsJobRun } from './scheduled-aps-job-run';
