/**
 * The reconciler's Temporal Schedule: one per region (`aps-fleet:<region>`), created or updated by
 * `aps-jobs fleet reconcile`, read back by `aps-jobs fleet status`.
 */
import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  WorkflowNotFoundError,
  type Client,
  type ScheduleHandle,
} from '@temporalio/client';
import { fleetScheduleId, fleetStatusQuery, type FleetSummary, type ReconcileApsFleetInput } from './api';
import { normalizeReconcileInput } from './input';
import { InputValidationError, parseDuration } from './validation';
import { reconcileApsFleet } from './workflows/reconcile-aps-fleet';

/** Bounds of the schedule's interval. */
export const FLEET_EVERY_BOUNDS = { minMs: 60_000, maxMs: 7 * 86_400_000 };
/** Default interval of the schedule. */
export const FLEET_DEFAULT_EVERY = '10m';

/** Options of {@link upsertFleetSchedule}. */
export interface FleetScheduleOptions {
  /** Task queue of the workers. */
  taskQueue: string;
  /** The interval (default `10m`, 1m–7d). */
  every?: string;
  /** Also start one run now. */
  runNow?: boolean;
}

/** What {@link upsertFleetSchedule} did. */
export interface FleetScheduleResult {
  /** The schedule ID. */
  scheduleId: string;
  /** `created`, or `updated` when the region had a schedule already. */
  action: 'created' | 'updated';
  /** The interval, ms. */
  everyMs: number;
  /** When the next runs are due. */
  nextRuns: Date[];
}

/**
 * Creates the region's reconciler schedule, or replaces the spec and input of the one it has.
 * The input is validated first (an {@link InputValidationError} names the field). Runs never
 * overlap: a run still going when the next is due makes that one skip.
 */
export async function upsertFleetSchedule(
  client: Client,
  input: ReconcileApsFleetInput,
  opts: FleetScheduleOptions,
): Promise<FleetScheduleResult> {
  const cfg = normalizeReconcileInput(input);
  if (input.carried !== undefined) {
    throw new InputValidationError('carried', 'nothing (set by the reconciler itself)', 'a value');
  }
  const everyMs = parseDuration(opts.every ?? FLEET_DEFAULT_EVERY, 'every', FLEET_EVERY_BOUNDS);
  const scheduleId = fleetScheduleId(cfg.regionId);
  const spec = { intervals: [{ every: everyMs }] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: reconcileApsFleet,
    args: [input] as [ReconcileApsFleetInput],
    taskQueue: opts.taskQueue,
    workflowId: scheduleId,
  };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP };
  let handle: ScheduleHandle;
  let result: FleetScheduleResult['action'] = 'created';
  try {
    handle = await client.schedule.create({
      scheduleId,
      spec,
      action,
      policies,
      state: { triggerImmediately: opts.runNow === true },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    handle = client.schedule.getHandle(scheduleId);
    await handle.update((prev) => ({ ...prev, spec, action, policies: { ...prev.policies, ...policies } }));
    if (opts.runNow) await handle.trigger();
    result = 'updated';
  }
  const desc = await handle.describe();
  return { scheduleId, action: result, everyMs, nextRuns: desc.info.nextActionTimes };
}

/** What `aps-jobs fleet status` shows. */
export interface FleetStatusView {
  /** The schedule ID. */
  scheduleId: string;
  /** Whether the schedule is paused. */
  paused: boolean;
  /** When the next runs are due. */
  nextRuns: Date[];
  /** The latest run the schedule started, when there was one. */
  last?: {
    /** Its workflow ID. */
    workflowId: string;
    /** When it was started. */
    startedAt: Date;
    /** Temporal's execution status of its latest run (after continue-as-new, the last one). */
    executionStatus: string;
    /** The summary: the result when it completed, the query's answer while it runs. */
    summary?: FleetSummary;
    /** Why it failed, when it did. */
    failure?: string;
  };
}

/**
 * The region's schedule and its latest run: the summary it returned (or is building, through the
 * `fleetStatus` query). Throws the SDK's ScheduleNotFoundError when the region has no schedule.
 */
export async function fleetScheduleStatus(client: Client, regionId: string): Promise<FleetStatusView> {
  const scheduleId = fleetScheduleId(regionId);
  const desc = await client.schedule.getHandle(scheduleId).describe();
  const view: FleetStatusView = {
    scheduleId,
    paused: desc.state.paused,
    nextRuns: desc.info.nextActionTimes,
  };
  const latest = [...desc.info.recentActions].sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime())[0];
  if (!latest) return view;
  const { workflowId } = latest.action.workflow;
  // Without a run ID the handle follows the chain to its latest run (continue-as-new).
  const handle = client.workflow.getHandle<typeof reconcileApsFleet>(workflowId);
  let executionStatus = 'UNKNOWN';
  let summary: FleetSummary | undefined;
  let failure: string | undefined;
  try {
    const d = await handle.describe();
    executionStatus = d.status.name;
    if (executionStatus === 'COMPLETED') summary = await handle.result();
    else if (executionStatus === 'RUNNING') summary = await handle.query(fleetStatusQuery);
    else if (executionStatus === 'FAILED') {
      await handle.result().catch((err: unknown) => {
        const cause = (err as { cause?: unknown }).cause;
        failure = cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err);
      });
    }
  } catch (err) {
    // Past the namespace's retention the run is gone; the schedule still says when it ran.
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  view.last = {
    workflowId,
    startedAt: latest.takenAt,
    executionStatus,
    ...(summary ? { summary } : {}),
    ...(failure !== undefined ? { failure } : {}),
  };
  return view;
}

/** A summary as the few lines `fleet status` and the README show. */
export function formatFleetSummary(s: FleetSummary): string {
  const ids = (list: string[], total: number): string =>
    list.length === 0 ? '' : `: ${list.join(', ')}${total > list.length ? ', …' : ''}`;
  const lines = [
    `region ${s.regionId}, mode ${s.mode}, phase ${s.phase}, run ${s.run}`,
    `seen ${s.seen}, matched ${s.matched}, adopted ${s.adopted}, orphansFailed ${s.orphansFailed}, gone ${s.gone}`,
    `already supervised ${s.alreadySupervised}, busy with a run ${s.busy}`,
  ];
  if (s.mode === 'report') lines.push(`would adopt ${s.wouldAdopt}${ids(s.wouldAdoptJobIds, s.wouldAdopt)}`);
  if (s.adoptedJobIds.length > 0) lines.push(`adopted${ids(s.adoptedJobIds, s.adopted)}`);
  for (const o of s.orphans) {
    lines.push(
      `orphan ${o.apsJobId} (${o.apsJobName ?? '-'}): ${o.status ?? '?'}${o.errMessage ? `: ${o.errMessage}` : ''}`,
    );
  }
  for (const g of s.goneSupervisors) {
    lines.push(`gone ${g.apsJobId}: supervisor ${g.workflowId} ${g.ended ? 'cancelled' : 'left open'}`);
  }
  for (const e of s.errors) lines.push(`error ${e.apsJobId}: ${e.code}: ${e.message}`);
  return lines.join('\n');
}
