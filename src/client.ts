/**
 * Typed helpers to start, follow and cancel a job's workflow, and to start and steer a job's
 * supervisor. One job, one orchestrator: the IDs are derived from the region and job ID, a second
 * caller with the same input joins the open workflow, and a caller with different input, or with
 * the other kind of workflow open for the job, is refused.
 */
import {
  Client,
  Connection,
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
  type WorkflowUpdateHandle,
} from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { ApplicationFailure, defaultPayloadConverter, type SearchAttributePair } from '@temporalio/common';
import {
  FailureTypes,
  INPUT_HASH_MEMO_KEY,
  ApsJobIdKey,
  ApsPhaseKey,
  ApsRegionKey,
  awaitRunUpdate,
  extendDeadlineUpdate,
  jobWorkflowId,
  pauseUpdate,
  resumeUpdate,
  setCheckIntervalUpdate,
  setDeadlineUpdate,
  setOnCancelSignal,
  setOnCancelUpdate,
  setPollIntervalUpdate,
  statusQuery,
  supervisorStatusQuery,
  supervisorWorkflowId,
  type AdaptivePollInterval,
  type AwaitRunInput,
  type DurationInput,
  type OnStopAction,
  type RunApsJobInput,
  type RunApsJobStatus,
  type SuperviseApsJobInput,
  type SupervisorStatus,
} from './api';
import { INPUT_HASH_VERSION, inputHash, isUnregisteredSearchAttribute } from './client-support';
import { failureReasonsOf, type JobFailedDetails } from './failures';
import {
  normalizeRunInput,
  normalizeSuperviseInput,
  validateCheckInterval,
  validateExtendBy,
  validateSetDeadline,
  validateSetOnCancel,
  validateSetPollInterval,
} from './input';
import { describeValue, InputValidationError, validateApsJobId, validateRegionId } from './validation';
import { runApsJob } from './workflows/run-aps-job';
import { superviseApsJob } from './workflows/supervise-aps-job';

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

export { INPUT_HASH_MEMO_KEY };

/** A start found the job's workflow open with different input, and did not join it. */
export class ConflictingRunError extends Error {
  override readonly name = 'ConflictingRunError';
  constructor(
    /** The open workflow's ID. */
    readonly workflowId: string,
    /** The open run's ID. */
    readonly runId: string,
    /** The command that cancels the open workflow. */
    readonly cancelCommand: string,
  ) {
    super(
      `${workflowId} is already open (run ${runId}) and was started with different input; ` +
        `wait for it to end, cancel it (${cancelCommand}), or start again with the same input`,
    );
  }
}

/** The job already has the other kind of workflow open (run vs supervisor); nothing was started. */
export class OrchestratorConflictError extends Error {
  override readonly name = 'OrchestratorConflictError';
  constructor(
    /** The workflow that was not started. */
    readonly workflowId: string,
    /** The open workflow that would have fought it over the job. */
    readonly otherWorkflowId: string,
    /** The open workflow's run ID. */
    readonly otherRunId: string,
    /** `supervisor` or `run`: what the open workflow is. */
    readonly otherKind: 'supervisor' | 'run',
    /** The command that stops the open workflow. */
    readonly stopCommand: string,
  ) {
    super(
      `cannot start ${workflowId}: the job's ${otherKind} ${otherWorkflowId} is open and would fight it ` +
        `over the job; ${otherKind === 'run' ? 'cancel' : 'stop'} it (${stopCommand}) or wait for it to end`,
    );
  }
}

/**
 * After a start that may have joined an open run: refuses the join when that run recorded a
 * different input hash. A run without a hash of this version (an older release) is joined.
 */
async function ensureSameInput(
  client: Client,
  workflowId: string,
  runId: string,
  hash: string,
  cancelCommand: string,
): Promise<void> {
  // The start reply does not say whether it joined, so the memo of the run it named decides.
  const { memo } = await client.workflow.getHandle(workflowId, runId).describe();
  const recorded = memo?.[INPUT_HASH_MEMO_KEY];
  if (typeof recorded !== 'string' || !recorded.startsWith(`${INPUT_HASH_VERSION}:`)) return;
  if (recorded !== hash) throw new ConflictingRunError(workflowId, runId, cancelCommand);
}

