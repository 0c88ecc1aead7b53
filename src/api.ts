/**
 * What the workflow, the worker, the client helpers and the CLI share: inputs, results, queries,
 * failure types and workflow IDs. Pure: safe to import in workflow code.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { RetryRuleInput } from './retry/types';

/** Default task queue. */
export const DEFAULT_TASK_QUEUE = 'aps-jobs';

/** The state a job must reach for the workflow to succeed. */
export type JobTarget = 'running' | 'completed';

/** What to do with the job when the workflow is cancelled or times out. */
export type OnStopAction = 'suspend' | 'leave';

/** A duration as a Temporal duration string (`'30s'`, `'5m'`) or milliseconds. */
export type DurationInput = string | number;

/** Input of {@link runApsJob}. */
export interface RunApsJobInput {
  /** Region, e.g. `cn-hangzhou`. */
  regionId: string;
  /** The APS job ID. */
  apsJobId: string;
  /** `running` (streaming jobs, default) or `completed` (batch jobs). */
  target?: JobTarget;
  /** How often to read the job status while waiting (default `30s`). */
  pollInterval?: DurationInput;
  /** Overall deadline from the workflow start (default `24h`). */
  timeout?: DurationInput;
  /** Suspend the job when the workflow is cancelled (default `leave`). */
  onCancel?: OnStopAction;
  /** Suspend the job when the deadline passes (default `leave`). */
  onTimeout?: OnStopAction;
  /** How long the job may read as stopped while waited on before that is final (default `1m`). */
  stoppedGrace?: DurationInput;
  /** Bound of one API attempt: the start-to-close timeout of each activity attempt (default `2m`). */
  activityTimeout?: DurationInput;
  /** Retry rules placed before the worker's rules and the defaults (first match wins). */
  retryRules?: RetryRuleInput[];
}

/** How a run ended. */
export type RunOutcome = 'reached-target';

/** Result of {@link runApsJob}. */
export interface RunApsJobResult {
  /** Region. */
  regionId: string;
  /** The job ID. */
  apsJobId: string;
  /** The raw status the job had when the target was reached. */
  status: string;
  /** The target reached: `running` or `completed`. */
  outcome: JobTarget;
  /** False when the job was already running and the workflow only attached to it. */
  started: boolean;
  /** Request ID of the StartApsJob call that took effect, when there was one. */
  startRequestId?: string;
  /** Status reads while waiting (including the ones that failed). */
  polls: number;
  /** When the start took effect (or the workflow attached), ISO-8601. */
  startedAt: string;
  /** When the target was observed, ISO-8601. */
  reachedAt: string;
}

/** Where a run is. */
export type RunPhase = 'validating' | 'starting' | 'waiting' | 'suspending' | 'done' | 'failed' | 'cancelled';

/** Answer of the `status` query. */
export interface RunApsJobStatus {
  /** The phase. */
  phase: RunPhase;
  /** Region. */
  regionId: string;
  /** The job ID. */
  apsJobId: string;
  /** Target state. */
  target: JobTarget;
  /** Attempts of the current activity so far (as last reported to the workflow). */
  attempts: number;
  /** Last error code seen by the workflow. */
  lastErrorCode?: string;
  /** Last raw job status seen by the workflow. */
  lastStatus?: string;
  /** Whether the start took effect (false while unknown or when reattached). */
  started?: boolean;
  /** Workflow start, ISO-8601. */
  workflowStartedAt: string;
  /** When the job was started or attached, ISO-8601. */
  startedAt?: string;
  /** When the target was reached, ISO-8601. */
  reachedAt?: string;
  /** The deadline, ISO-8601. */
  deadline: string;
}

/** The `status` query of runApsJob. */
export const statusQuery = defineQuery<RunApsJobStatus>('status');

/** Changes what a run does with the job when it is cancelled (`aps-jobs cancel --suspend`). */
export const setOnCancelSignal = defineSignal<[OnStopAction]>('setOnCancel');

/** Failure types a run can end with (besides API error codes such as `InvalidInput`). */
export const FailureTypes = {
  /** Bad workflow input; details name the field. */
  InvalidWorkflowInput: 'InvalidWorkflowInput',
  /** The job reported a failed status; details carry the raw status and ErrMessage. */
  ApsJobFailed: 'ApsJobFailed',
  /** The job was suspended by someone else while waited on (after a grace period). */
  ApsJobStopped: 'ApsJobStopped',
  /** The deadline passed before the target was reached. */
  ApsJobTimeout: 'ApsJobTimeout',
  /** Not a failure: the job is not at its target yet (BENIGN, retried at the poll interval). */
  ApsJobNotReady: 'ApsJobNotReady',
} as const;

/** Search attribute: the job ID. */
export const ApsJobIdKey = defineSearchAttributeKey('ApsJobId', SearchAttributeType.KEYWORD);
/** Search attribute: the region. */
export const ApsRegionKey = defineSearchAttributeKey('ApsRegion', SearchAttributeType.KEYWORD);
/** Search attribute: the phase. */
export const ApsPhaseKey = defineSearchAttributeKey('ApsPhase', SearchAttributeType.KEYWORD);
/** All search attributes the workflows use (register them on the server). */
export const SEARCH_ATTRIBUTES = [ApsJobIdKey, ApsRegionKey, ApsPhaseKey];

/** The deterministic workflow ID of a job: one job, one workflow. */
export function jobWorkflowId(regionId: string, apsJobId: string): string {
  return `aps-job:${regionId}:${apsJobId}`;
}
