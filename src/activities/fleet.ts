/**
 * The reconciler's activities: list a region's jobs and join them with Temporal's view (a scan),
 * start supervisors for the jobs it adopts, and end supervisors whose job is gone. They reach
 * Temporal through the worker's own client (`Context.current().client`), or the one given in deps.
 */
import { activityInfo, Context, log } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import {
  FLEET_LIST_LIMIT,
  jobWorkflowId,
  supervisorWorkflowId,
  type FleetJobNote,
  type FleetSupervisorSettings,
} from '../api';
import type { ApsApi, StatusClass } from '../aps/types';
import {
  cancelSupervisor,
  ConflictingRunError,
  openRunId,
  OrchestratorConflictError,
  startSupervisor,
  WorkflowNotFoundError,
} from '../client';
import { listAllJobs, orchestrationKind, orchestrationsIn } from '../fleet';
import { normalizeFleetSelector, selectorMatches } from '../input';
import { resolveRules } from '../retry';
import type { RetryRule } from '../retry/types';
import { InputValidationError, validateRegionId } from '../validation';
import { invalidInputFailure, toApsError } from './failures';

/** Dependencies of the fleet activities. */
export interface FleetActivityDeps {
  /** The APS API. */
  aps: ApsApi;
  /** Worker-wide rules, placed before the defaults when a page of the listing fails. */
  workerRules?: RetryRule[];
  /** The Temporal client (default: the worker's, from the activity context). */
  temporal?: () => Client;
}

/** Input of {@link FleetActivities.scanApsFleet}. */
export interface ScanApsFleetInput {
  /** Region. */
  regionId: string;
  /** The selector (validated again here). */
  selector: unknown;
  /** Most candidates returned (the run's adoption budget). */
  maxCandidates: number;
}

/** Result of {@link FleetActivities.scanApsFleet}: counts, and bounded lists. */
export interface ScanApsFleetResult {
  /** Jobs listed. */
  seen: number;
  /** Jobs the selector matches. */
  matched: number;
  /** Matched jobs with an open supervisor. */
  alreadySupervised: number;
  /** Matched jobs with an open runApsJob and no supervisor. */
  busy: number;
  /**
   * Matched jobs with no supervisor and no run, in listing order, at most `maxCandidates`;
   * `orphan` when the job is failed or stopped (it is among `orphans` too).
   */
  candidates: (FleetJobNote & { orphan: boolean })[];
  /** How many there are in all. */
  candidatesTotal: number;
  /** Failed or stopped jobs with nothing open on them (the first {@link FLEET_LIST_LIMIT}). */
  orphans: FleetJobNote[];
  /** How many there are in all. */
  orphansTotal: number;
  /** Open supervisors whose job is not in the listing (the first {@link FLEET_LIST_LIMIT}). */
  gone: { apsJobId: string; workflowId: string }[];
  /** How many there are in all. */
  goneTotal: number;
}

/** Input of {@link FleetActivities.adoptApsJobs}. */
export interface AdoptApsJobsInput {
  /** Region. */
  regionId: string;
  /** The jobs to adopt. */
  apsJobIds: string[];
  /** Settings of their supervisors. */
  supervisor: FleetSupervisorSettings;
}

/** What became of one job of {@link AdoptApsJobsInput}. */
export type AdoptionOutcome =
  | { apsJobId: string; outcome: 'adopted' | 'supervised' | 'busy' }
  | { apsJobId: string; outcome: 'error'; code: string; message: string };

/** Input of {@link FleetActivities.endGoneSupervisors}. */
export interface EndGoneSupervisorsInput {
  /** Region. */
  regionId: string;
  /** The jobs whose supervisors to cancel. */
  apsJobIds: string[];
}

function note(j: {
  apsJobId: string;
  apsJobName?: string;
  status?: string;
  errMessage?: string;
}): FleetJobNote {
  return {
    apsJobId: j.apsJobId,
    ...(j.apsJobName !== undefined ? { apsJobName: j.apsJobName } : {}),
    ...(j.status !== undefined ? { status: j.status } : {}),
    ...(j.errMessage !== undefined ? { errMessage: j.errMessage } : {}),
  };
}

/** A job that is not running and will not run by itself. */
const isDown = (c: StatusClass): boolean => c === 'failed' || c === 'stopped';

