/**
 * What the workflow, the worker, the client helpers and the CLI share: inputs, results, queries,
 * failure types and workflow IDs. Pure: safe to import in workflow code.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { PollSchedule } from './poll-schedule';
import type { RetryRuleInput } from './retry/types';

/** Default task queue. */
export const DEFAULT_TASK_QUEUE = 'aps-jobs';

/** The state a job must reach for the workflow to succeed. */
export type JobTarget = 'running' | 'completed';

/** What to do with the job when the workflow is cancelled or times out. */
export type OnStopAction = 'suspend' | 'leave';

/** A duration as a Temporal duration string (`'30s'`, `'5m'`) or milliseconds. */
export type DurationInput = string | number;

/** An adaptive poll interval: starts at `initial` and grows by `coefficient` per read up to `max`. */
export interface AdaptivePollInterval {
  /** Delay after the first read (default `5s`, at least `1s`). */
  initial?: DurationInput;
  /** The delay never grows past this (default `2m`). */
  max?: DurationInput;
  /** Growth per read, from 1 to 10 (default `1.25`). */
  coefficient?: number;
}

/** Input of {@link runApsJob}. */
export interface RunApsJobInput {
  /** Region, e.g. `cn-hangzhou`. */
  regionId: string;
  /** The APS job ID. */
  apsJobId: string;
  /** `running` (streaming jobs, default) or `completed` (batch jobs). */
  target?: JobTarget;
  /**
   * How often to read the job status while waiting (default `30s`), or an adaptive interval
   * `{ initial, max, coefficient }` (defaults `5s`, `2m`, `1.25`): the delay after the n-th read is
   * min(max, initial × coefficient^(n − 1)).
   */
  pollInterval?: DurationInput | AdaptivePollInterval;
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
  /** Restart the job with backoff when it reports a failed status while waited on (default: no restart). */
  onJobFailure?: OnJobFailure;
  /**
   * How long a job whose status gives no clear answer (transitional, unknown, or unchanged after a
   * start whose outcome is unknown) is watched before it is started (default `1m`).
   */
  settleWindow?: DurationInput;
  /**
   * How long status reads may fail transiently (5xx, timeouts, resets) while the job is waited on
   * before the run gives up (default `1h`; the run's `timeout` bounds it too).
   */
  waitOutage?: DurationInput;
  /**
   * The heartbeat timeout of the start and wait attempts: how long a wait held by a worker that
   * died goes unnoticed before another worker takes it over. The waiter heartbeats every half of
   * it, so a longer one costs the server fewer heartbeats. Default: three times the longest delay
   * between reads (at most 1 min of it), and at least `30s`; `10s` to `10m`.
   */
  heartbeatTimeout?: DurationInput;
}

/** What runApsJob does when the job reports a failed status while it is waited on. */
export interface OnJobFailure {
  /** `true` restarts the job (StartApsJob again) after a backoff; `false` fails at once, as without the field. */
  restart: boolean;
  /** Restarts allowed; one more failure fails the run with `ApsJobFailed` (default 3). */
  maxRestarts?: number;
  /** Backoff before the first restart (default `10s`). */
  initialInterval?: DurationInput;
  /** Each further restart waits this many times longer (default 2). */
  backoffCoefficient?: number;
  /** Longest backoff (default `10m`). */
  maximumInterval?: DurationInput;
}

/** A failed status the job reported. */
export interface JobFailureRecord {
  /** When the workflow saw it, ISO-8601. */
  at: string;
  /** The raw status (`Failed`, `Suspended`, …). */
  status: string;
  /** The job's ErrMessage, when it could be read (or why the job counted as down). */
  errMessage?: string;
}

/** One restart after a failure. */
export interface JobRestart {
  /** The failure that caused it. */
  failure: JobFailureRecord;
  /** Backoff waited before starting the job again, ms. */
  backoffMs: number;
  /** When the new start took effect, ISO-8601 (absent while backing off or starting). */
  restartedAt?: string;
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
  /** When the start took effect (or the workflow attached), ISO-8601; after restarts, the last start. */
  startedAt: string;
  /** When the target was observed, ISO-8601. */
  reachedAt: string;
  /** Restarts after failures (`onJobFailure`), oldest first. */
  restarts: JobRestart[];
}

