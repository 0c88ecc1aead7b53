/**
 * The pipeline's workflows file: the pipeline, and the package's workflows re-exported so that
 * this project's worker runs them too (children on the pipeline's own task queue). Workflow code:
 * types only from activities, nothing from Node.
 */
import {
  executeChild,
  log,
  ParentClosePolicy,
  proxyActivities,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  apsJobFailureOf,
  jobWorkflowId,
  runApsJob,
  superviseApsJob,
  supervisorWorkflowId,
  type DurationInput,
} from 'adb-aps-temporal/workflows';
import type { createPipelineActivities, LoadedJob, FailedJob } from './activities';

export { runApsJob, superviseApsJob };

/** Input of {@link etlPipeline}. */
export interface EtlPipelineInput {
  /** Region of every job, e.g. `cn-hangzhou`. */
  regionId: string;
  /** Streaming ingestion jobs (Kafka, SLS) that must stay up: each gets a supervisor. */
  streamingJobIds: string[];
  /** Batch jobs (e.g. Hive migrations) run to `completed`, one after the other. */
  batchJobIds: string[];
  /**
   * Task queue of the APS workflows: unset, this worker's own queue (it registers them); or the
   * queue of a separate APS worker, e.g. `aps-jobs` (`aps-jobs worker`).
   */
  apsTaskQueue?: string;
  /** How often a job is read while it starts or runs to its end (default `30s`). */
  pollInterval?: DurationInput;
  /** How often the supervisors check the streaming jobs (default `5m`). */
  checkInterval?: DurationInput;
}

/** A streaming job's supervisor. */
export interface SupervisedJob {
  /** The job. */
  apsJobId: string;
  /** The supervisor's workflow ID (`aps-supervisor:<region>:<job>`). */
  workflowId: string;
  /** True when a supervisor was already open for the job (started by an earlier run, or the CLI). */
  alreadySupervised: boolean;
}

/** Result of {@link etlPipeline}. */
export interface EtlPipelineResult {
  /** The streaming jobs, each with its supervisor. */
  supervised: SupervisedJob[];
  /** The batch jobs that completed. */
  loaded: LoadedJob[];
  /** The batch jobs that failed, with the reasons the failure carried. */
  failed: FailedJob[];
  /** Where the downstream step wrote its report. */
  reportPath: string;
}

const { publishLoadReport } = proxyActivities<ReturnType<typeof createPipelineActivities>>({
  startToCloseTimeout: '1m',
  retry: { maximumAttempts: 5 },
});

/**
 * Makes sure the streaming jobs are supervised, loads the batch jobs, and hands what happened to
 * the downstream step. A batch job that fails does not fail the pipeline: its reasons (ERROR lines,
 * console link) go to the report. Any other failure (bad input, permissions) does.
 */
export async function etlPipeline(input: EtlPipelineInput): Promise<EtlPipelineResult> {
  const taskQueue = input.apsTaskQueue ?? workflowInfo().taskQueue;

  const supervised: SupervisedJob[] = [];
  for (const apsJobId of input.streamingJobIds) {
    const workflowId = supervisorWorkflowId(input.regionId, apsJobId);
    try {
      // ABANDON: the supervisor keeps the job up after this pipeline run has ended.
      await startChild(superviseApsJob, {
        workflowId,
        taskQueue,
        parentClosePolicy: ParentClosePolicy.ABANDON,
        args: [
          {
            regionId: input.regionId,
            apsJobId,
            checkInterval: input.checkInterval,
            pollInterval: input.pollInterval,
          },
        ],
      });
      supervised.push({ apsJobId, workflowId, alreadySupervised: false });
    } catch (err) {
      // One supervisor per job: an open one is what this step wants.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      supervised.push({ apsJobId, workflowId, alreadySupervised: true });
    }
  }

  const loaded: LoadedJob[] = [];
  const failed: FailedJob[] = [];
  for (const apsJobId of input.batchJobIds) {
    try {
      const r = await executeChild(runApsJob, {
        workflowId: jobWorkflowId(input.regionId, apsJobId),
        taskQueue,
        args: [{ regionId: input.regionId, apsJobId, target: 'completed', pollInterval: input.pollInterval }],
      });
      loaded.push({ apsJobId, status: r.status, polls: r.polls, reachedAt: r.reachedAt });
    } catch (err) {
      const failure = apsJobFailureOf(err);
      if (!failure) throw err;
      const reasons = (failure.actionLogs ?? []).map((l) => `${l.time} ${l.stage ?? ''} ${l.context}`.trim());
      log.warn('batch job failed', {
        apsJobId,
        status: failure.status,
        errMessage: failure.errMessage,
        reasons,
        consoleUrl: failure.consoleUrl,
      });
      failed.push({
        apsJobId,
        status: failure.status,
        ...(failure.errMessage !== undefined ? { errMessage: failure.errMessage } : {}),
        reasons,
        ...(failure.consoleUrl !== undefined ? { consoleUrl: failure.consoleUrl } : {}),
      });
    }
  }

  const { path } = await publishLoadReport({ pipelineRunId: workflowInfo().workflowId, loaded, failed });
  return { supervised, loaded, failed, reportPath: path };
}
