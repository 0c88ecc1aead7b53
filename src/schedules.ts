/**
 * Schedules of a job's runs (Temporal Schedules): create, list, describe, pause, unpause, trigger,
 * backfill, delete. Each action starts {@link scheduledApsJobRun}, which starts the job's run
 * under the job's own workflow ID, so a scheduled run and a manual one are never open at once.
 */
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  WorkflowFailedError,
  type Client,
  type ScheduleHandle,
  type ScheduleOverlapPolicy,
} from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, type SearchAttributePair } from '@temporalio/common';
import {
  ApsJobIdKey,
  ApsRegionKey,
  jobScheduleId,
  SCHEDULE_OVERLAPS,
  scheduledWorkflowId,
  type DurationInput,
  type RunApsJobInput,
  type ScheduledApsJobRunInput,
  type ScheduledApsJobRunResult,
  type ScheduleOverlap,
} from './api';
import { inputHash, isUnregisteredSearchAttribute } from './client-support';
import { normalizeRunInput } from './input';
import { describeValue, InputValidationError, parseDuration, validateEnum } from './validation';
import { scheduledApsJobRun } from './workflows/scheduled-aps-job-run';

/** The schedule memo key that records what the schedule is for (region, job, cron, overlap). */
export const SCHEDULE_MEMO_KEY = 'apsSchedule';

/** What a job schedule records about itself in its memo. */
export interface JobScheduleMemo {
  /** Region. */
  regionId: string;
  /** The job ID. */
  apsJobId: string;
  /** The cron expression as given (the server keeps it only as calendars). */
  cron: string;
  /** IANA time zone of the cron expression (absent: UTC). */
  timezone?: string;
  /** The overlap policy. */
  overlap: ScheduleOverlap;
}

/** Input of {@link createJobSchedule}. */
export interface CreateJobScheduleInput {
  /** The run each action starts (runApsJob's input; validated as a manual start's). */
  run: RunApsJobInput;
  /** A cron expression, e.g. `0 2 * * *` (validated by the server). */
  cron: string;
  /** IANA time zone of the cron expression, e.g. `Asia/Shanghai` (default UTC). */
  timezone?: string;
  /** What an action does when the job's run is open (default `skip`). */
  overlap?: ScheduleOverlap;
  /** How late after a missed time (server down) an action is still taken (default 1m; at least 10s). */
  catchupWindow?: DurationInput;
  /** The schedule ID (default `aps-schedule:<region>:<jobId>`: one schedule per job). */
  scheduleId?: string;
  /** A note kept with the schedule's state. */
  note?: string;
  /** Create it paused. */
  paused?: boolean;
}

/** Options of {@link createJobSchedule}. */
export interface CreateJobScheduleOptions {
  /** Task queue of the workers. */
  taskQueue: string;
  /** Set the ApsJobId/ApsRegion search attributes on the actions (default: when the server has them). */
  searchAttributes?: boolean;
}

/** A schedule with that ID exists already; nothing was changed. */
export class ScheduleExistsError extends Error {
  override readonly name = 'ScheduleExistsError';
  constructor(readonly scheduleId: string) {
    super(
      `schedule ${scheduleId} already exists; delete it first (aps-jobs schedule delete ${scheduleId}) ` +
        'or pass another --id',
    );
  }
}

/** The server refused the schedule's spec (cron expression or time zone). */
export class ScheduleSpecError extends Error {
  override readonly name = 'ScheduleSpecError';
  constructor(
    readonly cron: string,
    readonly reason: string,
  ) {
    super(`Invalid cron: the server refused ${JSON.stringify(cron)}: ${reason} (e.g. '0 2 * * *')`);
  }
}

/** No schedule with that ID (or it is not a job schedule). */
export class JobScheduleNotFoundError extends Error {
  override readonly name = 'JobScheduleNotFoundError';
  constructor(readonly scheduleId: string) {
    super(`no job schedule ${scheduleId} (aps-jobs schedule list shows them)`);
  }
}

