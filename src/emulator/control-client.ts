/**
 * A fetch-based client of the control API, for tests and tools that drive an emulator running in
 * another process (compose, the reliability suite, `npx tsx scripts/emulator.ts`).
 */
import type { RequestFilter } from './stats';
import type {
  ActiveFault,
  EmulatorCounters,
  EmulatorStateView,
  FaultSpec,
  JobScript,
  JobSnapshot,
  RateLimit,
  RequestLogEntry,
} from './types';

/** Options of {@link EmulatorControl}. */
export interface EmulatorControlOptions {
  /** Base URL of the emulator, e.g. `http://127.0.0.1:9000`. */
  url: string;
  /** Admin token, when the emulator was started with one. */
  adminToken?: string;
  /** Per-request timeout in ms (default 10 s). */
  timeoutMs?: number;
}

/** A failed control API call. */
export class EmulatorControlError extends Error {
  override readonly name = 'EmulatorControlError';
  constructor(
    /** HTTP status. */
    readonly status: number,
    /** Error code from the body. */
    readonly code: string,
    message: string,
  ) {
    super(`${status} ${code}: ${message}`);
  }
}

/** Drives an emulator through its control API. */
export class EmulatorControl {
  private readonly base: string;

  constructor(private readonly options: EmulatorControlOptions) {
    this.base = `${options.url.replace(/\/+$/, '')}/__emulator`;
  }

  /** True when the emulator answers. */
  async health(): Promise<boolean> {
    try {
      await this.call('GET', '/health');
      return true;
    } catch {
      return false;
    }
  }

  /** Polls {@link health} until it answers or `timeoutMs` passes (then throws). */
  async waitUntilReady(timeoutMs = 10_000, intervalMs = 50): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await this.health())) {
      if (Date.now() > deadline)
        throw new Error(`The emulator at ${this.options.url} did not answer in ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }

  /** The whole state. */
  state(): Promise<EmulatorStateView> {
    return this.call('GET', '/state');
  }

  /** Counters. */
  counters(): Promise<EmulatorCounters> {
    return this.call('GET', '/counters');
  }

  /** The request log. */
  async requests(filter: RequestFilter = {}): Promise<RequestLogEntry[]> {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(filter)) if (v !== undefined) query.set(k, String(v));
    const text = query.toString();
    return (await this.call<{ requests: RequestLogEntry[] }>('GET', `/requests${text ? `?${text}` : ''}`))
      .requests;
  }

  /** Every job. */
  async jobs(): Promise<JobSnapshot[]> {
    return (await this.call<{ jobs: JobSnapshot[] }>('GET', '/jobs')).jobs;
  }

  /** One job; undefined when it does not exist. */
  async job(apsJobId: string): Promise<JobSnapshot | undefined> {
    try {
      return await this.call('GET', `/jobs/${encodeURIComponent(apsJobId)}`);
    } catch (err) {
      if (err instanceof EmulatorControlError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** StartApsJob calls that took effect on the job. */
  async effectiveStarts(apsJobId: string): Promise<number> {
    return (await this.counters()).effectiveStarts[apsJobId] ?? 0;
  }

  /** StartApsJob calls that reached the job while it was Starting or Running (no effect). */
  async duplicateStartCalls(apsJobId: string): Promise<number> {
    return (await this.counters()).duplicateStartCalls[apsJobId] ?? 0;
  }

  /** Adds (or replaces) jobs. */
  async addJobs(scripts: JobScript | JobScript[]): Promise<JobSnapshot[]> {
    return (await this.call<{ jobs: JobSnapshot[] }>('POST', '/jobs', scripts)).jobs;
  }

  /** Deletes a job (calls naming it then answer InvalidInput). */
  async removeJob(apsJobId: string): Promise<void> {
    await this.call('DELETE', `/jobs/${encodeURIComponent(apsJobId)}`);
  }

  /** Sets a job's status directly. */
  setJobStatus(apsJobId: string, status: string, errMessage?: string): Promise<JobSnapshot> {
    return this.call('POST', `/jobs/${encodeURIComponent(apsJobId)}/status`, { status, errMessage });
  }

  /** Arms faults; returns their IDs. */
  async injectFaults(specs: FaultSpec | FaultSpec[]): Promise<string[]> {
    return (await this.call<{ ids: string[] }>('POST', '/faults', specs)).ids;
  }

  /** Faults not yet used up. */
  async faults(): Promise<ActiveFault[]> {
    return (await this.call<{ faults: ActiveFault[] }>('GET', '/faults')).faults;
  }

  /** Disarms one fault, or all without an ID. */
  async clearFaults(id?: string): Promise<void> {
    await this.call('DELETE', id === undefined ? '/faults' : `/faults/${encodeURIComponent(id)}`);
  }

  /** Sets or (null) removes the rate limit. */
  async setRateLimit(limit: RateLimit | null): Promise<void> {
    await this.call('POST', '/rate-limit', limit);
  }

  /** Back to the configured start. */
  async reset(): Promise<void> {
    await this.call('POST', '/reset');
  }

  /** Makes the emulator stop listening for `durationMs`, then resume on its own. */
  async outage(durationMs: number): Promise<void> {
    await this.call('POST', '/outage', { durationMs });
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (this.options.adminToken !== undefined) headers['x-emulator-token'] = this.options.adminToken;
    // The emulator refuses a POST that is not JSON, even one without a body (a cross-site guard).
    if (body !== undefined || method === 'POST') headers['content-type'] = 'application/json';
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new EmulatorControlError(res.status, 'NonJsonResponse', text.slice(0, 200));
    }
    if (!res.ok) {
      const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new EmulatorControlError(
        res.status,
        error?.code ?? 'Unknown',
        error?.message ?? text.slice(0, 200),
      );
    }
    return parsed as T;
  }
}
