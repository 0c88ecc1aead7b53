/**
 * The ceiling: a workflow that starts and completes with no activity, timer or payload.
 */

/** Completes at once: what is measured is the server's and the worker's cost per workflow. */
export function emptyWorkflow(): Promise<void> {
  return Promise.resolve();
}
