/**
 * Jobs and their scripted lives: what StartApsJob, SuspendApsJob and the describes see.
 */
import { formatAcsDate } from './signature';
import type {
  ActionLogLevel,
  ActionLogStageName,
  DefaultJobScript,
  JobKind,
  JobScript,
  JobSnapshot,
  WhenAlreadyRunning,
} from './types';

/** IDs that `autoCreateJobs` accepts: `aps-` and then letters, digits, `_` or `-`. */
export const AUTO_CREATE_ID = /^aps-[A-Za-z0-9][A-Za-z0-9_-]{0,123}$/;

/** Default ErrMessage of a failing job. */
export const DEFAULT_FAIL_MESSAGE = 'The source endpoint is unreachable (emulated failure).';

/** The cluster of a job whose script names none. */
export const DEFAULT_CLUSTER_ID = 'amv-emulator';

/** Most log lines a job keeps (oldest dropped first). */
export const MAX_LOG_LINES = 1000;

/** One line of a job's action log. */
export interface LoggedLine {
  /** Epoch ms. */
  time: number;
  /** Stage. */
  stage: ActionLogStageName;
  /** Level. */
  state: ActionLogLevel;
  /** Text. */
  context: string;
}

/** Filters of DescribeApsActionLogs. */
export interface LogFilter {
  /** From (epoch ms, inclusive). */
  from: number;
  /** To (epoch ms, inclusive). */
  to: number;
  /** Only these levels. */
  states?: readonly string[];
  /** Only this stage. */
  stage?: string;
  /** Only lines whose text contains this (any case). */
  keyword?: string;
}

/** Script of auto-created jobs when none is configured. */
export const DEFAULT_JOB_SCRIPT: DefaultJobScript = { kind: 'streaming', initialStatus: 'Suspended' };

/** A job as the store holds it; only the store changes it. */
export interface StoredJob {
  /** The script it follows. */
  script: JobScript;
  /** Its region. */
  regionId: string;
  /** Its name. */
  name: string;
  /** The raw status. */
  status: string;
  /** ErrMessage shown by DescribeApsJobs. */
  errMessage?: string;
  /** When the current Starting/Running phase began (a start, or a status set by control). */
  phaseStartedAt: number;
  /** Polls answered `Starting` in this phase. */
  startingPolls: number;
  /** Polls answered `Running` in this phase. */
  runningPolls: number;
  /** Creation time, epoch ms. */
  createdAt: number;
  /** Made on first use. */
  autoCreated: boolean;
  /** Scripted failures so far (a `failing` job turns healthy after `failuresBeforeHealthy`). */
  failures: number;
  /** Stale reads still owed after a start (`staleReadsAfterStart`): the status from before it. */
  stale?: { status: string; errMessage?: string; left: number };
  /** Its action log, oldest first. */
  logs: LoggedLine[];
}

/** What a StartApsJob did to a job. */
export type StartOutcome =
  | { effect: 'started' }
  | {
      effect: 'already-running';
      /** How to answer. */
      answer: WhenAlreadyRunning;
      /** The status the call found (`Starting` or `Running`). */
      status: string;
    };

/** Filters of DescribeApsJobs. */
export interface JobListFilter {
  /** Only jobs of this region. */
  regionId?: string;
  /** Only jobs whose name contains this text. */
  nameContains?: string;
  /** Only jobs created at or after (epoch ms). */
  createdFrom?: number;
  /** Only jobs created at or before (epoch ms). */
  createdTo?: number;
}

/** The cluster a job writes to. */
export function clusterOf(script: JobScript): string {
  return script.destinationInstanceId ?? DEFAULT_CLUSTER_ID;
}