/** Where a run is. */
export type RunPhase =
  'validating' | 'starting' | 'waiting' | 'backing-off' | 'suspending' | 'done' | 'failed' | 'cancelled';

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
  /** The deadline, ISO-8601 (`setDeadline` and `extendDeadline` move it). */
  deadline: string;
  /** The poll interval in force, ms (adaptive: its first delay); absent until the input is validated. */
  pollIntervalMs?: number;
  /** The adaptive poll interval in force, when the interval is adaptive. */
  pollSchedule?: PollSchedule;
  /** What the run does with the job when it is cancelled (`setOnCancel` changes it). */
  onCancel?: OnStopAction;
  /** Restarts after failures so far (`onJobFailure`), oldest first. */
  restarts: JobRestart[];
  /** Why the suspend on cancel or deadline was refused, when it was (the job may still run). */
  suspendError?: { code: string; message: string };
}

/** The `status` query of runApsJob. */
export const statusQuery = defineQuery<RunApsJobStatus>('status');

/** Changes what a run does with the job when it is cancelled (`aps-jobs cancel --suspend`). */
export const setOnCancelSignal = defineSignal<[OnStopAction]>('setOnCancel');

/** Argument of {@link setPollIntervalUpdate}. */
export interface SetPollIntervalInput {
  /** The new interval, as runApsJob's `pollInterval`: a duration (1s to 24h) or an adaptive interval. */
  pollInterval: DurationInput | AdaptivePollInterval;
}

/**
 * Changes a run's poll interval; the wait in flight is re-scheduled with it (a start in flight is
 * never cancelled: the wait that follows it takes it). Rejected (not recorded) when invalid or once
 * the run is ending.
 */
export const setPollIntervalUpdate = defineUpdate<RunApsJobStatus, [SetPollIntervalInput]>('setPollInterval');

/** Argument of {@link setDeadlineUpdate}. */
export interface SetDeadlineInput {
  /** The new deadline: an ISO-8601 time with its offset (`2025-01-31T02:00:00Z`), not before now. */
  deadline: string;
}

/**
 * Moves a run's deadline, earlier or later but never before now; the wait in flight is re-scheduled
 * under it. Rejected (not recorded) when invalid or once the run is ending.
 */
export const setDeadlineUpdate = defineUpdate<RunApsJobStatus, [SetDeadlineInput]>('setDeadline');

/** Argument of {@link extendDeadlineUpdate}. */
export interface ExtendDeadlineInput {
  /** How much later the deadline comes (`30m`, `2h`, or ms), at most 366 days. */
  by: DurationInput;
}

/** Moves a run's deadline later by a duration; as {@link setDeadlineUpdate} otherwise. */
export const extendDeadlineUpdate = defineUpdate<RunApsJobStatus, [ExtendDeadlineInput]>('extendDeadline');

/** Argument of {@link setOnCancelUpdate}. */
export interface SetOnCancelInput {
  /** `suspend` suspends the job when the run is cancelled; `leave` leaves it as it is. */
  onCancel: OnStopAction;
}

/**
 * The update form of {@link setOnCancelSignal}: validated, and answers with the run's status.
 * Rejected (not recorded) when invalid or once the run is ending.
 */
export const setOnCancelUpdate = defineUpdate<RunApsJobStatus, [SetOnCancelInput]>('setOnCancel');

/** Argument of {@link awaitRunUpdate}. */
export interface AwaitRunInput {
  /** `started`: answer once the job is started (or already running), or the run ended; `target`: once the run ended. */
  until: 'started' | 'target';
}

/**
 * Update (read-only): answers with the run's status once the job is started or the run has ended,
 * as `until` says. With Update-with-Start it makes "start or join, then wait" one call.
 */