const OVERLAP_POLICIES: Record<ScheduleOverlap, ScheduleOverlapPolicy> = {
  skip: 'SKIP',
  'buffer-one': 'BUFFER_ONE',
  'cancel-other': 'CANCEL_OTHER',
  'allow-all': 'ALLOW_ALL',
};

/** The server's shortest catchup window. */
const CATCHUP_MIN_MS = 10_000;
/** Default catchup window (the server's own default is a year; a late batch run is rarely wanted). */
export const DEFAULT_CATCHUP_WINDOW = '1m';

/** Validates an IANA time zone name (the server checks it again against its own database). */
export function validateTimezone(value: unknown, field = 'timezone'): string {
  const form = 'an IANA time zone like Asia/Shanghai or UTC';
  if (typeof value !== 'string' || value.trim() === '')
    throw new InputValidationError(field, form, describeValue(value));
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
  } catch {
    throw new InputValidationError(field, form, describeValue(value));
  }
  return value;
}

/** Validates a cron expression's form; the server parses it. */
function validateCron(value: unknown): string {
  const form = "a cron expression like '0 2 * * *' (minute hour day-of-month month day-of-week)";
  if (typeof value !== 'string' || value.trim() === '' || /[\n\r]/.test(value)) {
    throw new InputValidationError('cron', form, describeValue(value));
  }
  if (/^\s*(CRON_TZ|TZ)=/.test(value)) {
    throw new InputValidationError(
      'cron',
      `${form}; give the time zone with --timezone`,
      describeValue(value),
    );
  }
  return value.trim();
}

/** Validates a schedule ID given by the caller. */
function validateScheduleId(value: unknown, field = 'scheduleId'): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 200 || /[\s\p{C}]/u.test(value)) {
    throw new InputValidationError(
      field,
      'a schedule ID (1 to 200 characters, no whitespace or control characters)',
      describeValue(value),
    );
  }
  return value;
}

/** Parses an ISO-8601 time (`2025-01-31T02:00:00Z`, `2025-01-31T10:00+08:00`, `2025-01-31`). */
export function parseIsoTime(value: unknown, field: string): Date {
  const form = 'an ISO-8601 time like 2025-01-31T02:00:00Z or 2025-01-31T10:00:00+08:00';
  if (
    typeof value !== 'string' ||
    !/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)
  ) {
    throw new InputValidationError(field, form, describeValue(value));
  }
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new InputValidationError(field, form, describeValue(value));
  return new Date(ms);
}

/** A job schedule's input, validated, as it will be created. */
export interface NormalizedJobSchedule {
  /** The schedule ID. */
  scheduleId: string;
  /** What the schedule records about itself. */
  memo: JobScheduleMemo;
  /** The catchup window, ms. */
  catchupWindowMs: number;
  /** The wrapper's input. */
  action: ScheduledApsJobRunInput;
}

/**
 * Validates a schedule's input as the CLI and {@link createJobSchedule} do, before any call: the
 * run's input with {@link normalizeRunInput}, the overlap, the time zone, the catchup window.
 */
export function normalizeJobSchedule(input: CreateJobScheduleInput): NormalizedJobSchedule {
  const cfg = normalizeRunInput(input.run);
  const cron = validateCron(input.cron);
  const timezone = input.timezone === undefined ? undefined : validateTimezone(input.timezone);
  const overlap = validateEnum(input.overlap ?? 'skip', 'overlap', SCHEDULE_OVERLAPS);
  const catchupWindowMs = parseDuration(input.catchupWindow ?? DEFAULT_CATCHUP_WINDOW, 'catchupWindow', {
    minMs: CATCHUP_MIN_MS,
    maxMs: 366 * 86_400_000,
  });
  const scheduleId =
    input.scheduleId === undefined
      ? jobScheduleId(cfg.regionId, cfg.apsJobId)
      : validateScheduleId(input.scheduleId);
  return {
    scheduleId,
    memo: {
      regionId: cfg.regionId,
      apsJobId: cfg.apsJobId,
      cron,
      ...(timezone ? { timezone } : {}),
      overlap,
    },
    catchupWindowMs,
    // The hash lets a manual start with the same input join a scheduled run (and refuses another).
    action: { run: input.run, overlap, inputHash: inputHash('runApsJob', cfg) },
  };
}