/** The run ID of the workflow's open run, or undefined when it has none (or never existed). */
export async function openRunId(client: Client, workflowId: string): Promise<string | undefined> {
  try {
    const desc = await client.workflow.getHandle(workflowId).describe();
    return desc.status.name === 'RUNNING' ? desc.runId : undefined;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

const cancelRunCommand = (regionId: string, apsJobId: string): string =>
  `aps-jobs cancel ${apsJobId} --region ${regionId}`;
const stopSupervisorCommand = (regionId: string, apsJobId: string): string =>
  `aps-jobs supervisor stop ${apsJobId} --region ${regionId}`;

/** Options of {@link startJobRun}. */
export interface StartJobRunOptions {
  /** Task queue of the workers. */
  taskQueue: string;
  /** Set the ApsJobId/ApsRegion/ApsPhase search attributes (default: when the server has them). */
  searchAttributes?: boolean;
  /**
   * Start or join with one Update-with-Start and return once the job is started (`started`) or
   * the run has ended (`target`: reached, failed or cancelled), with the run's status then.
   * Without it, return as soon as the run is started or joined.
   */
  waitFor?: AwaitRunInput['until'];
}

/** A started (or joined) run. */
export interface StartedJobRun {
  /** Handle of the workflow. */
  handle: WorkflowHandleWithFirstExecutionRunId<typeof runApsJob>;
  /** The workflow ID (`aps-job:<region>:<jobId>`). */
  workflowId: string;
  /** With `waitFor`: the run's status when the job was started or the run ended. */
  status?: RunApsJobStatus;
  /** Whether the search attributes were set. */
  searchAttributes: boolean;
}

/**
 * Validates the input, then starts the job's workflow or joins the one already open for that job
 * (`WorkflowIdConflictPolicy.USE_EXISTING`) when it was started with the same input once
 * normalized. Throws InputValidationError before any call; {@link OrchestratorConflictError}
 * before starting anything when the job's supervisor is open; {@link ConflictingRunError} when the
 * open run was started with different input (that run is left as it is).
 *
 * The supervisor check and the start are two calls: a supervisor started by another client
 * between them is not seen, so two clients starting a run and a supervisor for the same job at the
 * same instant can both succeed.
 */
export async function startJobRun(
  client: Client,
  input: RunApsJobInput,
  opts: StartJobRunOptions,
): Promise<StartedJobRun> {
  const cfg = normalizeRunInput(input);
  if (opts.waitFor !== undefined && opts.waitFor !== 'started' && opts.waitFor !== 'target') {
    throw new InputValidationError('waitFor', '"started" or "target"', describeValue(opts.waitFor));
  }
  const workflowId = jobWorkflowId(cfg.regionId, cfg.apsJobId);
  let update: WorkflowUpdateHandle<RunApsJobStatus> | undefined;
  const started = await startOrchestrator(client, opts, {
    ref: cfg,
    workflowId,
    hash: inputHash('runApsJob', cfg),
    stop: cancelRunCommand(cfg.regionId, cfg.apsJobId),
    other: {
      workflowId: supervisorWorkflowId(cfg.regionId, cfg.apsJobId),
      kind: 'supervisor',
      stop: stopSupervisorCommand(cfg.regionId, cfg.apsJobId),
    },
    start: async (memo, typedSearchAttributes) => {
      const options = {
        taskQueue: opts.taskQueue,
        workflowId,
        args: [input] as [RunApsJobInput],
        workflowIdConflictPolicy: 'USE_EXISTING' as const,
        memo,
        typedSearchAttributes,
      };
      if (!opts.waitFor) return client.workflow.start(runApsJob, options);
      const operation = new WithStartWorkflowOperation(runApsJob, options);
      // Accepted means a worker holds the update: the wait itself goes on below, once the input
      // of a joined run has been checked.
      update = await client.workflow.startUpdateWithStart(awaitRunUpdate, {
        args: [{ until: opts.waitFor }],
        waitForStage: 'ACCEPTED',
        startWorkflowOperation: operation,
      });
      // The operation's handle names the run it started; one it joined is read from the server.
      const handle = await operation.workflowHandle();
      const named = (handle as Partial<WorkflowHandleWithFirstExecutionRunId>).firstExecutionRunId;
      const runId = named ?? (await handle.describe()).runId;
      return Object.assign(
        client.workflow.getHandle<typeof runApsJob>(workflowId, undefined, { firstExecutionRunId: runId }),
        { firstExecutionRunId: runId },
      );
    },
  });
  return { ...started, workflowId, ...(update ? { status: await update.result() } : {}) };
}

/**
 * Starts one of a job's two orchestrators (a run or a supervisor), or joins the one already open
 * when it was started with the same input; refuses while the job's other orchestrator is open.
 */
async function startOrchestrator<H extends { firstExecutionRunId: string }>(
  client: Client,
  opts: StartJobRunOptions,
  o: {
    ref: { regionId: string; apsJobId: string };
    workflowId: string;
    /** The input hash, kept in the memo. */
    hash: string;
    /** How to stop this orchestrator (for the conflict message). */
    stop: string;
    /** The job's other orchestrator. */
    other: { workflowId: string; kind: 'run' | 'supervisor'; stop: string };
    start: (
      memo: Record<string, unknown>,
      typedSearchAttributes: SearchAttributePair[] | undefined,
    ) => Promise<H>;
  },
): Promise<{ handle: H; searchAttributes: boolean }> {
  const otherRun = await openRunId(client, o.other.workflowId);
  if (otherRun) {
    throw new OrchestratorConflictError(
      o.workflowId,
      o.other.workflowId,
      otherRun,
      o.other.kind,
      o.other.stop,
    );
  }
  const started = await withSearchAttributeFallback(o.ref, opts, (typedSearchAttributes) =>
    o.start({ [INPUT_HASH_MEMO_KEY]: o.hash }, typedSearchAttributes),
  );
  await ensureSameInput(client, o.workflowId, started.handle.firstExecutionRunId, o.hash, o.stop);
  return started;
}

/**
 * Starts with the job's search attributes, and again without them when the server rejects them
 * as unregistered (unless the caller asked for them explicitly).
 */
async function withSearchAttributeFallback<H>(
  ref: { regionId: string; apsJobId: string },
  opts: StartJobRunOptions,
  start: (typedSearchAttributes: SearchAttributePair[] | undefined) => Promise<H>,
): Promise<{ handle: H; searchAttributes: boolean }> {
  const wanted = opts.searchAttributes ?? true;
  const attributes: SearchAttributePair[] = [
    { key: ApsJobIdKey, value: ref.apsJobId },
    { key: ApsRegionKey, value: ref.regionId },
    { key: ApsPhaseKey, value: 'starting' },
  ];
  try {
    return { handle: await start(wanted ? attributes : undefined), searchAttributes: wanted };
  } catch (err) {
    if (wanted && opts.searchAttributes === undefined && isUnregisteredSearchAttribute(err)) {
      return { handle: await start(undefined), searchAttributes: false };
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
  /** No worker answered the `status` query in time (the view comes from the server alone). */
  queryUnanswered?: boolean;
  /** The phase the run last recorded in its `ApsPhase` search attribute. */
  searchPhase?: string;
  /** The task queue of an open run. */
  taskQueue?: string;
  /** Whether a worker polls that task queue (open runs; undefined when it could not be told). */
  workerPolling?: boolean;
  /** When the run failed with `ApsJobFailed`: the job's status, ErrMessage and reasons. */
  jobFailure?: JobFailedDetails;
  /** Start time. */
  startTime: Date;
  /** Close time. */
  closeTime?: Date;
}

/** What a pending activity's heartbeat says about a wait held in process. */
interface LiveWait {
  /** The start took effect and the activity now waits (a start that waits in the same attempt). */
  waiting: boolean;
  /** Reads made so far. */
  polls?: number;
  /** The raw status last read. */
  lastStatus?: string;
}

/**
 * Reads a pending activity's heartbeat details: a start that waits in the same attempt says
 * `started` once the start took effect, and a wait counts its reads (`polls`) and logs the status
 * last read (`lastLogged`). Undefined when the details say nothing of the kind.
 */
export function liveWaitOf(pending: {
  activityType?: { name?: string | null } | null;
  heartbeatDetails?: { payloads?: Parameters<typeof defaultPayloadConverter.fromPayload>[0][] | null } | null;
}): LiveWait | undefined {
  const payload = pending.heartbeatDetails?.payloads?.[0];
  if (!payload) return undefined;
  let d: Record<string, unknown> | undefined;
  try {
    d = defaultPayloadConverter.fromPayload<Record<string, unknown>>(payload);
  } catch {
    return undefined;
  }
  if (typeof d !== 'object' || d === null) return undefined;
  const type = pending.activityType?.name;
  const wait = (type === 'startApsJob' ? d.wait : d) as Record<string, unknown> | undefined;
  const waiting = type === 'startApsJob' ? d.started !== undefined : type === 'waitForApsJob';
  if (!waiting || typeof wait !== 'object' || wait === null) return waiting ? { waiting } : undefined;
  return {
    waiting,
    ...(typeof wait.polls === 'number' ? { polls: wait.polls } : {}),
    ...(typeof wait.lastLogged === 'string' ? { lastStatus: wait.lastLogged } : {}),
  };
}

/** Describes a job's run (workflow status, query, pending activity). */
export async function describeJobRun(
  client: Client,
  regionId: string,
  apsJobId: string,
  opts: {
    /** How long to wait for a worker to answer the status query, ms (default 5 s). */
    queryWaitMs?: number;
    /** false: the server's view only (no query, no task-queue check), which replays nothing. */
    query?: boolean;
  } = {},
): Promise<JobRunView> {
  const handle = jobRunHandle(client, regionId, apsJobId);
  const desc = await handle.describe();
  const queryWaitMs = opts.queryWaitMs ?? STATUS_QUERY_WAIT_MS;
  const view: JobRunView = {
    workflowId: desc.workflowId,
    runId: desc.runId,
    executionStatus: desc.status.name,
    startTime: desc.startTime,
    closeTime: desc.closeTime,
  };
  const recordedPhase = (): void => {
    const phase = desc.typedSearchAttributes.get(ApsPhaseKey);
    if (phase) view.searchPhase = phase;
  };
  if (opts.query === false) {
    recordedPhase();
  } else {
    try {
      // With no worker to answer, a query waits out the server's own timeout: give up sooner and
      // describe the run from what the server knows.
      view.status = await client.withDeadline(Date.now() + queryWaitMs, () => handle.query(statusQuery));
    } catch {
      // A closed run whose worker is gone cannot answer queries; the execution status still tells.
      view.queryUnanswered = true;
      recordedPhase();
    }
  }
  if (opts.query !== false && view.executionStatus === 'RUNNING') {
    view.taskQueue = desc.taskQueue;
    view.workerPolling = await hasWorkflowPoller(client, desc.taskQueue).catch(() => undefined);
  }
  const pending = desc.raw.pendingActivities?.[0];
  // The workflow hears of an activity's attempts only when the activity returns, so while one is
  // pending the server's side is the live one: the attempt count of a wait that retries its poll,
  // or the reads counted in the heartbeat of a wait held in process.
  const live = pending ? liveWaitOf(pending) : undefined;
  if (pending && view.status) {
    view.status = {
      ...view.status,
      attempts: live?.polls ?? pending.attempt ?? 1,
      ...(live?.waiting && view.status.phase === 'starting' ? { phase: 'waiting' as const } : {}),
    };
  }
  if (live?.waiting && view.searchPhase === 'starting') view.searchPhase = 'waiting';
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
    lastJobStatus = live?.lastStatus ?? lastJobStatus;
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
      if (cause instanceof ApplicationFailure) {
        view.failureType = cause.type ?? undefined;
        const d = cause.details?.[0] as Partial<JobFailedDetails> | undefined;
        if (cause.type === FailureTypes.ApsJobFailed && typeof d?.status === 'string') {
          view.jobFailure = {
            status: d.status,
            ...(typeof d.errMessage === 'string' ? { errMessage: d.errMessage } : {}),
            ...failureReasonsOf(d),
          };
        }
      }
    }
  }
  return view;
}

/** How long `describeJobRun` waits for a worker to answer the status query, ms. */
export const STATUS_QUERY_WAIT_MS = 5_000;

// Enum values of temporal.api.enums.v1 (TaskQueueKind.NORMAL, TaskQueueType.WORKFLOW).
const TASK_QUEUE_KIND_NORMAL = 1;
const TASK_QUEUE_TYPE_WORKFLOW = 1;

/**
 * Whether any worker polls `taskQueue` for workflow tasks, as the server saw in the last few
 * minutes (it keeps pollers listed for a while after their last poll).
 */
export async function hasWorkflowPoller(client: Client, taskQueue: string): Promise<boolean> {
  const res = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue, kind: TASK_QUEUE_KIND_NORMAL },
    taskQueueType: TASK_QUEUE_TYPE_WORKFLOW,
  });
  return (res.pollers?.length ?? 0) > 0;
}

