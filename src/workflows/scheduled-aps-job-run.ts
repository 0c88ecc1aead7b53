/**
 * scheduledApsJobRun: what a schedule's action starts. A Temporal Schedule names each workflow it
 * starts `<prefix>-<scheduled time>`, so it cannot start the job's run (`aps-job:<region>:<jobId>`)
 * itself, and its own overlap policy only sees the workflows it started. This wrapper starts the
 * job's run as a child under the job's own workflow ID, so that one rule holds for manual and
 * scheduled runs alike: one run per job, none beside the job's supervisor.
 */
import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  isCancellation,
  getExternalWorkflowHandle,
  log,
  ParentClosePolicy,
  proxyActivities,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError, type SearchAttributePair } from '@temporalio/common';
import type { Activities, OpenWorkflow } from '../activities';
import {
  ApsJobIdKey,
  ApsPhaseKey,
  ApsRegionKey,
  INPUT_HASH_MEMO_KEY,
  jobWorkflowId,
  SCHEDULE_OVERLAPS,
  ScheduledRunFailureTypes,
  supervisorWorkflowId,
  type ScheduledApsJobRunInput,
  type ScheduledApsJobRunResult,
  type ScheduleOverlap,
} from '../api';
import { invalidInputFailure } from '../failures';
import { normalizeRunInput, type NormalizedRunInput } from '../input';
import { InputValidationError, validateEnum } from '../validation';
import { runApsJob } from './run-aps-job';

// Looks at the server through the worker's client: short attempts, retried until they answer.
const { findOrchestrators, awaitWorkflowClosed } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

/**
 * Starts the job's run (runApsJob as a child, workflow ID `aps-job:<region>:<jobId>`) and returns
 * its result; when that run is already open, does what `overlap` says: `skip` returns at once,
 * `allow-all` waits for the open run and reports it as joined, `buffer-one` waits for it to close
 * and then starts the job's run, `cancel-other` cancels it, waits for it to close, then starts.
 * Fails with `OrchestratorConflict` while the job's supervisor is open, and never starts the job's
 * run beside another.
 */
export async function scheduledApsJobRun(input: ScheduledApsJobRunInput): Promise<ScheduledApsJobRunResult> {
  let cfg: NormalizedRunInput;
  let overlap: ScheduleOverlap;
  try {
    cfg = normalizeRunInput(input?.run);
    overlap = validateEnum(input.overlap ?? 'skip', 'overlap', SCHEDULE_OVERLAPS);
  } catch (err) {
    if (err instanceof InputValidationError) throw invalidInputFailure(err);
    throw err;
  }
  const ref = { regionId: cfg.regionId, apsJobId: cfg.apsJobId };
  const workflowId = jobWorkflowId(cfg.regionId, cfg.apsJobId);
  // An open run is looked at no more often than the job itself would be, and at least once a minute.
  const intervalMs = Math.min(Math.max(cfg.pollIntervalMs, 1000), 60_000);
  const waitedFor: NonNullable<ScheduledApsJobRunResult['waitedFor']> = [];
  const waitFor = async (open: OpenWorkflow, cancelled: boolean) => {
    const closed = await awaitWorkflowClosed({ ...open, intervalMs });
    waitedFor.push({ runId: closed.runId, status: closed.status, cancelled });
    return closed;
  };

  for (;;) {
    const open = await findOrchestrators(ref);
    if (open.supervisor) {
      throw ApplicationFailure.create({
        type: ScheduledRunFailureTypes.OrchestratorConflict,
        message:
          `not starting ${workflowId}: the job's supervisor ${supervisorWorkflowId(ref.regionId, ref.apsJobId)} ` +
          `is open (run ${open.supervisor.runId}) and would fight it over the job`,
        nonRetryable: true,
        details: [{ supervisor: open.supervisor }],
      });
    }
    if (open.run) {
      log.info('the job run is open', { runId: open.run.runId, overlap });
      switch (overlap) {
        case 'skip':
          return {
            action: 'skipped',
            workflowId,
            runId: open.run.runId,
            reason: 'the job run was open (overlap skip)',
          };
        case 'allow-all': {
          const closed = await awaitWorkflowClosed({ ...open.run, intervalMs });
          if (closed.status !== 'COMPLETED') {
            throw ApplicationFailure.create({
              type: ScheduledRunFailureTypes.JoinedRunNotCompleted,
              message: `the joined run ${workflowId} (run ${closed.runId}) ended ${closed.status}`,
              nonRetryable: true,
              details: [closed],
            });
          }
          return {
            action: 'joined',
            workflowId,
            runId: closed.runId,
            reason: 'the job run was open (overlap allow-all)',
            joinedStatus: closed.status,
          };
        }
        case 'cancel-other':
          await getExternalWorkflowHandle(workflowId, open.run.runId).cancel();
          await waitFor(open.run, true);
          continue;
        case 'buffer-one':
          await waitFor(open.run, false);
          continue;
      }
    }
    let child;
    try {
      child = await startChild(runApsJob, {
        workflowId,
        args: [input.run],
        // The job's run is the job's orchestrator of record, as a manual one is: it outlives a
        // wrapper that is terminated or deleted with its schedule. A cancel of the wrapper (an
        // overlap cancel-other) still reaches it, through the cancellation scope.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        ...(input.inputHash ? { memo: { [INPUT_HASH_MEMO_KEY]: input.inputHash } } : {}),
        ...childSearchAttributes(ref),
      });
    } catch (err) {
      // Started by someone else since the look: look again and apply the overlap policy to it.
      if (err instanceof WorkflowExecutionAlreadyStartedError) continue;
      throw err;
    }
    let result;
    try {
      result = await child.result();
    } catch (err) {
      // A cancel of this action (an overlap cancel-other) reached the run through the scope: the
      // action ends cancelled, not failed. The run's own failure is the action's.
      if (isCancellation(err) && CancellationScope.current().consideredCancelled) {
        throw err instanceof CancelledFailure
          ? err
          : new CancelledFailure('scheduledApsJobRun cancelled', [], err as Error);
      }
      throw err;
    }
    return {
      action: 'started',
      workflowId,
      runId: child.firstExecutionRunId,
      ...(waitedFor.length > 0 ? { waitedFor } : {}),
      result,
    };
  }
}

/** The job's search attributes for its run, when the wrapper was given them (the server has them). */
function childSearchAttributes(ref: { regionId: string; apsJobId: string }): {
  typedSearchAttributes?: SearchAttributePair[];
} {
  if (workflowInfo().typedSearchAttributes.get(ApsJobIdKey) === undefined) return {};
  return {
    typedSearchAttributes: [
      { key: ApsJobIdKey, value: ref.apsJobId },
      { key: ApsRegionKey, value: ref.regionId },
      { key: ApsPhaseKey, value: 'starting' },
    ],
  };
}
