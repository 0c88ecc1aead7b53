/**
 * The fleet view: every APS job of a region (DescribeApsJobs, all pages) joined with what Temporal
 * knows of it (its open runApsJob and superviseApsJob workflows, the last run's outcome). Used by
 * `aps-jobs jobs list` and by the reconciler's activities; Node only, never in workflow code.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { ApsPhaseKey, jobWorkflowId, supervisorWorkflowId } from './api';
import { toApsError } from './activities/failures';
import { ApsApiError, type ApsApi, type ApsJobSummary, type StatusClass } from './aps/types';
import { decideRetry, resolveRules } from './retry';
import type { RetryRule, RuleCounters } from './retry/types';
import { validateRegionId } from './validation';

/**
 * DescribeApsJobs page size the fleet asks for. The API's maximum is not documented (the generated
 * SDK accepts up to 1,000, the emulator 100, and adb's other list actions stop at 100), so 100: the
 * largest size every known server accepts.
 */
export const FLEET_PAGE_SIZE = 100;
/** Most pages one listing reads (100,000 jobs): a bound on one listing's work. */
export const FLEET_MAX_PAGES = 1000;

/** One job of the region, as DescribeApsJobs gives it. */
export interface FleetJob {
  /** The job ID. */
  apsJobId: string;
  /** The job name. */
  apsJobName?: string;
  /** The raw status. */
  status: string;
  /** Its class. */
  statusClass: StatusClass;
  /** Sub-status, as returned. */
  subStatus?: string;
  /** Progress text (`Projress`). */
  progress?: string;
  /** Sync lag (`Delay`), as returned. */
  delay?: number;
  /** The job's last error message. */
  errMessage?: string;
  /** Creation time, as returned. */
  createTime?: string;
}

/** Options of {@link listAllJobs}. */
export interface ListAllJobsOptions {
  /** Retry rules for a failed page (default: the built-in ones, which slow down on throttling). */
  rules?: RetryRule[];
  /** Waits between retries (default: a timer; activities pass their cancellable sleep). */
  sleep?: (ms: number) => Promise<void>;
  /** Called after each page (activities heartbeat here). */
  onPage?: (e: { pageNumber: number; jobs: number; totalCount: number }) => void;
  /** Called when a failed page is retried. */
  onRetry?: (e: { pageNumber: number; code: string; rule?: string; delayMs: number }) => void;
  /** Clock (tests). */
  now?: () => number;
  /** Jitter source (tests). */
  random?: () => number;
  /** Page size (default {@link FLEET_PAGE_SIZE}). */
  pageSize?: number;
}

/** Result of {@link listAllJobs}. */
export interface JobListing {
  /** Every job, once each, in the API's order. */
  jobs: FleetJob[];
  /** Pages read. */
  pages: number;
  /** Failed calls that were retried. */
  retries: number;
}

function fleetJobOf(j: ApsJobSummary): FleetJob {
  return {
    apsJobId: j.apsJobId,
    ...(j.apsJobName !== undefined ? { apsJobName: j.apsJobName } : {}),
    status: j.status.raw,
    statusClass: j.status.class,
    ...(j.subStatus !== undefined ? { subStatus: j.subStatus } : {}),
    ...(j.progress !== undefined ? { progress: j.progress } : {}),
    ...(j.delay !== undefined ? { delay: j.delay } : {}),
    ...(j.errMessage !== undefined ? { errMessage: j.errMessage } : {}),
    ...(j.createTime !== undefined ? { createTime: j.createTime } : {}),
  };
}

/**
 * Lists every job of a region, page after page. A failed page is retried under the retry rules
 * (throttling slows down within its time budget, transient errors back off a few times), in
 * process, so pages already read are kept; a good page resets the budgets. Throws the
 * {@link ApsApiError} the rules give up on. A job that moves between pages while they are read
 * (one created or deleted meanwhile) can appear twice, which is folded, or be missed until the
 * next listing.
 */