export const awaitRunUpdate = defineUpdate<RunApsJobStatus, [AwaitRunInput]>('awaitRun');

/** Failure types a run can end with (besides API error codes such as `InvalidInput`). */
export const FailureTypes = {
  /** Bad workflow input; details name the field. */
  InvalidWorkflowInput: 'InvalidWorkflowInput',
  /**
   * The job reported a failed status; details carry the raw status and ErrMessage, and once a
   * restart budget is spent, `failures`: every failure seen (runApsJob) or the recent ones
   * (superviseApsJob).
   */
  ApsJobFailed: 'ApsJobFailed',
  /** The job was suspended by someone else while waited on (after a grace period). */
  ApsJobStopped: 'ApsJobStopped',
  /** The deadline passed before the target was reached. */
  ApsJobTimeout: 'ApsJobTimeout',
  /** Not a failure: the job is not at its target yet (BENIGN, retried at the poll interval). */
  ApsJobNotReady: 'ApsJobNotReady',
} as const;

/** Failure type of an update refused because the run is ending (suspending, done, failed or cancelled). */
export const RUN_ENDING = 'RunEnding';

/** Search attribute: the job ID. */
export const ApsJobIdKey = defineSearchAttributeKey('ApsJobId', SearchAttributeType.KEYWORD);
/** Search attribute: the region. */
export const ApsRegionKey = defineSearchAttributeKey('ApsRegion', SearchAttributeType.KEYWORD);
/** Search attribute: the phase. */
export const ApsPhaseKey = defineSearchAttributeKey('ApsPhase', SearchAttributeType.KEYWORD);
/** All search attributes the workflows use (register them on the server). */
export const SEARCH_ATTRIBUTES = [ApsJobIdKey, ApsRegionKey, ApsPhaseKey];

/** Memo key under which the client records the hash of the input a workflow was started with. */
export const INPUT_HASH_MEMO_KEY = 'apsInputHash';

/** The deterministic workflow ID of a job: one job, one workflow. */
export function jobWorkflowId(regionId: string, apsJobId: string): string {
  return `aps-job:${regionId}:${apsJobId}`;
}

/** Input of {@link superviseApsJob}: keeps a streaming job running for as long as it lives. */
export interface SuperviseApsJobInput {
  /** Region, e.g. `cn-hangzhou`. */
  regionId: string;
  /** The APS job ID. */
  apsJobId: string;
  /** How often to check a running job (default `5m`; `setCheckInterval` changes it). */
  checkInterval?: DurationInput;
  /** How often to read the status while bringing the job to running (default `30s`). */
  pollInterval?: DurationInput;
  /** How long bringing the job to running may take before it counts as a failure (default `1h`). */
  startTimeout?: DurationInput;
  /** How long the job may read as stopped right after a start before that is final (default `1m`). */
  stoppedGrace?: DurationInput;
  /** Bound of one API attempt (default `2m`). */
  activityTimeout?: DurationInput;
  /** Suspend the job when the supervisor is cancelled (default `leave`). */
  onCancel?: OnStopAction;
  /** Restart budget and backoff. */
  restartPolicy?: SupervisorRestartPolicy;
  /** Checks per run before continuing as new (default 300; the server may suggest earlier). */
  maxChecksPerRun?: number;
  /** Retry rules placed before the worker's rules and the defaults. */
  retryRules?: RetryRuleInput[];
  /** Set by the supervisor itself when it continues as new; never set it. */
  carried?: SupervisorCarriedState;
  /** As runApsJob's `settleWindow` (default `1m`). */
  settleWindow?: DurationInput;
  /** As runApsJob's `waitOutage`, while the job is brought up to running (default `1h`). */
  waitOutage?: DurationInput;
}

/** How the supervisor restarts a job found down. */
export interface SupervisorRestartPolicy {
  /** Restarts allowed within `window`; one more failure fails the supervisor (default 5). */
  maxPerWindow?: number;
  /** The sliding window the budget counts over (default `1h`). */
  window?: DurationInput;
  /** Backoff before a restart when none happened within the window (default `10s`). */
  initialInterval?: DurationInput;
  /** Each restart already in the window multiplies the backoff by this (default 2). */
  backoffCoefficient?: number;
  /** Longest backoff (default `5m`). */
  maximumInterval?: DurationInput;
}