/** A created schedule. */
export interface CreatedJobSchedule {
  /** The schedule ID. */
  scheduleId: string;
  /** The next action times the server computed (up to 5). */
  nextRuns: Date[];
  /** Whether the actions carry the search attributes. */
  searchAttributes: boolean;
}

/**
 * Validates the input (throws InputValidationError before any call), then creates the schedule.
 * Throws {@link ScheduleExistsError} when the ID is taken, {@link ScheduleSpecError} when the
 * server refuses the cron expression or time zone.
 */
export async function createJobSchedule(
  client: Client,
  input: CreateJobScheduleInput,
  opts: CreateJobScheduleOptions,
): Promise<CreatedJobSchedule> {
  const s = normalizeJobSchedule(input);
  const create = (typedSearchAttributes: SearchAttributePair[] | undefined) =>
    client.schedule.create({
      scheduleId: s.scheduleId,
      spec: { cronExpressions: [s.memo.cron], ...(s.memo.timezone ? { timezone: s.memo.timezone } : {}) },
      action: {
        type: 'startWorkflow',
        workflowType: scheduledApsJobRun,
        args: [s.action],
        taskQueue: opts.taskQueue,
        workflowId: scheduledWorkflowId(s.memo.regionId, s.memo.apsJobId),
        ...(typedSearchAttributes ? { typedSearchAttributes } : {}),
      },
      policies: { overlap: OVERLAP_POLICIES[s.memo.overlap], catchupWindow: s.catchupWindowMs },
      state: { paused: input.paused === true, ...(input.note ? { note: input.note } : {}) },
      memo: { [SCHEDULE_MEMO_KEY]: s.memo },
    });
  const wanted = opts.searchAttributes ?? true;
  const attributes: SearchAttributePair[] = [
    { key: ApsJobIdKey, value: s.memo.apsJobId },
    { key: ApsRegionKey, value: s.memo.regionId },
  ];
  let handle: ScheduleHandle;
  let searchAttributes = wanted;
  try {
    try {
      handle = await create(wanted ? attributes : undefined);
    } catch (err) {
      if (!(wanted && opts.searchAttributes === undefined && isUnregisteredSearchAttribute(err))) throw err;
      handle = await create(undefined);
      searchAttributes = false;
    }
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) throw new ScheduleExistsError(s.scheduleId);
    const spec = specRefusal(err);
    if (spec) throw new ScheduleSpecError(s.memo.cron, spec);
    throw err;
  }
  const desc = await handle.describe();
  return { scheduleId: s.scheduleId, nextRuns: desc.info.nextActionTimes.slice(0, 5), searchAttributes };
}

/**
 * The server's reason when it refused the spec (cron or time zone). The SDK turns the server's
 * `INVALID_ARGUMENT: Invalid schedule spec: <reason>` into a TypeError carrying the reason.
 */
function specRefusal(err: unknown): string | undefined {
  if (err instanceof TypeError && !/^Missing /.test(err.message)) return err.message.split('\n')[0];
  const e = err as { code?: number; message?: string };
  const m = /INVALID_ARGUMENT: Invalid schedule spec: (.*)/.exec(e.message ?? '');
  return m?.[1];
}

/** One recent action of a schedule, with what it did. */
export interface ScheduledActionView {
  /** When the action was due. */
  scheduledAt: Date;
  /** When the server took it. */
  takenAt: Date;
  /** The wrapper workflow (`aps-scheduled:<region>:<jobId>-<time>`). */
  workflowId: string;
  /** Its run ID. */
  runId: string;
  /** The wrapper's execution status (RUNNING, COMPLETED, FAILED, CANCELLED, …). */
  status: string;
  /** What it did, once completed: started, joined or skipped the job's run. */
  action?: ScheduledApsJobRunResult['action'];
  /** The job's run it started, joined or skipped. */
  jobRunId?: string;
  /** Why it did not start the run itself, or why it failed (type: message). */
  reason?: string;
}