export async function listAllJobs(
  aps: ApsApi,
  regionId: string,
  opts: ListAllJobsOptions = {},
): Promise<JobListing> {
  validateRegionId(regionId);
  const rules = opts.rules ?? resolveRules();
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = opts.now ?? Date.now;
  const random = opts.random ?? Math.random;
  const pageSize = opts.pageSize ?? FLEET_PAGE_SIZE;
  const byId = new Map<string, FleetJob>();
  let counters: RuleCounters = {};
  let retries = 0;
  let pages = 0;
  for (let pageNumber = 1; pageNumber <= FLEET_MAX_PAGES;) {
    let page;
    try {
      page = await aps.listJobs({ regionId, pageNumber, pageSize });
    } catch (err) {
      const error = toApsError(err);
      const decision = decideRetry({
        rules,
        error: { code: error.code, retryClass: error.retryClass },
        counters,
        nowMs: now(),
        random,
      });
      if (!decision.retry) {
        throw new ApsApiError({ ...error, message: `${error.message} (${decision.reason})` });
      }
      counters = decision.counters;
      retries += 1;
      const delayMs = decision.delayMs ?? 1000;
      opts.onRetry?.({ pageNumber, code: error.code, rule: decision.ruleName, delayMs });
      await sleep(delayMs);
      continue;
    }
    counters = {};
    pages += 1;
    for (const j of page.jobs) if (!byId.has(j.apsJobId)) byId.set(j.apsJobId, fleetJobOf(j));
    opts.onPage?.({ pageNumber, jobs: page.jobs.length, totalCount: page.totalCount });
    if (page.jobs.length === 0 || pageNumber * page.pageSize >= page.totalCount) break;
    pageNumber += 1;
  }
  return { jobs: [...byId.values()], pages, retries };
}

/** One workflow of a job, as visibility shows it. */
export interface WorkflowRef {
  /** Workflow ID. */
  workflowId: string;
  /** Run ID. */
  runId: string;
  /** Temporal's execution status (`RUNNING`, `COMPLETED`, `FAILED`, …). */
  executionStatus: string;
  /** The workflow's phase (the `ApsPhase` search attribute, else its status query), while open. */
  phase?: string;
  /** Start time, ISO-8601. */
  startTime: string;
  /** Close time, ISO-8601. */
  closeTime?: string;
}

/** What Temporal knows of one job. */
export interface JobOrchestration {
  /** Its open runApsJob. */
  run?: WorkflowRef;
  /** Its open superviseApsJob. */
  supervisor?: WorkflowRef;
  /** Its latest closed runApsJob: the last run's outcome. */
  lastRun?: WorkflowRef;
}

/** The orchestration on a job, in one word. */
export type OrchestrationKind = 'none' | 'run' | 'supervisor' | 'paused';

/** The one word for a job's orchestration: a paused supervisor is `paused`. */
export function orchestrationKind(o: JobOrchestration | undefined): OrchestrationKind {
  if (o?.supervisor) {
    return o.supervisor.phase === 'paused' || o.supervisor.phase === 'pausing' ? 'paused' : 'supervisor';
  }
  return o?.run ? 'run' : 'none';
}

const RUN_PREFIX = (regionId: string) => jobWorkflowId(regionId, '');
const SUPERVISOR_PREFIX = (regionId: string) => supervisorWorkflowId(regionId, '');

function refOf(wf: WorkflowExecutionInfo): WorkflowRef {
  const phase = wf.typedSearchAttributes.get(ApsPhaseKey);
  return {
    workflowId: wf.workflowId,
    runId: wf.runId,
    executionStatus: wf.status.name,
    ...(wf.status.name === 'RUNNING' && typeof phase === 'string' ? { phase } : {}),
    startTime: wf.startTime.toISOString(),
    ...(wf.closeTime ? { closeTime: wf.closeTime.toISOString() } : {}),
  };
}

/**
 * What Temporal knows of the jobs of a region, keyed by job ID, from one visibility listing of the
 * workflow IDs `aps-job:<region>:` and `aps-supervisor:<region>:` (the IDs the client helpers and
 * the reconciler use; a workflow started under another ID is not seen). Visibility lags the
 * server by a moment: a workflow started a second ago may be missing. The phase of an open
 * workflow comes from its `ApsPhase` search attribute, or, where that is not registered, from its
 * status query.
 */
export async function orchestrationsIn(
  client: Client,
  regionId: string,
): Promise<Map<string, JobOrchestration>> {
  validateRegionId(regionId);
  const runPrefix = RUN_PREFIX(regionId);
  const supPrefix = SUPERVISOR_PREFIX(regionId);
  // Region IDs are lower-case letters, digits and dashes (validated): safe inside the quotes.
  const query = `WorkflowId STARTS_WITH '${runPrefix}' OR WorkflowId STARTS_WITH '${supPrefix}'`;
  const out = new Map<string, JobOrchestration>();
  const get = (id: string): JobOrchestration => {
    let o = out.get(id);
    if (!o) out.set(id, (o = {}));
    return o;
  };
  for await (const wf of client.workflow.list({ query })) {
    const open = wf.status.name === 'RUNNING';
    if (wf.workflowId.startsWith(supPrefix)) {
      if (open) get(wf.workflowId.slice(supPrefix.length)).supervisor = refOf(wf);
    } else if (wf.workflowId.startsWith(runPrefix)) {
      const o = get(wf.workflowId.slice(runPrefix.length));
      if (open) o.run = refOf(wf);
      else if (!o.lastRun || (o.lastRun.closeTime ?? '') < (wf.closeTime?.toISOString() ?? '')) {
        o.lastRun = refOf(wf);
      }
    }
  }
  const missingPhase = [...out.values()]
    .flatMap((o) => [o.run, o.supervisor])
    .filter((r): r is WorkflowRef => r !== undefined && r.phase === undefined);
  await forEachLimited(missingPhase, 8, async (r) => {
    try {
      const s = await client.workflow.getHandle(r.workflowId, r.runId).query<{ phase?: unknown }>('status');
      if (typeof s?.phase === 'string') r.phase = s.phase;
    } catch {
      // No worker to answer, or a run that just closed: the phase stays unknown.
    }
  });
  return out;
}