/** What one supervisor run hands to the next when it continues as new. */
export interface SupervisorCarriedState {
  /** Restarts still inside the window, oldest first. */
  recentRestarts: JobRestart[];
  /** Restarts since the supervisor began. */
  totalRestarts: number;
  /** Checks since the supervisor began. */
  totalChecks: number;
  /** Runs so far (this one included). */
  runs: number;
  /** Whether the supervisor is paused. */
  paused: boolean;
  /** When the supervisor began, ISO-8601. */
  supervisingSince: string;
  /** When the job was last started by the supervisor, ISO-8601. */
  runningSince?: string;
  /** The last failure seen. */
  lastFailure?: JobFailureRecord;
  /** Last raw status seen. */
  lastStatus?: string;
  /** When the next check is due, ISO-8601. */
  nextCheckAt?: string;
}

/** Where a supervisor is. */
export type SupervisorPhase =
  | 'validating'
  | 'starting'
  | 'waiting'
  | 'running'
  | 'backing-off'
  | 'pausing'
  | 'paused'
  | 'suspending'
  | 'failed'
  | 'cancelled';

/** Answer of the supervisor's `status` query (and of its updates). */
export interface SupervisorStatus {
  /** The phase. */
  phase: SupervisorPhase;
  /** Region. */
  regionId: string;
  /** The job ID. */
  apsJobId: string;
  /** Paused by `pause`: the job is left suspended and not checked. */
  paused: boolean;
  /** Last raw job status seen. */
  lastStatus?: string;
  /** When the supervisor last started the job (or first found it running), ISO-8601. */
  runningSince?: string;
  /** Time since `runningSince` on the workflow clock, ms, while the job is running. */
  uptimeMs?: number;
  /** The check interval in force, ms. */
  checkIntervalMs: number;
  /** When the last check ran, ISO-8601. */
  lastCheckAt?: string;
  /** When the next check is due, ISO-8601 (absent unless running). */
  nextCheckAt?: string;
  /** Checks since the supervisor began (across runs). */
  checks: number;
  /** Restarts inside the window now. */
  restartsInWindow: number;
  /** The budget: restarts allowed per window. */
  maxRestartsPerWindow: number;
  /** The window, ms. */
  windowMs: number;
  /** Restarts inside the window, oldest first. */
  recentRestarts: JobRestart[];
  /** Restarts since the supervisor began. */
  totalRestarts: number;
  /** The last failure seen. */
  lastFailure?: JobFailureRecord;
  /** Last API error code that reached the workflow. */
  lastErrorCode?: string;
  /** This run's number: 1, then one more per continue-as-new. */
  run: number;
  /** When the supervisor began, ISO-8601. */
  supervisingSince: string;
  /** Why the suspend on cancel was refused, when it was (the job may still run). */
  suspendError?: { code: string; message: string };
}

/** The supervisor's `status` query (same name as runApsJob's). */
export const supervisorStatusQuery = defineQuery<SupervisorStatus>('status');

/** Argument of {@link setCheckIntervalUpdate}. */
export interface SetCheckIntervalInput {
  /** The new interval, between 100ms and 24h; applies from now. */
  checkInterval: DurationInput;
}

/** Changes the supervisor's check interval; rejected (not recorded) when out of range. */
export const setCheckIntervalUpdate = defineUpdate<SupervisorStatus, [SetCheckIntervalInput]>(
  'setCheckInterval',
);

/** Suspends the job and stops checking it; completes once the job is suspended. */
export const pauseUpdate = defineUpdate<SupervisorStatus, []>('pause');

/** Starts the job again and goes back to checking; completes once the start took effect. */
export const resumeUpdate = defineUpdate<SupervisorStatus, []>('resume');