/** What {@link describeJobSchedule} answers. */
export interface JobScheduleView {
  /** The schedule ID. */
  scheduleId: string;
  /** Region, job, cron, time zone, overlap (from the schedule's memo). */
  schedule?: JobScheduleMemo;
  /** The catchup window, ms. */
  catchupWindowMs: number;
  /** Paused. */
  paused: boolean;
  /** The note of the last pause or unpause. */
  note?: string;
  /** The next run times (up to 5). */
  nextRuns: Date[];
  /** Actions taken so far. */
  actionsTaken: number;
  /** Actions the schedule skipped because its previous action was still open (overlap skip). */
  skippedOverlap: number;
  /** Actions missed beyond the catchup window. */
  missedCatchupWindow: number;
  /** Wrapper workflows open now. */
  running: { workflowId: string; runId: string }[];
  /** Recent actions, newest first (the server keeps the last 10). */
  recent: ScheduledActionView[];
}

function jobScheduleHandle(client: Client, scheduleId: string): ScheduleHandle {
  validateScheduleId(scheduleId);
  return client.schedule.getHandle(scheduleId);
}

function notFound<T>(scheduleId: string): (err: unknown) => T {
  return (err: unknown) => {
    if (err instanceof ScheduleNotFoundError) throw new JobScheduleNotFoundError(scheduleId);
    throw err;
  };
}

/** Describes a schedule: its spec, state, next runs and its recent actions with their outcome. */
export async function describeJobSchedule(client: Client, scheduleId: string): Promise<JobScheduleView> {
  const handle = jobScheduleHandle(client, scheduleId);
  const desc = await handle.describe().catch(notFound<never>(scheduleId));
  const memo = desc.memo?.[SCHEDULE_MEMO_KEY] as JobScheduleMemo | undefined;
  const recent = await Promise.all(
    [...desc.info.recentActions]
      .sort((a, b) => b.scheduledAt.getTime() - a.scheduledAt.getTime())
      .map((r) => actionView(client, r.scheduledAt, r.takenAt, r.action.workflow)),
  );
  return {
    scheduleId,
    ...(memo ? { schedule: memo } : {}),
    catchupWindowMs: desc.policies.catchupWindow,
    paused: desc.state.paused,
    ...(desc.state.note ? { note: desc.state.note } : {}),
    nextRuns: desc.info.nextActionTimes.slice(0, 5),
    actionsTaken: desc.info.numActionsTaken,
    skippedOverlap: desc.info.numActionsSkippedOverlap,
    missedCatchupWindow: desc.info.numActionsMissedCatchupWindow,
    running: desc.info.runningActions.map((a) => ({
      workflowId: a.workflow.workflowId,
      runId: a.workflow.firstExecutionRunId,
    })),
    recent,
  };
}

async function actionView(
  client: Client,
  scheduledAt: Date,
  takenAt: Date,
  wf: { workflowId: string; firstExecutionRunId: string },
): Promise<ScheduledActionView> {
  const view: ScheduledActionView = {
    scheduledAt,
    takenAt,
    workflowId: wf.workflowId,
    runId: wf.firstExecutionRunId,
    status: 'UNKNOWN',
  };
  const handle = client.workflow.getHandle<typeof scheduledApsJobRun>(wf.workflowId, wf.firstExecutionRunId);
  try {
    view.status = (await handle.describe()).status.name;
    if (view.status === 'COMPLETED') {
      const r = await handle.result();
      view.action = r.action;
      view.jobRunId = r.runId;
      if (r.reason) view.reason = r.reason;
    } else if (view.status === 'FAILED') {
      await handle.result().catch((err: unknown) => {
        const cause: Error | undefined = err instanceof WorkflowFailedError ? err.cause : undefined;
        // The run's own failure sits below a child-workflow failure.
        const below = (cause as { cause?: unknown } | undefined)?.cause;
        const root = cause instanceof ApplicationFailure || !(below instanceof Error) ? cause : below;
        if (root instanceof CancelledFailure) {
          view.reason = 'CancelledFailure: the job run was cancelled';
        } else if (root) {
          const type = root instanceof ApplicationFailure ? root.type : root.name;
          view.reason = `${type ? `${type}: ` : ''}${root.message.split('\n')[0] ?? ''}`;
        }
      });
    }
  } catch {
    // Gone (retention) or unreadable: the status stays UNKNOWN.
  }
  return view;
}