/**
 * Sleeps in steps of at most 10 s, heartbeating between them, so that a long delay (throttling)
 * is not taken for a dead worker.
 */
async function sleepHeartbeating(ctx: Context, ms: number, details: unknown): Promise<void> {
  for (let left = ms; left > 0; left -= 10_000) {
    await ctx.sleep(Math.min(left, 10_000));
    ctx.heartbeat(details);
  }
}

/** Whether the job's supervisor or run is open, asked of the server (not of visibility). */
async function openOrchestrator(
  client: Client,
  regionId: string,
  apsJobId: string,
): Promise<'supervisor' | 'run' | undefined> {
  const isOpen = async (workflowId: string): Promise<boolean> =>
    (await openRunId(client, workflowId)) !== undefined;
  if (await isOpen(supervisorWorkflowId(regionId, apsJobId))) return 'supervisor';
  if (await isOpen(jobWorkflowId(regionId, apsJobId))) return 'run';
  return undefined;
}

/** Creates the fleet activities. */
export function createFleetActivities(deps: FleetActivityDeps) {
  const temporal = deps.temporal ?? (() => Context.current().client);
  const rules = resolveRules({ workerRules: deps.workerRules });

  const validated = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof InputValidationError) throw invalidInputFailure(err);
      throw err;
    }
  };

  return {
    /**
     * Lists every job of the region (all pages; a failed page is retried in process under the
     * retry rules, heartbeating) and joins it with the open workflows of the region. Returns what
     * the reconciler needs, never the whole listing: counts and bounded lists.
     */
    async scanApsFleet(input: ScanApsFleetInput): Promise<ScanApsFleetResult> {
      const { regionId, selector } = validated(() => ({
        regionId: validateRegionId(input.regionId),
        selector: normalizeFleetSelector(input.selector),
      }));
      const ctx = Context.current();
      let page = 0;
      let listing;
      try {
        listing = await listAllJobs(deps.aps, regionId, {
          rules,
          sleep: (ms) => sleepHeartbeating(ctx, ms, { pageNumber: page }),
          onPage: (p) => ctx.heartbeat({ pageNumber: (page = p.pageNumber) }),
          onRetry: (r) => {
            ctx.heartbeat({ pageNumber: r.pageNumber, retrying: r.code });
            log.warn('DescribeApsJobs failed: retrying the page', { ...r });
          },
        });
      } catch (err) {
        const error = toApsError(err);
        // The rules already gave up, in process: another attempt would only start them over.
        throw ApplicationFailure.create({
          type: error.code,
          message: `DescribeApsJobs: ${error.message}`,
          nonRetryable: true,
          details: [{ code: error.code, httpStatus: error.httpStatus, requestId: error.requestId }],
        });
      }
      const client = temporal();
      const orchestrations = await orchestrationsIn(client, regionId);
      const ids = new Set(listing.jobs.map((j) => j.apsJobId));
      const result: ScanApsFleetResult = {
        seen: listing.jobs.length,
        matched: 0,
        alreadySupervised: 0,
        busy: 0,
        candidates: [],
        candidatesTotal: 0,
        orphans: [],
        orphansTotal: 0,
        gone: [],
        goneTotal: 0,
      };
      for (const job of listing.jobs) {
        const o = orchestrations.get(job.apsJobId);
        let kind = orchestrationKind(o);
        if (selectorMatches(selector, job)) {
          result.matched += 1;
          if (o?.supervisor) result.alreadySupervised += 1;
          else if (o?.run) result.busy += 1;
          else if (result.candidates.length < input.maxCandidates) {
            // Visibility lags the server: a supervisor started a moment ago (by the previous run,
            // before a continue-as-new) may be missing from it. The candidates handed on are
            // checked against the server itself, so a run's budget goes to jobs that need it.
            const open = await openOrchestrator(client, regionId, job.apsJobId);
            if (open === 'supervisor') result.alreadySupervised += 1;
            else if (open === 'run') result.busy += 1;
            else {
              result.candidatesTotal += 1;
              result.candidates.push({ ...note(job), orphan: isDown(job.statusClass) });
            }
            if (open !== undefined) kind = open;
          } else {
            result.candidatesTotal += 1;
          }
        }
        if (kind === 'none' && isDown(job.statusClass)) {
          result.orphansTotal += 1;
          if (result.orphans.length < FLEET_LIST_LIMIT) result.orphans.push(note(job));
        }
      }
      for (const [apsJobId, o] of orchestrations) {
        if (!o.supervisor || ids.has(apsJobId)) continue;
        result.goneTotal += 1;
        if (result.gone.length < FLEET_LIST_LIMIT) {
          result.gone.push({ apsJobId, workflowId: o.supervisor.workflowId });
        }
      }
      log.info('fleet scanned', {
        regionId,
        pages: listing.pages,
        seen: result.seen,
        matched: result.matched,
        candidates: result.candidatesTotal,
        orphans: result.orphansTotal,
        gone: result.goneTotal,
      });
      return result;
    },

    /**
     * Starts a supervisor for each job, through the same helper as `aps-jobs supervise`: its own
     * workflow ID (one supervisor per job, so a repeated adoption joins rather than doubles), the
     * input hash in its memo, the search attributes, and the refusal while the job's runApsJob is
     * open. A job whose supervisor is already open counts as `supervised`, not adopted. Outcomes
     * so far travel in the heartbeat, so a retried attempt neither repeats nor loses them.
     */
    async adoptApsJobs(input: AdoptApsJobsInput): Promise<AdoptionOutcome[]> {
      const regionId = validated(() => validateRegionId(input.regionId));
      const client = temporal();
      const taskQueue = activityInfo().taskQueue;
      const prior = activityInfo().heartbeatDetails as { done?: AdoptionOutcome[] } | undefined;
      const done: AdoptionOutcome[] = Array.isArray(prior?.done) ? prior.done : [];
      for (const apsJobId of input.apsJobIds) {
        if (done.some((d) => d.apsJobId === apsJobId)) continue;
        let outcome: AdoptionOutcome;
        try {
          if ((await openOrchestrator(client, regionId, apsJobId)) === 'supervisor') {
            outcome = { apsJobId, outcome: 'supervised' };
          } else {
            await startSupervisor(client, { ...input.supervisor, regionId, apsJobId }, { taskQueue });
            outcome = { apsJobId, outcome: 'adopted' };
            log.info('supervisor started', { apsJobId });
          }
        } catch (err) {
          if (err instanceof OrchestratorConflictError) outcome = { apsJobId, outcome: 'busy' };
          // Started meanwhile by someone else with other settings: supervised all the same.
          else if (err instanceof ConflictingRunError) outcome = { apsJobId, outcome: 'supervised' };
          else if (err instanceof InputValidationError) throw invalidInputFailure(err);
          else {
            const message = err instanceof Error ? err.message : String(err);
            const code = err instanceof Error ? err.name : 'Error';
            log.warn('could not start a supervisor', { apsJobId, code, message });
            outcome = { apsJobId, outcome: 'error', code, message };
          }
        }
        done.push(outcome);
        Context.current().heartbeat({ done });
      }
      return done;
    },

    /**
     * Cancels the supervisors of jobs that no longer exist, telling them first to leave the job
     * alone (there is nothing to suspend). One already closed is skipped. Returns the job IDs
     * whose supervisor was cancelled.
     */
    async endGoneSupervisors(input: EndGoneSupervisorsInput): Promise<string[]> {
      const regionId = validated(() => validateRegionId(input.regionId));
      const client = temporal();
      const ended: string[] = [];
      for (const apsJobId of input.apsJobIds) {
        try {
          await cancelSupervisor(client, regionId, apsJobId, { suspend: false });
          ended.push(apsJobId);
          log.info('supervisor of a gone job cancelled', { apsJobId });
        } catch (err) {
          // Closed meanwhile (it failed on its own at a check), or a cancel already requested:
          // nothing more to do for it here; the next run sees what is left.
          if (!(err instanceof WorkflowNotFoundError)) {
            log.warn('could not cancel the supervisor of a gone job', {
              apsJobId,
              message: err instanceof Error ? err.message : String(err),
            });
          }
        }
        Context.current().heartbeat({ ended });
      }
      return ended;
    },
  };
}

/** The fleet activities' type. */
export type FleetActivities = ReturnType<typeof createFleetActivities>;