/** The deterministic workflow ID of a job's supervisor: at most one per job. */
export function supervisorWorkflowId(regionId: string, apsJobId: string): string {
  return `aps-supervisor:${regionId}:${apsJobId}`;
}

/**
 * Which jobs of a region the fleet reconciler looks after: exactly one of explicit job IDs, a name
 * prefix, or a name pattern (a JavaScript regular expression, tested against the job name).
 */
export type FleetSelector = { jobIds: string[] } | { namePrefix: string } | { namePattern: string };

/** What the reconciler does with matched jobs that have no supervisor. */
export type FleetMode = 'report' | 'supervise';

/** The supervisor settings the reconciler applies to the jobs it adopts. */
export type FleetSupervisorSettings = Omit<SuperviseApsJobInput, 'regionId' | 'apsJobId' | 'carried'>;

/** Input of {@link reconcileApsFleet}. */
export interface ReconcileApsFleetInput {
  /** Region, e.g. `cn-hangzhou`. */
  regionId: string;
  /** The jobs to look after. */
  selector: FleetSelector;
  /** `report` (default) only reports; `supervise` starts a supervisor for each matched job without one. */
  mode?: FleetMode;
  /** Settings of the supervisors it starts (defaults as for superviseApsJob). */
  supervisor?: FleetSupervisorSettings;
  /** In `supervise` mode, cancel the supervisors whose job no longer exists (default false: report only). */
  endGone?: boolean;
  /** Most supervisors started per run; more candidates continue as new (default 25, 1–500). */
  maxAdoptionsPerRun?: number;
  /** Bound of one activity attempt (default `2m`; the listing gets ten times that). */
  activityTimeout?: DurationInput;
  /** Set by the reconciler itself when it continues as new; never set it. */
  carried?: FleetCarriedState;
}

/** What one reconciler run hands to the next when it continues as new. */
export interface FleetCarriedState {
  /** Runs so far (this one included). */
  runs: number;
  /** Supervisors started by earlier runs of this execution. */
  adopted: number;
  /** Their job IDs (the first {@link FLEET_LIST_LIMIT}). */
  adoptedJobIds: string[];
  /** When the first run began, ISO-8601. */
  startedAt: string;
}

/** Most entries each list of a {@link FleetSummary} holds (the counts are exact). */
export const FLEET_LIST_LIMIT = 100;

/** A job the reconciler reports. */
export interface FleetJobNote {
  /** The job ID. */
  apsJobId: string;
  /** The job name. */
  apsJobName?: string;
  /** The raw status. */
  status?: string;
  /** The job's ErrMessage. */
  errMessage?: string;
}

/** A supervisor whose job no longer exists in the region's listing. */
export interface GoneSupervisor {
  /** The job ID the supervisor watches. */
  apsJobId: string;
  /** The supervisor's workflow ID. */
  workflowId: string;
  /** True once this run cancelled it (`supervise` mode with `endGone`). */
  ended: boolean;
}

/** Where a reconciler run is. */
export type FleetPhase = 'validating' | 'listing' | 'adopting' | 'ending-gone' | 'done' | 'failed';

/** The reconciler's result and the answer of its `fleetStatus` query. */
export interface FleetSummary {
  /** Region. */
  regionId: string;
  /** The mode of the run. */
  mode: FleetMode;
  /** The phase. */
  phase: FleetPhase;
  /** Jobs listed in the region (last listing). */
  seen: number;
  /** Of those, jobs the selector matches. */
  matched: number;
  /** Supervisors started (this execution, across continue-as-new). */
  adopted: number;
  /** Jobs of the region that are failed or stopped with no run or supervisor open, after this run. */
  orphansFailed: number;
  /** Open supervisors whose job is not in the listing. */
  gone: number;
  /** Matched jobs that already had a supervisor. */
  alreadySupervised: number;
  /** Matched jobs left alone because a runApsJob run is open for them. */
  busy: number;
  /** In `report` mode: matched jobs that `supervise` mode would adopt. */
  wouldAdopt: number;
  /** Job IDs adopted. */
  adoptedJobIds: string[];
  /** Job IDs `supervise` mode would adopt (report mode). */
  wouldAdoptJobIds: string[];
  /** The orphans. */
  orphans: FleetJobNote[];
  /** The gone supervisors. */
  goneSupervisors: GoneSupervisor[];
  /** Jobs whose adoption failed, with the error. */
  errors: { apsJobId: string; code: string; message: string }[];
  /** This run's number (1, then one more per continue-as-new). */
  run: number;
  /** When the execution began, ISO-8601. */
  startedAt: string;
  /** When it finished, ISO-8601. */
  finishedAt?: string;
}

