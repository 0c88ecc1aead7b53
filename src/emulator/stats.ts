/**
 * Counters and the request log: what tests read to prove "started exactly once" and "N calls".
 */
import { isApsAction } from './actions';
import type { EmulatorCounters, RequestLogEntry } from './types';

/** Bound of the per-job counters, so that random job IDs cannot grow memory without end. */
const MAX_COUNTED_JOBS = 100_000;

/** Filter of {@link Stats.requests}. */
export interface RequestFilter {
  /** Only entries with a sequence number above this. */
  sinceSeq?: number;
  /** Only this action. */
  action?: string;
  /** Only this job. */
  apsJobId?: string;
  /** At most this many (the newest). */
  limit?: number;
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

// Maps, not objects: job IDs come from requests, and `__proto__` must stay a plain key.
interface Tallies {
  requests: number;
  byAction: Map<string, number>;
  byJob: Map<string, Map<string, number>>;
  byCode: Map<string, number>;
  faults: Map<string, number>;
  signatureFailures: number;
}

function emptyTallies(): Tallies {
  return {
    requests: 0,
    byAction: new Map(),
    byJob: new Map(),
    byCode: new Map(),
    faults: new Map(),
    signatureFailures: 0,
  };
}

/** Counters plus a bounded request log. */
export class Stats {
  private log: RequestLogEntry[] = [];
  private seq = 0;
  private tallies = emptyTallies();

  constructor(private readonly logLimit: number) {}

  /** Records one answered request; returns the entry with its sequence number. */
  record(entry: Omit<RequestLogEntry, 'seq'>): RequestLogEntry {
    const full: RequestLogEntry = { seq: ++this.seq, ...entry };
    const t = this.tallies;
    t.requests += 1;
    const action =
      entry.action === undefined ? undefined : isApsAction(entry.action) ? entry.action : '(other)';
    if (action !== undefined) bump(t.byAction, action);
    if (entry.apsJobId !== undefined && action !== undefined) {
      let perJob = t.byJob.get(entry.apsJobId);
      if (!perJob && t.byJob.size < MAX_COUNTED_JOBS) {
        perJob = new Map();
        t.byJob.set(entry.apsJobId, perJob);
      }
      if (perJob) bump(perJob, action);
    }
    bump(t.byCode, entry.code);
    if (entry.fault !== undefined) bump(t.faults, entry.fault);
    if (entry.signatureValid === false) t.signatureFailures += 1;
    this.log.push(full);
    // Trim in chunks so that a full log does not copy the array on every request.
    if (this.log.length > this.logLimit + Math.max(1, Math.floor(this.logLimit / 10))) {
      this.log = this.log.slice(this.log.length - this.logLimit);
    }
    return full;
  }

  /** A copy of the counters; the per-job start counts come from the job store. */
  snapshot(starts: Pick<EmulatorCounters, 'effectiveStarts' | 'duplicateStartCalls'>): EmulatorCounters {
    const t = this.tallies;
    return {
      requests: t.requests,
      byAction: Object.fromEntries(t.byAction),
      byJob: Object.fromEntries([...t.byJob].map(([k, v]) => [k, Object.fromEntries(v)])),
      byCode: Object.fromEntries(t.byCode),
      faults: Object.fromEntries(t.faults),
      effectiveStarts: starts.effectiveStarts,
      duplicateStartCalls: starts.duplicateStartCalls,
      signatureFailures: t.signatureFailures,
    };
  }

  /** Requests counted for an action and/or a job (both optional). */
  calls(filter: { action?: string; apsJobId?: string } = {}): number {
    const t = this.tallies;
    if (filter.apsJobId !== undefined) {
      const perJob = t.byJob.get(filter.apsJobId);
      if (!perJob) return 0;
      if (filter.action !== undefined) return perJob.get(filter.action) ?? 0;
      return [...perJob.values()].reduce((a, b) => a + b, 0);
    }
    if (filter.action !== undefined) return t.byAction.get(filter.action) ?? 0;
    return t.requests;
  }

  /** Log entries, oldest first. */
  requests(filter: RequestFilter = {}): RequestLogEntry[] {
    const start = this.log.length > this.logLimit ? this.log.length - this.logLimit : 0;
    let out = this.log
      .slice(start)
      .filter(
        (e) =>
          (filter.sinceSeq === undefined || e.seq > filter.sinceSeq) &&
          (filter.action === undefined || e.action === filter.action) &&
          (filter.apsJobId === undefined || e.apsJobId === filter.apsJobId),
      );
    if (filter.limit !== undefined && out.length > filter.limit) out = out.slice(out.length - filter.limit);
    return out.map((e) => ({ ...e }));
  }

  /** Clears counters and the log; sequence numbers start over. */
  reset(): void {
    this.log = [];
    this.seq = 0;
    this.tallies = emptyTallies();
  }
}