function defaultStage(script: JobScript): ActionLogStageName {
  return script.kind === 'batch' ? 'FullDataSync' : 'IncrementalSync';
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function isActive(status: string): boolean {
  return /^(starting|running)$/i.test(status);
}

/** Settings of a {@link JobStore}. */
export interface JobStoreOptions {
  /** Region of jobs that name none. */
  defaultRegionId: string;
  /** Create well-formed unknown IDs on first use. */
  autoCreate: boolean;
  /** Script of auto-created jobs. */
  defaultScript: DefaultJobScript;
  /** Most jobs held. */
  maxJobs: number;
  /** Answer of StartApsJob on a live job whose script names none. */
  whenAlreadyRunning: WhenAlreadyRunning;
}

/** Every job, keyed by ID, in creation order. */
export class JobStore {
  private readonly jobs = new Map<string, StoredJob>();
  // Scripts added explicitly (seeded or addJob): reset() brings exactly these back.
  private readonly scripts = new Map<string, JobScript>();
  private readonly starts = new Map<string, number>();
  private readonly duplicates = new Map<string, number>();

  constructor(
    private readonly options: JobStoreOptions,
    private readonly now: () => number,
  ) {}

  /** Whether unknown well-formed IDs are created on first use. */
  get autoCreate(): boolean {
    return this.options.autoCreate;
  }

  /** Adds a job, or replaces the one with that ID (its life starts over). */
  add(script: JobScript): JobSnapshot {
    this.scripts.set(script.apsJobId, script);
    const job = this.create(script, false);
    return this.snapshot(job);
  }

  /**
   * The job a call names, or undefined when it does not exist in that region. With auto-create on,
   * a well-formed unknown ID comes into being here (in the caller's region).
   */
  find(apsJobId: string, regionId: string | undefined): StoredJob | undefined {
    let job = this.jobs.get(apsJobId);
    if (
      !job &&
      this.options.autoCreate &&
      AUTO_CREATE_ID.test(apsJobId) &&
      this.jobs.size < this.options.maxJobs
    ) {
      job = this.create(
        { ...this.options.defaultScript, apsJobId, regionId: regionId ?? this.options.defaultRegionId },
        true,
      );
    }
    if (job && regionId !== undefined && job.regionId !== regionId) return undefined;
    return job;
  }

  /** StartApsJob: takes effect unless the job is Starting or Running. */
  start(job: StoredJob): StartOutcome {
    this.advance(job, false);
    if (isActive(job.status)) {
      bump(this.duplicates, job.script.apsJobId);
      return {
        effect: 'already-running',
        answer: job.script.whenAlreadyRunning ?? this.options.whenAlreadyRunning,
        status: job.status,
      };
    }
    const staleReads = job.script.staleReadsAfterStart ?? 0;
    job.stale =
      staleReads > 0
        ? {
            status: job.status,
            ...(job.errMessage !== undefined ? { errMessage: job.errMessage } : {}),
            left: staleReads,
          }
        : undefined;
    const slow = (job.script.startingPolls ?? 0) > 0 || (job.script.startingMs ?? 0) > 0;
    job.status = slow ? 'Starting' : 'Running';
    delete job.errMessage;
    this.newPhase(job);
    this.log(job, { time: job.phaseStartedAt, state: 'INFO', context: 'APS job started.' });
    bump(this.starts, job.script.apsJobId);
    return { effect: 'started' };
  }

  /** SuspendApsJob. */
  suspend(job: StoredJob): void {
    job.stale = undefined;
    job.status = 'Suspended';
    this.newPhase(job);
  }

  /** DescribeApsJobDetail: one poll, which moves the job along its script. */
  poll(job: StoredJob): { status: string; errMessage?: string } {
    if (job.stale && job.stale.left > 0) {
      // A stale replica: the job lives on, but this read still shows the status from before.
      job.stale.left -= 1;
      return { status: job.stale.status, errMessage: job.stale.errMessage };
    }
    this.advance(job, true);
    return { status: job.status, errMessage: job.errMessage };
  }

  /**
   * Deletes a job (someone deleted it in the console): calls naming it then answer `InvalidInput`,
   * and `reset()` no longer brings it back. False when there was no such job.
   */
  remove(apsJobId: string): boolean {
    this.scripts.delete(apsJobId);
    return this.jobs.delete(apsJobId);
  }

  /** Sets a status directly (someone else suspended the job, an operator fixed it, …). */
  setStatus(apsJobId: string, status: string, errMessage?: string): JobSnapshot | undefined {
    const job = this.jobs.get(apsJobId);
    if (!job) return undefined;
    job.stale = undefined;
    job.status = status;
    if (errMessage === undefined) delete job.errMessage;
    else job.errMessage = errMessage;
    this.newPhase(job);
    return this.snapshot(job);
  }

  /** The job with this ID in that region, never created on the way (unlike {@link find}). */
  peek(apsJobId: string, regionId: string | undefined): StoredJob | undefined {
    const job = this.jobs.get(apsJobId);
    return job && (regionId === undefined || job.regionId === regionId) ? job : undefined;
  }

  /** Whether some job writes to this cluster (the clusters the emulator knows). */
  hasCluster(dbClusterId: string): boolean {
    if (dbClusterId === DEFAULT_CLUSTER_ID) return true;
    for (const job of this.jobs.values()) if (clusterOf(job.script) === dbClusterId) return true;
    return false;
  }

  /** A job's log lines in a window, newest first (time-based transitions apply first). */
  logLines(job: StoredJob, filter: LogFilter): LoggedLine[] {
    this.advance(job, false);
    const keyword = filter.keyword?.toLowerCase();
    // Times are compared at the API's precision, whole seconds (as `Time` shows them).
    const second = (ms: number): number => Math.floor(ms / 1000) * 1000;
    const out = job.logs.filter(
      (l) =>
        second(l.time) >= filter.from &&
        second(l.time) <= filter.to &&
        (filter.states === undefined || filter.states.includes(l.state)) &&
        (filter.stage === undefined || l.stage === filter.stage) &&
        (keyword === undefined || l.context.toLowerCase().includes(keyword)),
    );
    return out.reverse();
  }

  /** Jobs for DescribeApsJobs, in creation order (time-based transitions apply, no poll counted). */
  listStored(filter: JobListFilter): StoredJob[] {
    const out: StoredJob[] = [];
    for (const job of this.jobs.values()) {
      if (filter.regionId !== undefined && job.regionId !== filter.regionId) continue;
      if (filter.nameContains !== undefined && !job.name.includes(filter.nameContains)) continue;
      if (filter.createdFrom !== undefined && job.createdAt < filter.createdFrom) continue;
      if (filter.createdTo !== undefined && job.createdAt > filter.createdTo) continue;
      out.push(job);
    }
    return out;
  }

  /** One job's snapshot, or undefined. */
  get(apsJobId: string): JobSnapshot | undefined {
    const job = this.jobs.get(apsJobId);
    return job && this.snapshot(job);
  }

  /** Every job. */
  all(): JobSnapshot[] {
    return [...this.jobs.values()].map((job) => this.snapshot(job));
  }

  /** StartApsJob calls that took effect on the job since the last reset. */
  effectiveStarts(apsJobId: string): number {
    return this.starts.get(apsJobId) ?? 0;
  }

  /** Effective starts of every job that had one. */
  effectiveStartsByJob(): Record<string, number> {
    return Object.fromEntries(this.starts);
  }

  /** StartApsJob calls that reached the job while it was Starting or Running, since the last reset. */
  duplicateStartCalls(apsJobId: string): number {
    return this.duplicates.get(apsJobId) ?? 0;
  }

  /** Duplicate start calls of every job that had one. */
  duplicateStartCallsByJob(): Record<string, number> {
    return Object.fromEntries(this.duplicates);
  }

  /** Drops auto-created jobs and returns every scripted job to its initial state. */
  reset(): void {
    this.jobs.clear();
    this.starts.clear();
    this.duplicates.clear();
    for (const script of this.scripts.values()) this.create(script, false);
  }

  /** The DescribeApsJobDetail / DescribeApsJobs view of a job. */
  snapshot(job: StoredJob): JobSnapshot {
    this.advance(job, false);
    return {
      apsJobId: job.script.apsJobId,
      regionId: job.regionId,
      name: job.name,
      kind: job.script.kind,
      status: job.status,
      ...(job.errMessage !== undefined ? { errMessage: job.errMessage } : {}),
      effectiveStarts: this.effectiveStarts(job.script.apsJobId),
      duplicateStartCalls: this.duplicateStartCalls(job.script.apsJobId),
      createTime: formatAcsDate(new Date(job.createdAt)),
      autoCreated: job.autoCreated,
    };
  }

  /** Progress text of a job (`Projress`): batch jobs count their running polls. */
  progress(job: StoredJob): string {
    if (job.script.kind !== 'batch') return isActive(job.status) ? '100' : '0';
    if (/^completed$/i.test(job.status)) return '100';
    const total = (job.script.runningPollsToComplete ?? 2) + 1;
    return String(Math.floor((100 * job.runningPolls) / total));
  }

  /** The script of a job (for the detail fields). */
  scriptOf(job: StoredJob): JobScript {
    return job.script;
  }

  private create(script: JobScript, autoCreated: boolean): StoredJob {
    const now = this.now();
    const job: StoredJob = {
      script,
      regionId: script.regionId ?? this.options.defaultRegionId,
      name: script.name ?? script.apsJobId,
      status: script.initialStatus ?? 'Suspended',
      phaseStartedAt: now,
      startingPolls: 0,
      runningPolls: 0,
      createdAt: now,
      autoCreated,
      failures: 0,
      logs: [],
    };
    // A job seeded as failing and already Failed shows its message (and its log) from the start.
    if (script.kind === 'failing' && /fail/i.test(job.status)) {
      job.errMessage = script.errMessage ?? DEFAULT_FAIL_MESSAGE;
      this.logFailure(job);
    }
    this.jobs.delete(script.apsJobId);
    this.jobs.set(script.apsJobId, job);
    return job;
  }

  private log(job: StoredJob, line: Omit<LoggedLine, 'stage'> & { stage?: ActionLogStageName }): void {
    job.logs.push({ ...line, stage: line.stage ?? defaultStage(job.script) });
    if (job.logs.length > MAX_LOG_LINES) job.logs.splice(0, job.logs.length - MAX_LOG_LINES);
  }

  /**
   * The lines a failure writes: the script's `actionLogs` (each at `atMs` after the life's start,
   * at most now), else one ERROR line with the ErrMessage. Sorted by time, the script's order
   * kept between equal times.
   */
  private logFailure(job: StoredJob): void {
    const now = this.now();
    const scripted = job.script.actionLogs ?? [
      { context: job.errMessage ?? DEFAULT_FAIL_MESSAGE, state: 'ERROR' as const },
    ];
    const lines = scripted.map((l) => ({
      time: l.atMs === undefined ? now : Math.min(now, job.phaseStartedAt + l.atMs),
      state: l.state ?? ('ERROR' as const),
      context: l.context,
      ...(l.stage !== undefined ? { stage: l.stage } : {}),
    }));
    lines.sort((a, b) => a.time - b.time);
    for (const line of lines) this.log(job, line);
  }

  private newPhase(job: StoredJob): void {
    job.phaseStartedAt = this.now();
    job.startingPolls = 0;
    job.runningPolls = 0;
  }

  /**
   * Moves a job along its script. Time-based steps (Starting → Running after `startingMs`) apply
   * on every read; poll-based steps only when `poll` is true, so DescribeApsJobs never advances a
   * job by itself.
   */
  private advance(job: StoredJob, poll: boolean): void {
    const s = job.script;
    if (
      /^starting$/i.test(job.status) &&
      job.startingPolls >= (s.startingPolls ?? 0) &&
      this.now() - job.phaseStartedAt >= (s.startingMs ?? 0)
    ) {
      job.status = 'Running';
    }
    if (!poll) return;
    const kind: JobKind = s.kind;
    // A failing job past its `failuresBeforeHealthy` lives on like a streaming one.
    const healthy = s.failuresBeforeHealthy !== undefined && job.failures >= s.failuresBeforeHealthy;
    if (kind === 'failing' && isActive(job.status) && !healthy) {
      if (job.startingPolls + job.runningPolls >= (s.failAfterPolls ?? 1)) {
        job.status = 'Failed';
        job.errMessage = s.errMessage ?? DEFAULT_FAIL_MESSAGE;
        job.failures += 1;
        this.logFailure(job);
      }
    } else if (
      kind === 'batch' &&
      /^running$/i.test(job.status) &&
      job.runningPolls >= (s.runningPollsToComplete ?? 2)
    ) {
      job.status = 'COMPLETED';
    }
    if (/^starting$/i.test(job.status)) job.startingPolls += 1;
    else if (/^running$/i.test(job.status)) job.runningPolls += 1;
  }
}
