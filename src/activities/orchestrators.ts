/**
 * Activities that look at a job's orchestrators (its run and its supervisor) on the Temporal server,
 * through the worker's own client. They make no APS call: a scheduled action uses them to keep to
 * the one-run-per-job rule that the client helpers keep for manual starts.
 */
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import { jobWorkflowId, supervisorWorkflowId } from '../api';
import { openRunId } from '../client';

/** A workflow that is open now. */
export interface OpenWorkflow {
  /** Workflow ID. */
  workflowId: string;
  /** Run ID of the open run. */
  runId: string;
}

/** What {@link createOrchestratorActivities}' `findOrchestrators` answers. */
export interface JobOrchestrators {
  /** The job's run (`aps-job:<region>:<jobId>`), when open. */
  run?: OpenWorkflow;
  /** The job's supervisor (`aps-supervisor:<region>:<jobId>`), when open. */
  supervisor?: OpenWorkflow;
}

/** How a workflow that was waited on closed. */
export interface ClosedWorkflow extends OpenWorkflow {
  /** Temporal's execution status: COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT, … */
  status: string;
}

/** Failure type of a wait for a workflow to close that is still open (BENIGN, retried). */
export const WORKFLOW_STILL_OPEN = 'WorkflowStillOpen';

/** Creates the orchestrator activities (they need a worker's client, `Context.current().client`). */
export function createOrchestratorActivities() {
  const openRun = async (workflowId: string): Promise<OpenWorkflow | undefined> => {
    const runId = await openRunId(Context.current().client, workflowId);
    return runId !== undefined ? { workflowId, runId } : undefined;
  };
  return {
    /** Which of the job's orchestrators are open now. */
    async findOrchestrators(input: { regionId: string; apsJobId: string }): Promise<JobOrchestrators> {
      const [run, supervisor] = await Promise.all([
        openRun(jobWorkflowId(input.regionId, input.apsJobId)),
        openRun(supervisorWorkflowId(input.regionId, input.apsJobId)),
      ]);
      return { ...(run ? { run } : {}), ...(supervisor ? { supervisor } : {}) };
    },

    /**
     * Answers once the given run has closed. While it is open the attempt fails BENIGN with
     * `nextRetryDelay` = `intervalMs`: the server retries it, and no slot is held between reads.
     */
    async awaitWorkflowClosed(input: OpenWorkflow & { intervalMs: number }): Promise<ClosedWorkflow> {
      let status: string;
      try {
        const desc = await Context.current()
          .client.workflow.getHandle(input.workflowId, input.runId)
          .describe();
        status = desc.status.name;
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
        // Gone from the server (retention passed): it has closed, how is no longer known.
        status = 'UNKNOWN';
      }
      if (status === 'RUNNING') {
        throw ApplicationFailure.create({
          type: WORKFLOW_STILL_OPEN,
          message: `${input.workflowId} (run ${input.runId}) is still open`,
          nonRetryable: false,
          nextRetryDelay: input.intervalMs,
          category: ApplicationFailureCategory.BENIGN,
        });
      }
      return { workflowId: input.workflowId, runId: input.runId, status };
    },
  };
}