/** A job schedule in a list. */
export interface JobScheduleSummary {
  /** The schedule ID. */
  scheduleId: string;
  /** Region, job, cron, time zone, overlap. */
  schedule?: JobScheduleMemo;
  /** Paused. */
  paused: boolean;
  /** The next run time. */
  nextRun?: Date;
  /** When the last action was due. */
  lastRun?: Date;
}

/** Lists the job schedules (those whose action is scheduledApsJobRun). */
export async function listJobSchedules(client: Client): Promise<JobScheduleSummary[]> {
  const out: JobScheduleSummary[] = [];
  for await (const s of client.schedule.list()) {
    if (s.action?.workflowType !== 'scheduledApsJobRun') continue;
    const memo = s.memo?.[SCHEDULE_MEMO_KEY] as JobScheduleMemo | undefined;
    const last = s.info.recentActions.at(-1);
    out.push({
      scheduleId: s.scheduleId,
      ...(memo ? { schedule: memo } : {}),
      paused: s.state.paused,
      ...(s.info.nextActionTimes[0] ? { nextRun: s.info.nextActionTimes[0] } : {}),
      ...(last ? { lastRun: last.scheduledAt } : {}),
    });
  }
  return out.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}

/** Pauses a schedule (no actions until unpaused; trigger and backfill still act). */
export async function pauseJobSchedule(client: Client, scheduleId: string, note?: string): Promise<void> {
  const handle = jobScheduleHandle(client, scheduleId);
  await handle.pause(note ?? 'paused with aps-jobs').catch(notFound(scheduleId));
}

/** Unpauses a schedule. */
export async function unpauseJobSchedule(client: Client, scheduleId: string, note?: string): Promise<void> {
  const handle = jobScheduleHandle(client, scheduleId);
  await handle.unpause(note ?? 'unpaused with aps-jobs').catch(notFound(scheduleId));
}

/**
 * Takes one action now, under the schedule's own overlap policy. (The SDK's trigger without a
 * policy sends allow-all, which would start an action beside an open one.)
 */
export async function triggerJobSchedule(client: Client, scheduleId: string): Promise<void> {
  const handle = jobScheduleHandle(client, scheduleId);
  const { policies } = await handle.describe().catch(notFound<never>(scheduleId));
  await handle.trigger(policies.overlap).catch(notFound(scheduleId));
}

/** Deletes a schedule; its open actions (and the job runs they started) go on. */
export async function deleteJobSchedule(client: Client, scheduleId: string): Promise<void> {
  const handle = jobScheduleHandle(client, scheduleId);
  await handle.delete().catch(notFound(scheduleId));
}

/**
 * Takes the actions the schedule would have taken between `from` and `to` (ISO-8601 times), under
 * the schedule's overlap policy. Throws InputValidationError when a time is not ISO-8601 or
 * `from` is not before `to`.
 */
export async function backfillJobSchedule(
  client: Client,
  scheduleId: string,
  range: { from: string | Date; to: string | Date },
): Promise<{ from: Date; to: Date }> {
  const from = range.from instanceof Date ? range.from : parseIsoTime(range.from, 'from');
  const to = range.to instanceof Date ? range.to : parseIsoTime(range.to, 'to');
  if (!(from.getTime() < to.getTime())) {
    throw new InputValidationError('to', `a time after from (${from.toISOString()})`, to.toISOString());
  }
  const handle = jobScheduleHandle(client, scheduleId);
  await handle.backfill({ start: from, end: to }).catch(notFound(scheduleId));
  return { from, to };
}