async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

/** One line of the fleet view: the job and the orchestration on it. */
export interface FleetEntry extends FleetJob, JobOrchestration {
  /** The orchestration in one word. */
  orchestration: OrchestrationKind;
}

/** The fleet view of a region. */
export interface FleetView {
  /** Region. */
  regionId: string;
  /** Every job, with its orchestration. */
  jobs: FleetEntry[];
  /** Open supervisors whose job is not in the listing (deleted jobs). */
  goneSupervisors: { apsJobId: string; workflowId: string; phase?: string }[];
  /** Pages read. */
  pages: number;
}

/** Joins a listing with Temporal's view of the region. */
export function joinFleet(
  regionId: string,
  listing: JobListing,
  orchestrations: Map<string, JobOrchestration>,
): FleetView {
  const ids = new Set(listing.jobs.map((j) => j.apsJobId));
  return {
    regionId,
    jobs: listing.jobs.map((j) => {
      const o = orchestrations.get(j.apsJobId) ?? {};
      return { ...j, ...o, orchestration: orchestrationKind(o) };
    }),
    goneSupervisors: [...orchestrations.entries()]
      .filter(([id, o]) => o.supervisor && !ids.has(id))
      .map(([apsJobId, o]) => ({
        apsJobId,
        workflowId: (o.supervisor as WorkflowRef).workflowId,
        ...(o.supervisor?.phase !== undefined ? { phase: o.supervisor.phase } : {}),
      })),
    pages: listing.pages,
  };
}

/** Lists a region's jobs and joins them with Temporal's view (the `aps-jobs jobs list` data). */
export async function listFleet(
  client: Client,
  aps: ApsApi,
  regionId: string,
  opts: ListAllJobsOptions = {},
): Promise<FleetView> {
  const listing = await listAllJobs(aps, regionId, opts);
  return joinFleet(regionId, listing, await orchestrationsIn(client, regionId));
}

/** Statuses `--status` accepts besides raw ones: the classes. */
const STATUS_CLASSES: readonly string[] = [
  'running',
  'completed',
  'failed',
  'stopped',
  'transitional',
  'unknown',
];

/**
 * Keeps the jobs whose raw status or status class is one of `wanted` (any case): `failed` keeps
 * `Failed`, `Fatal` and `Error`; `Suspended` keeps only that status.
 */
export function filterByStatus(entries: FleetEntry[], wanted: string[]): FleetEntry[] {
  const w = wanted.map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
  if (w.length === 0) return entries;
  return entries.filter(
    (e) =>
      w.includes(e.status.toLowerCase()) ||
      (STATUS_CLASSES.includes(e.statusClass) && w.includes(e.statusClass)),
  );
}

/** The orchestration column: the word, and the phase or last outcome that goes with it. */
function orchestrationText(e: FleetEntry): string {
  if (e.orchestration === 'supervisor' || e.orchestration === 'paused') {
    return `${e.orchestration}${e.supervisor?.phase && e.orchestration === 'supervisor' ? ` (${e.supervisor.phase})` : ''}`;
  }
  if (e.orchestration === 'run') return `run (${e.run?.phase ?? 'open'})`;
  return e.lastRun ? `none (last run ${e.lastRun.executionStatus.toLowerCase()})` : 'none';
}

/** The fleet view as aligned text, one line per job, with a header. */
export function formatFleet(entries: FleetEntry[]): string {
  const rows = [
    ['NAME', 'ID', 'STATUS', 'DELAY', 'PROGRESS', 'ORCHESTRATION'],
    ...entries.map((e) => [
      e.apsJobName ?? '-',
      e.apsJobId,
      e.subStatus ? `${e.status}/${e.subStatus}` : e.status,
      e.delay !== undefined ? String(e.delay) : '-',
      e.progress !== undefined ? `${e.progress}%` : '-',
      orchestrationText(e),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '))
    .join('\n');
}
