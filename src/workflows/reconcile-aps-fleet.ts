/**
 * reconcileApsFleet: one pass over a region's jobs, meant to run on a Temporal Schedule. It lists
 * the jobs, starts a supervisor for each matched job that has none (in `supervise` mode), and
 * reports orphans and supervisors whose job is gone.
 */
import { continueAsNew, log, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { invalidInputFailure, workflowFailure } from '../failures';
import {
  FLEET_LIST_LIMIT,
  fleetStatusQuery,
  type FleetCarriedState,
  type FleetPhase,
  type FleetSummary,
  type ReconcileApsFleetInput,
} from '../api';
import { normalizeReconcileInput, type NormalizedReconcileInput } from '../input';
import { InputValidationError } from '../validation';

/** Runs one execution may chain by continue-as-new before it leaves the rest to the next schedule. */
const MAX_RUNS_PER_EXECUTION = 100;

/**
 * Lists the region's jobs (activity `scanApsFleet`), then, in `supervise` mode, starts a supervisor
 * for at most `maxAdoptionsPerRun` matched jobs that have neither a supervisor nor an open run
 * (activity `adoptApsJobs`), and with `endGone` cancels the supervisors whose job is gone
 * (`endGoneSupervisors`). More candidates than that: it continues as new, and the next run lists
 * again (the jobs adopted now have their supervisors, so it picks up the rest). It never starts a
 * job itself: the supervisors do, under their own rules. The summary is the result and the
 * `fleetStatus` query.
 *
 * Supervisors are started from an activity through `startSupervisor`, the helper behind
 * `aps-jobs supervise`, not as child workflows: that way an adopted job gets exactly what a
 * supervisor started by hand gets (the refusal while its runApsJob is open, the input hash in the
 * memo that lets a later `aps-jobs supervise` with the same settings join it, the search attributes
 * with their fallback where the server lacks them), none of which can be built in the workflow
 * sandbox (the hash needs node:crypto). Idempotency does not depend on the reconciler's history
 * either: each supervisor's workflow ID is `aps-supervisor:<region>:<jobId>`, so a second run, a
 * retried activity or a concurrent `aps-jobs supervise` finds it open and joins it. And a child
 * would be tied to a reconciler execution that lasts seconds, and add events per job to its history.
 */
export async function reconcileApsFleet(input: ReconcileApsFleetInput): Promise<FleetSummary> {
  const info = workflowInfo();
  const given = input as Partial<ReconcileApsFleetInput> | undefined;
  const summary: FleetSummary = {
    regionId: String(given?.regionId ?? ''),
    mode: given?.mode === 'supervise' ? 'supervise' : 'report',
    phase: 'validating',
    seen: 0,
    matched: 0,
    adopted: 0,
    orphansFailed: 0,
    gone: 0,
    alreadySupervised: 0,
    busy: 0,
    wouldAdopt: 0,
    adoptedJobIds: [],
    wouldAdoptJobIds: [],
    orphans: [],
    goneSupervisors: [],
    errors: [],
    run: 1,
    startedAt: info.runStartTime.toISOString(),
  };
  setHandler(fleetStatusQuery, () => summary);
  const setPhase = (phase: FleetPhase): void => {
    summary.phase = phase;
  };

  let cfg: NormalizedReconcileInput;
  try {
    cfg = normalizeReconcileInput(input);
  } catch (err) {
    if (err instanceof InputValidationError) {
      setPhase('failed');
      throw invalidInputFailure(err);
    }
    throw err;
  }
  if (cfg.carried) {
    Object.assign(summary, {
      run: cfg.carried.runs + 1,
      adopted: cfg.carried.adopted,
      adoptedJobIds: [...cfg.carried.adoptedJobIds],
      startedAt: cfg.carried.startedAt,
    });
  }

  const retry = { initialInterval: 1000, backoffCoefficient: 2, maximumInterval: 60_000, maximumAttempts: 3 };
  // The listing reads every page and may slow down on throttling (it heartbeats while it waits).
  const { scanApsFleet } = proxyActivities<Activities>({
    startToCloseTimeout: 10 * cfg.activityTimeoutMs,
    heartbeatTimeout: Math.max(60_000, cfg.activityTimeoutMs),
    retry,
  });
  // One supervisor start is a few calls to the server, each bounded by the activity timeout.
  const { adoptApsJobs, endGoneSupervisors } = proxyActivities<Activities>({
    startToCloseTimeout: cfg.activityTimeoutMs + cfg.maxAdoptionsPerRun * 10_000,
    heartbeatTimeout: cfg.activityTimeoutMs,
    retry,
  });

  let more = false;
  try {
    setPhase('listing');
    const scan = await scanApsFleet({
      regionId: cfg.regionId,
      selector: input.selector,
      maxCandidates: cfg.mode === 'supervise' ? cfg.maxAdoptionsPerRun : FLEET_LIST_LIMIT,
    });
    Object.assign(summary, {
      seen: scan.seen,
      matched: scan.matched,
      alreadySupervised: scan.alreadySupervised,
      busy: scan.busy,
      orphansFailed: scan.orphansTotal,
      orphans: scan.orphans,
      gone: scan.goneTotal,
      goneSupervisors: scan.gone.map((g) => ({ ...g, ended: false })),
    });

    if (cfg.mode === 'report') {
      summary.wouldAdopt = scan.candidatesTotal;
      summary.wouldAdoptJobIds = scan.candidates.map((c) => c.apsJobId);
    } else {
      if (scan.candidates.length > 0) {
        setPhase('adopting');
        const outcomes = await adoptApsJobs({
          regionId: cfg.regionId,
          apsJobIds: scan.candidates.map((c) => c.apsJobId),
          supervisor: cfg.supervisor,
        });
        const adoptedNow = new Set<string>();
        for (const o of outcomes) {
          if (o.outcome === 'adopted') adoptedNow.add(o.apsJobId);
          else if (o.outcome === 'supervised') summary.alreadySupervised += 1;
          else if (o.outcome === 'busy') summary.busy += 1;
          else if (o.outcome === 'error') {
            summary.errors.push({ apsJobId: o.apsJobId, code: o.code, message: o.message });
          }
        }
        summary.adopted += adoptedNow.size;
        summary.adoptedJobIds = [...summary.adoptedJobIds, ...adoptedNow].slice(0, FLEET_LIST_LIMIT);
        // An adopted job that was down has a supervisor now: no longer an orphan.
        summary.orphansFailed -= scan.candidates.filter((c) => c.orphan && adoptedNow.has(c.apsJobId)).length;
        summary.orphans = summary.orphans.filter((o) => !adoptedNow.has(o.apsJobId));
        // Only a run that made progress goes on: one whose every start failed leaves the rest to
        // the next scheduled run rather than trying the same jobs again at once.
        more =
          scan.candidatesTotal > scan.candidates.length &&
          adoptedNow.size > 0 &&
          summary.run < MAX_RUNS_PER_EXECUTION;
      }
      if (cfg.endGone && scan.gone.length > 0) {
        setPhase('ending-gone');
        const ended = new Set(
          await endGoneSupervisors({ regionId: cfg.regionId, apsJobIds: scan.gone.map((g) => g.apsJobId) }),
        );
        summary.goneSupervisors = summary.goneSupervisors.map((g) => ({
          ...g,
          ended: ended.has(g.apsJobId),
        }));
      }
    }
  } catch (err) {
    setPhase('failed');
    throw workflowFailure(err, `reconcileApsFleet for ${cfg.regionId}`);
  }

  log.info('fleet reconciled', {
    regionId: cfg.regionId,
    mode: cfg.mode,
    seen: summary.seen,
    matched: summary.matched,
    adopted: summary.adopted,
    orphansFailed: summary.orphansFailed,
    gone: summary.gone,
    run: summary.run,
  });
  if (more) {
    const carried: FleetCarriedState = {
      runs: summary.run,
      adopted: summary.adopted,
      adoptedJobIds: summary.adoptedJobIds,
      startedAt: summary.startedAt,
    };
    log.info('more jobs to adopt: continuing as new', { adopted: summary.adopted });
    await continueAsNew<typeof reconcileApsFleet>({ ...input, carried });
  }
  setPhase('done');
  summary.finishedAt = new Date(Date.now()).toISOString();
  return summary;
}
