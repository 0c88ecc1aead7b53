/**
 * Typed helpers to start, follow and cancel a job's workflow. One job, one workflow: the ID is
 * derived from the region and job ID, and a second caller joins the running workflow.
 */
import {
  Client,
  Connection,
  WorkflowNotFoundError,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import {
  ApsJobIdKey,
  ApsPhaseKey,
  ApsRegionKey,
  jobWorkflowId,
  setOnCancelSignal,
  statusQuery,
  type OnStopAction,
  type RunApsJobInput,
  type RunApsJobStatus,
} from './api';
import { normalizeRunInput } from './input';
import { validateApsJobId, validateRegionId } from './validation';
import { runApsJob } from './workflows/run-aps-job';

/** Overrides of the envconfig settings (CLI flags beat environment variables). */
export interface ConnectOverrides {
  /** Temporal frontend host:port. */
  address?: string;
  /** Namespace. */
  namespace?: string;
}

/**
 * Connects to Temporal with the envconfig settings (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TLS,
 * API key, profile file), with `overrides` on top.
 */
export async function connectClient(overrides: ConnectOverrides = {}): Promise<Client> {
  const config = loadClientConnectConfig();
  const connection = await Connection.connect({
    ...config.connectionOptions,
    ...(overrides.address ? { address: overrides.address } : {}),
    connectTimeout: '10s',
  });
  return new Client({ connection, namespace: overrides.namespace ?? config.namespace ?? 'default' });
}

/** Options of {@link startJobRun}. */
export interface StartJobRunOptions {
  /** Task queue of the workers. */
  taskQueue: string;
  /** Set the ApsJobId/ApsRegion/ApsPhase search attributes (default: when the server has them). */
  searchAttributes?: boolean;
}

/** A started (or joined) run. */
export interface StartedJobRun {
  /** Handle of the workflow. */
  handle: WorkflowHandleWithFirstExecutionRunId<typeof runApsJob>;
  /** The workflow ID (`aps-job:<region>:<jobId>`). */
  workflowId: string;
  /** Whether the search attributes were set. */
  searchAttributes: boolean;
}

function isUnregisteredSearchAttribute(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : String(err);
  return /search attribute/i.test(msg) && /(not defined|unknown|not registered|invalid)/i.test(msg);
}

/**
 * Validates the input, then starts the job's workflow or joins the one already running for
 * that job (`WorkflowIdConflictPolicy.USE_EXISTING`). Throws InputValidationError before any call.
 */
export async function startJobRun(
  client: Client,
  input: RunApsJobInput,
  opts: StartJobRunOptions,
): Promise<StartedJobRun> {
  const cfg = normalizeRunInput(input);
  const workflowId = jobWorkflowId(cfg.regionId, cfg.apsJobId);
  const start = (withAttributes: boolean) =>
    client.workflow.start(runApsJob, {
      taskQueue: opts.taskQueue,
      workflowId,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: withAttributes
        ? [
            { key: ApsJobIdKey, value: cfg.apsJobId },
            { key: ApsRegionKey, value: cfg.regionId },
            { key: ApsPhaseKey, value: 'starting' },
          ]
        : undefined,
    });
  const wanted = opts.searchAttributes ?? true;
  try {
    return { handle: await start(wanted), workflowId, searchAttributes: wanted };
  } catch (err) {
    // Servers without the attributes registered reject the start: run without them.
    if (wanted && opts.searchAttributes === undefined && isUnregisteredSearchAttribute(err)) {
      return { handle: await start(false), workflowId, searchAttributes: false };
    }
    throw err;
  }
}

/** The handle of a job's workflow (latest run). */
export function jobRunHandle(
  client: Client,
  regionId: string,
  apsJobId: string,
): WorkflowHandle<typeof runApsJob> {
  return client.workflow.getHandle<typeof runApsJob>(
    jobWorkflowId(validateRegionId(regionId), validateApsJobId(apsJobId)),
  );
}

/** What a run looks like now: the workflow's own status plus the live activity attempt. */
export interface JobRunView {
  /** Workflow ID. */
  workflowId: string;
  /** Run ID. */
  runId: string;
  /** Temporal's execution status (RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT, …). */
  executionStatus: string;
  /** The `status` query's answer (absent when the query could not be answered). */
  status?: RunApsJobStatus;
  /** The activity in progress, if any. */
  activity?: {
    /** Activity type (startApsJob, waitForApsJob, suspendApsJob). */
    type: string;
    /** Current attempt. */
    attempt: number;
    /** Type of the last failure (an API code, or ApsJobNotReady while waiting). */
    lastFailureType?: string;
    /** Message of the last failure. */
    lastFailureMessage?: string;
    /** Raw job status from the last failure's details, when it carried one. */
    lastJobStatus?: string;
    /** When the next attempt is scheduled. */
    nextAttemptAt?: Date;
  };
  /** The failure type when the run failed. */
  failureType?: string;
  /** Start time. */
  startTime: Date;
  /** Close time. */
  closeTime?: Date;
}

/** Describes a job's run (workflow status, query, pending activity). */
export async function describeJobRun(
  client: Client,
  regionId: string,
  apsJobId: string,
): Promise<JobRunView> {
  const handle = jobRunHandle(client, regionId, apsJobId);
  const desc = await handle.describe();
  const view: JobRunView = {
    workflowId: desc.workflowId,
    runId: desc.runId,
    executionStatus: desc.status.name,
    startTime: desc.startTime,
    closeTime: desc.closeTime,
  };
  try {
    view.status = await handle.query(statusQuery);
  } catch {
    // A closed run whose worker is gone cannot answer queries; the execution status still tells.
  }
  const pending = desc.raw.pendingActivities?.[0];
  if (pending) {
    const failure = pending.lastFailure;
    let lastJobStatus: string | undefined;
    const payload = failure?.applicationFailureInfo?.details?.payloads?.[0];
    if (payload) {
      try {
        const d = defaultPayloadConverter.fromPayload<{ status?: unknown }>(payload);
        if (typeof d?.status === 'string') lastJobStatus = d.status;
      } catch {
        // Details from another converter: leave the status out.
      }
    }
    const next = pending.nextAttemptScheduleTime?.seconds;
    view.activity = {
      type: pending.activityType?.name ?? 'unknown',
      attempt: pending.attempt ?? 1,
      lastFailureType: failure?.applicationFailureInfo?.type ?? undefined,
      lastFailureMessage: failure?.message ?? undefined,
      lastJobStatus,
      nextAttemptAt: next ? new Date(Number(next) * 1000) : undefined,
    };
  }
  if (view.executionStatus === 'FAILED') {
    try {
      await handle.result();
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      if (cause instanceof ApplicationFailure) view.failureType = cause.type ?? undefined;
    }
  }
  return view;
}

/**
 * Cancels a job's run. With `suspend`, the run suspends the job on its way out whatever its
 * `onCancel` said at start.
 */
export async function cancelJobRun(
  client: Client,
  regionId: string,
  apsJobId: string,
  opts: { suspend?: boolean } = {},
): Promise<void> {
  const handle = jobRunHandle(client, regionId, apsJobId);
  if (opts.suspend !== undefined) {
    const action: OnStopAction = opts.suspend ? 'suspend' : 'leave';
    await handle.signal(setOnCancelSignal, action);
  }
  await handle.cancel();
}

export { WorkflowNotFoundError };