/** The reconciler's `fleetStatus` query. */
export const fleetStatusQuery = defineQuery<FleetSummary>('fleetStatus');

/** The ID of a region's reconciler schedule, and the prefix of the workflow IDs it starts. */
export function fleetScheduleId(regionId: string): string {
  return `aps-fleet:${regionId}`;
}

/**
 * What a scheduled action does when the job's run is already open (a manual run, or the run of an
 * earlier action): the schedule's own overlap policy between its actions, and the same rule
 * applied by {@link scheduledApsJobRun} to a run the schedule did not start.
 */
export type ScheduleOverlap = 'skip' | 'buffer-one' | 'cancel-other' | 'allow-all';

/** The overlap policies, in the order the CLI lists them. */
export const SCHEDULE_OVERLAPS: readonly ScheduleOverlap[] = [
  'skip',
  'buffer-one',
  'cancel-other',
  'allow-all',
];

/** Input of scheduledApsJobRun: the job's run input, and how to treat a run already open. */
export interface ScheduledApsJobRunInput {
  /** The run to start (runApsJob's input). */
  run: RunApsJobInput;
  /** What to do when the job's run is open (default `skip`). */
  overlap?: ScheduleOverlap;
  /**
   * The input hash the client helpers keep in a run's memo (computed by the client when the
   * schedule is created), so that a manual start with the same input joins the scheduled run.
   */
  inputHash?: string;
}

/** What one scheduled action did. */
export type ScheduledRunAction =
  /** It started the job's run and waited for it. */
  | 'started'
  /** It found the job's run open and waited for that run instead (`allow-all`). */
  | 'joined'
  /** It found the job's run open and did nothing (`skip`). */
  | 'skipped';

/** Result of scheduledApsJobRun. */
export interface ScheduledApsJobRunResult {
  /** What the action did. */
  action: ScheduledRunAction;
  /** The job's run (`aps-job:<region>:<jobId>`). */
  workflowId: string;
  /** The run started, joined or skipped. */
  runId: string;
  /** Why the action did not start the run itself. */
  reason?: string;
  /** Runs of the job that were open and waited for (`buffer-one`) or cancelled (`cancel-other`) first. */
  waitedFor?: { runId: string; status: string; cancelled: boolean }[];
  /** The run's result (`started`), or how the joined run closed (`joined`). */
  result?: RunApsJobResult;
  /** Temporal's status of a joined run when it closed. */
  joinedStatus?: string;
}

/** Failure types of scheduledApsJobRun besides those of the run itself. */
export const ScheduledRunFailureTypes = {
  /** The job's supervisor is open: a scheduled action never starts a run beside it. */
  OrchestratorConflict: 'OrchestratorConflict',
  /** The run a `allow-all` action joined did not complete (failed, cancelled, terminated, timed out). */
  JoinedRunNotCompleted: 'JoinedRunNotCompleted',
} as const;

/** The default schedule ID of a job: one schedule per job unless the caller names another. */
export function jobScheduleId(regionId: string, apsJobId: string): string {
  return `aps-schedule:${regionId}:${apsJobId}`;
}

/**
 * The workflow ID prefix of a schedule's actions (the server appends the scheduled time); the
 * job's run itself keeps {@link jobWorkflowId}.
 */
export function scheduledWorkflowId(regionId: string, apsJobId: string): string {
  return `aps-scheduled:${regionId}:${apsJobId}`;
}