/** The one line the CLI prints when no worker polls a run's task queue. */
export function noWorkerMessage(taskQueue: string): string {
  return `no worker polls task queue ${taskQueue}; the run waits until one does; start one with \`aps-jobs worker\``;
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

/** A job has no open run to steer (none was started, or it has ended). */
export class NoOpenRunError extends Error {
  override readonly name = 'NoOpenRunError';
  constructor(
    /** The run's workflow ID. */
    readonly workflowId: string,
  ) {
    super(`no open run ${workflowId}: nothing to change (it has ended, or was never started)`);
  }
}

/** The handle of a job's open run (its run ID pinned), or {@link NoOpenRunError}. */
async function openJobRun(
  client: Client,
  regionId: string,
  apsJobId: string,
): Promise<WorkflowHandle<typeof runApsJob>> {
  const workflowId = jobWorkflowId(validateRegionId(regionId), validateApsJobId(apsJobId));
  const runId = await openRunId(client, workflowId);
  if (runId === undefined) throw new NoOpenRunError(workflowId);
  return client.workflow.getHandle<typeof runApsJob>(workflowId, runId);
}

/**
 * Changes an open run's poll interval (validated here first, and again by the run): the wait in
 * flight is re-scheduled with it; a start in flight keeps its own, and the wait after it takes the
 * new one. Resolves with the run's status.
 */
export async function setJobRunPollInterval(
  client: Client,
  regionId: string,
  apsJobId: string,
  pollInterval: DurationInput | AdaptivePollInterval,
): Promise<RunApsJobStatus> {
  validateSetPollInterval({ pollInterval });
  const handle = await openJobRun(client, regionId, apsJobId);
  return handle.executeUpdate(setPollIntervalUpdate, { args: [{ pollInterval }] });
}

/**
 * Moves an open run's deadline to `deadline` (an ISO-8601 time with its offset, or a Date), earlier
 * or later but not before now: the wait in flight is re-scheduled under it. Resolves with the
 * run's status.
 */
export async function setJobRunDeadline(
  client: Client,
  regionId: string,
  apsJobId: string,
  deadline: string | Date,
): Promise<RunApsJobStatus> {
  const arg = { deadline: deadline instanceof Date ? deadline.toISOString() : deadline };
  // The run checks "not before now" again on its own clock.
  validateSetDeadline(arg, Date.now());
  const handle = await openJobRun(client, regionId, apsJobId);
  return handle.executeUpdate(setDeadlineUpdate, { args: [arg] });
}

/** Moves an open run's deadline later by `by`; as {@link setJobRunDeadline} otherwise. */
export async function extendJobRunDeadline(
  client: Client,
  regionId: string,
  apsJobId: string,
  by: DurationInput,
): Promise<RunApsJobStatus> {
  validateExtendBy(by);
  const handle = await openJobRun(client, regionId, apsJobId);
  return handle.executeUpdate(extendDeadlineUpdate, { args: [{ by }] });
}

/** Sets what an open run does with the job when it is cancelled; resolves with the run's status. */
export async function setJobRunOnCancel(
  client: Client,
  regionId: string,
  apsJobId: string,
  onCancel: OnStopAction,
): Promise<RunApsJobStatus> {
  validateSetOnCancel({ onCancel });
  const handle = await openJobRun(client, regionId, apsJobId);
  return handle.executeUpdate(setOnCancelUpdate, { args: [{ onCancel }] });
}

/** A started (or joined) supervisor. */
export interface StartedSupervisor {
  /** Handle of the workflow. */
  handle: WorkflowHandleWithFirstExecutionRunId<typeof superviseApsJob>;
  /** The workflow ID (`aps-supervisor:<region>:<jobId>`). */
  workflowId: string;
  /** Whether the search attributes were set. */
  searchAttributes: boolean;
}

/**
 * Validates the input, then starts the job's supervisor or joins the one already open for that
 * job (`WorkflowIdConflictPolicy.USE_EXISTING`) when it was started with the same input once
 * normalized: a job has at most one supervisor. Throws {@link OrchestratorConflictError} before
 * starting anything when the job's run (runApsJob) is open, and {@link ConflictingRunError} when
 * the open supervisor was started with different input.
 *
 * The run check and the start are two calls: a run started by another client between them is not
 * seen, so two clients starting a run and a supervisor for the same job at the same instant can
 * both succeed.
 */
export async function startSupervisor(
  client: Client,
  input: SuperviseApsJobInput,
  opts: StartJobRunOptions,
): Promise<StartedSupervisor> {
  if (input.carried !== undefined) {
    throw new InputValidationError('carried', 'nothing (set by the supervisor itself)', 'a value');
  }
  const cfg = normalizeSuperviseInput(input);
  const workflowId = supervisorWorkflowId(cfg.regionId, cfg.apsJobId);
  const started = await startOrchestrator(client, opts, {
    ref: cfg,
    workflowId,
    hash: inputHash('superviseApsJob', cfg),
    stop: stopSupervisorCommand(cfg.regionId, cfg.apsJobId),
    other: {
      workflowId: jobWorkflowId(cfg.regionId, cfg.apsJobId),
      kind: 'run',
      stop: cancelRunCommand(cfg.regionId, cfg.apsJobId),
    },
    // Continue-as-new keeps the memo, so a later run of the chain still carries the hash.
    start: (memo, typedSearchAttributes) =>
      client.workflow.start(superviseApsJob, {
        taskQueue: opts.taskQueue,
        workflowId,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
        memo,
        typedSearchAttributes,
      }),
  });
  return { ...started, workflowId };
}

/** The handle of a job's supervisor (latest run, so it follows continue-as-new). */
export function supervisorHandle(
  client: Client,
  regionId: string,
  apsJobId: string,
): WorkflowHandle<typeof superviseApsJob> {
  return client.workflow.getHandle<typeof superviseApsJob>(
    supervisorWorkflowId(validateRegionId(regionId), validateApsJobId(apsJobId)),
  );
}

/** The supervisor's `status` query. */
export function supervisorStatus(
  client: Client,
  regionId: string,
  apsJobId: string,
): Promise<SupervisorStatus> {
  return supervisorHandle(client, regionId, apsJobId).query(supervisorStatusQuery);
}

/** Pauses a supervisor: resolves once the job is suspended and checks have stopped. */
export function pauseSupervisor(
  client: Client,
  regionId: string,
  apsJobId: string,
): Promise<SupervisorStatus> {
  return supervisorHandle(client, regionId, apsJobId).executeUpdate(pauseUpdate);
}

/** Resumes a paused supervisor: resolves once the job's start took effect. */
export function resumeSupervisor(
  client: Client,
  regionId: string,
  apsJobId: string,
): Promise<SupervisorStatus> {
  return supervisorHandle(client, regionId, apsJobId).executeUpdate(resumeUpdate);
}

/** Changes a supervisor's check interval (validated here first, and again by the workflow). */
export async function setSupervisorCheckInterval(
  client: Client,
  regionId: string,
  apsJobId: string,
  checkInterval: DurationInput,
): Promise<SupervisorStatus> {
  validateCheckInterval(checkInterval);
  return supervisorHandle(client, regionId, apsJobId).executeUpdate(setCheckIntervalUpdate, {
    args: [{ checkInterval }],
  });
}

/** Cancels a supervisor; with `suspend`, it suspends the job on its way out whatever `onCancel` said. */
export async function cancelSupervisor(
  client: Client,
  regionId: string,
  apsJobId: string,
  opts: { suspend?: boolean } = {},
): Promise<void> {
  const handle = supervisorHandle(client, regionId, apsJobId);
  if (opts.suspend !== undefined) await handle.signal(setOnCancelSignal, opts.suspend ? 'suspend' : 'leave');
  await handle.cancel();
}

export { WorkflowNotFoundError };

export * from './schedules';
