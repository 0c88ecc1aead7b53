/**
 * A local AnalyticDB APS emulator: the adb `2021-12-01` RPC API (StartApsJob,
 * DescribeApsJobDetail, SuspendApsJob, DescribeApsJobs, DescribeApsActionLogs) over `node:http`, with real ACS3
 * signature checks, scripted job lives, fault injection, rate limits, outages and counters.
 * Used by the demo, the tests, the benchmarks and the reliability suite.
 */
import { createControlHandler } from './control';
import { EmulatorHttpServer } from './server';
import { EmulatorState } from './state';
import type { RequestFilter } from './stats';
import type {
  AccessKeyConfig,
  ActiveFault,
  EmulatorCounters,
  EmulatorOptions,
  EmulatorStateView,
  FaultSpec,
  JobScript,
  JobSnapshot,
  RateLimit,
  RequestLogEntry,
} from './types';

export type * from './types';
export type { RequestFilter } from './stats';
export { generateAccessKey } from './state';
export { EmulatorControl, EmulatorControlError, type EmulatorControlOptions } from './control-client';
export { EmulatorInputError, emulatorConfigSchema } from './schema';
export { loadEmulatorConfig } from './config-file';
export { CONTROL_PREFIX } from './server';
export { CONTROL_ROUTES } from './control';
export { API_VERSION } from './errors';
export { signAcs3, formatAcsDate, type SignInput } from './signature';

/** A running emulator and its in-process control API. */
export interface RunningEmulator {
  /** The port bound. */
  readonly port: number;
  /** The address bound. */
  readonly host: string;
  /** `host:port` to give openapi-client as `endpoint` (with `protocol: 'http'`). */
  readonly endpoint: string;
  /** `http://host:port`. */
  readonly url: string;
  /** The accepted keys, secrets included (generated ones too). */
  readonly credentials: readonly AccessKeyConfig[];
  /** Whether the RPC port accepts connections. */
  readonly listening: boolean;
  /** Adds a job, or replaces the one with that ID. */
  addJob(script: JobScript): JobSnapshot;
  /** Sets a job's status directly (someone else suspended it, …). */
  setJobStatus(apsJobId: string, status: string, errMessage?: string): JobSnapshot;
  /** Deletes a job (as a delete in the console would); false when there was none. */
  removeJob(apsJobId: string): boolean;
  /** One job, or undefined. */
  job(apsJobId: string): JobSnapshot | undefined;
  /** Every job. */
  jobs(): JobSnapshot[];
  /** Arms a fault; returns its ID. */
  injectFault(spec: FaultSpec): string;
  /** Disarms one fault; false when it was not armed. */
  removeFault(id: string): boolean;
  /** Disarms every fault. */
  clearFaults(): void;
  /** Faults not yet used up. */
  faults(): ActiveFault[];
  /** Sets or (null) removes the per-key rate limit. */
  setRateLimit(limit: RateLimit | null): void;
  /** Counters since start or the last reset. */
  counters(): EmulatorCounters;
  /** The request log, oldest first. */
  requests(filter?: RequestFilter): RequestLogEntry[];
  /** RPC requests received, optionally for one action and/or job. */
  calls(filter?: { action?: string; apsJobId?: string }): number;
  /** RPC requests received and not answered yet, optionally for one action and/or job. */
  inFlight(filter?: { action?: string; apsJobId?: string }): number;
  /** StartApsJob calls that took effect on the job. */
  effectiveStarts(apsJobId: string): number;
  /** StartApsJob calls that reached the job while it was Starting or Running (no effect). */
  duplicateStartCalls(apsJobId: string): number;
  /** The whole state (what GET /__emulator/state serves). */
  state(): EmulatorStateView;
  /** Back to the configured start (counters, log, faults, rate limit, jobs, PRNG). */
  reset(): void;
  /** Stops listening: open connections are destroyed, new ones refused. State is kept. */
  stopListening(): Promise<void>;
  /** Listens again on the same port. */
  resumeListening(): Promise<void>;
  /** Stops listening now and resumes after `durationMs` (also POST /__emulator/outage). */
  outage(durationMs: number): void;
  /** Stops for good. */
  close(): Promise<void>;
}

function endpointHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

class Emulator implements RunningEmulator {
  private readonly core: EmulatorState;
  private readonly server: EmulatorHttpServer;
  private outageTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: EmulatorOptions) {
    this.core = new EmulatorState(options);
    this.server = new EmulatorHttpServer(
      this.core,
      createControlHandler({
        state: this.core,
        isListening: () => this.listening,
        outage: (ms) => this.outage(ms),
      }),
    );
  }

  get port(): number {
    return this.server.port;
  }
  get host(): string {
    return this.core.options.host;
  }
  get endpoint(): string {
    return `${endpointHost(this.host)}:${this.port}`;
  }
  get url(): string {
    return `http://${this.endpoint}`;
  }
  get credentials(): readonly AccessKeyConfig[] {
    return this.core.credentials();
  }
  get listening(): boolean {
    return this.server.listening;
  }

  async start(): Promise<this> {
    await this.server.listen(this.core.options.port, this.core.options.host);
    return this;
  }

  addJob(script: JobScript): JobSnapshot {
    return this.core.addJob(script);
  }
  setJobStatus(apsJobId: string, status: string, errMessage?: string): JobSnapshot {
    return this.core.setJobStatus(apsJobId, status, errMessage);
  }
  removeJob(apsJobId: string): boolean {
    return this.core.removeJob(apsJobId);
  }
  job(apsJobId: string): JobSnapshot | undefined {
    return this.core.jobs.get(apsJobId);
  }
  jobs(): JobSnapshot[] {
    return this.core.jobs.all();
  }
  injectFault(spec: FaultSpec): string {
    return this.core.injectFault(spec);
  }
  removeFault(id: string): boolean {
    return this.core.faults.remove(id);
  }
  clearFaults(): void {
    this.core.faults.clear();
  }
  faults(): ActiveFault[] {
    return this.core.faults.list();
  }
  setRateLimit(limit: RateLimit | null): void {
    this.core.setRateLimit(limit);
  }
  counters(): EmulatorCounters {
    return this.core.counters();
  }
  requests(filter?: RequestFilter): RequestLogEntry[] {
    return this.core.requests(filter);
  }
  calls(filter?: { action?: string; apsJobId?: string }): number {
    return this.core.stats.calls(filter);
  }
  inFlight(filter: { action?: string; apsJobId?: string } = {}): number {
    return [...this.core.inFlight].filter(
      (t) =>
        (filter.action === undefined || t.action === filter.action) &&
        (filter.apsJobId === undefined || t.apsJobId === filter.apsJobId),
    ).length;
  }
  effectiveStarts(apsJobId: string): number {
    return this.core.jobs.effectiveStarts(apsJobId);
  }
  duplicateStartCalls(apsJobId: string): number {
    return this.core.jobs.duplicateStartCalls(apsJobId);
  }
  state(): EmulatorStateView {
    return this.core.view(this.listening);
  }
  reset(): void {
    this.core.reset();
  }
  stopListening(): Promise<void> {
    return this.server.stopListening();
  }
  async resumeListening(): Promise<void> {
    clearTimeout(this.outageTimer);
    await this.server.resumeListening(this.host);
  }
  outage(durationMs: number): void {
    clearTimeout(this.outageTimer);
    void this.server.stopListening().then(() => {
      if (this.closed) return;
      this.outageTimer = setTimeout(() => {
        this.server.resumeListening(this.host).catch(() => {
          // The port was taken meanwhile; the emulator stays down and `listening` says so.
        });
      }, durationMs);
    });
  }
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.outageTimer);
    await this.server.close();
  }
}

/** Starts an emulator (validates the options; throws {@link EmulatorInputError} on bad ones). */
export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  return new Emulator(options).start();
}
