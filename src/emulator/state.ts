/**
 * Everything the emulator remembers, independent of HTTP: keys, jobs, faults, the rate limiter,
 * the replay window, counters and the log. Options are validated here, once.
 */
import { randomBytes } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { FaultBook } from './faults';
import { DEFAULT_JOB_SCRIPT, JobStore } from './jobs';
import { normalizeSeed, Prng } from './prng';
import { RateLimiter } from './rate-limit';
import { NonceCache } from './replay';
import {
  emulatorConfigSchema,
  EmulatorInputError,
  faultSpecSchema,
  jobScriptSchema,
  parseInput,
  rateLimitSchema,
  statusUpdateSchema,
} from './schema';
import { Stats, type RequestFilter } from './stats';
import type {
  AccessKeyConfig,
  EmulatorCounters,
  EmulatorOptions,
  EmulatorStateView,
  FaultSpec,
  JobScript,
  JobSnapshot,
  RateLimit,
  RequestLogEntry,
} from './types';

/** Default largest body: 1 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Default accepted clock skew: 15 minutes, as the service. */
export const DEFAULT_MAX_SKEW_MS = 15 * 60_000;

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomText(length: number): string {
  // Rejection sampling keeps every character equally likely (256 is not a multiple of 62).
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += ALNUM[byte % 62];
    }
  }
  return out;
}

/**
 * A random access key pair shaped like Alibaba Cloud's (`LTAI` + 20 characters, 30-character
 * secret); with `sts: true` an STS-style key (`STS.` ID) with a security token.
 */
export function generateAccessKey(options: { sts?: boolean } = {}): AccessKeyConfig {
  if (options.sts) {
    return {
      accessKeyId: `STS.${randomText(24)}`,
      accessKeySecret: randomText(44),
      securityToken: `CAIS${randomText(200)}`,
    };
  }
  return { accessKeyId: `LTAI${randomText(20)}`, accessKeySecret: randomText(30) };
}

/**
 * Whether a bind address only accepts connections from this machine: `localhost`, `127.0.0.0/8`,
 * `::1` and `::ffff:127.x.x.x`. Anything else (`0.0.0.0`, `::`, an interface address, another
 * host name) may be reachable from other machines.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (!isIPv6(h)) return false;
  let canonical: string;
  try {
    // The URL parser writes every IPv6 spelling in one compressed form (::ffff:127.0.0.1 → ::ffff:7f00:1).
    canonical = new URL(`http://[${h}]/`).hostname.slice(1, -1);
  } catch {
    return false; // a scoped address (fe80::1%eth0) is an interface address, not loopback
  }
  return canonical === '::1' || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(canonical);
}

/** Options with every default filled in. */
export interface ResolvedOptions {
  /** Port asked for. */
  port: number;
  /** Bind address. */
  host: string;
  /** Largest body. */
  maxBodyBytes: number;
  /** HostId in error bodies. */
  hostId: string;
  /** Accepted skew. */
  maxClockSkewMs: number;
  /** Control API token, if any. */
  adminToken?: string;
  /** Clock. */
  now: () => number;
  /** Per-request callback. */
  onRequest?: (entry: RequestLogEntry) => void;
}

/** The emulator's state and the operations the in-process and control APIs expose. */
export class EmulatorState {
  /** Settings. */
  readonly options: ResolvedOptions;
  /** Keys by ID. */
  readonly keys: ReadonlyMap<string, AccessKeyConfig>;
  /** Jobs. */
  readonly jobs: JobStore;
  /** Armed faults. */
  readonly faults: FaultBook;
  /** Per-key rate limit. */
  readonly limiter = new RateLimiter();
  /** Replay window. */
  readonly nonces: NonceCache;
  /** Counters and log. */
  readonly stats: Stats;
  /** RPC requests received and not answered yet (a held StartApsJob, say). */
  readonly inFlight = new Set<{ action?: string; apsJobId?: string }>();
  /** PRNG of probabilistic faults. */
  readonly prng: Prng;
  private readonly initialFaults: FaultSpec[];
  private readonly initialRateLimit: RateLimit | null;

  constructor(input: EmulatorOptions) {
    const { now, onRequest, ...data } = input;
    const config = parseInput(emulatorConfigSchema, data, 'emulator options');
    const keys =
      config.accessKeys && config.accessKeys.length > 0 ? config.accessKeys : [generateAccessKey()];
    const byId = new Map<string, AccessKeyConfig>();
    for (const key of keys) {
      if (byId.has(key.accessKeyId))
        throw new EmulatorInputError(`Duplicate access key ID ${key.accessKeyId}`);
      byId.set(key.accessKeyId, { ...key });
    }
    this.keys = byId;
    const host = config.host ?? '127.0.0.1';
    // The control API has no signature: reachable from other machines, it must at least need a token.
    if (!isLoopbackHost(host) && config.adminToken === undefined) {
      throw new EmulatorInputError(
        `host ${JSON.stringify(host)} is not a loopback address, so the control API (/__emulator/) ` +
          'would be open to the network: set adminToken (APS_EMULATOR_ADMIN_TOKEN or ' +
          'APS_EMULATOR_ADMIN_TOKEN_FILE for the command line), or bind 127.0.0.1',
      );
    }
    this.options = {
      port: config.port ?? 0,
      host,
      maxBodyBytes: config.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      hostId: config.hostId ?? 'adb.aliyuncs.com',
      maxClockSkewMs: config.maxClockSkewMs ?? DEFAULT_MAX_SKEW_MS,
      adminToken: config.adminToken,
      now: now ?? Date.now,
      onRequest,
    };
    this.prng = new Prng(normalizeSeed(config.seed ?? randomBytes(4).readUInt32BE(0)));
    this.nonces = new NonceCache(this.options.maxClockSkewMs, config.nonceCacheLimit ?? 100_000);
    this.stats = new Stats(config.requestLogLimit ?? 10_000);
    this.faults = new FaultBook(this.prng);
    this.jobs = new JobStore(
      {
        defaultRegionId: config.defaultRegionId ?? 'cn-hangzhou',
        autoCreate: config.autoCreateJobs ?? false,
        defaultScript: config.defaultJobScript ?? DEFAULT_JOB_SCRIPT,
        maxJobs: config.maxJobs ?? 100_000,
        whenAlreadyRunning: config.whenAlreadyRunning ?? 'success',
      },
      this.options.now,
    );
    const seen = new Set<string>();
    for (const job of config.jobs ?? []) {
      if (seen.has(job.apsJobId)) throw new EmulatorInputError(`Duplicate job ID ${job.apsJobId}`);
      seen.add(job.apsJobId);
      this.jobs.add(job);
    }
    this.initialFaults = config.faults ?? [];
    this.initialRateLimit = config.rateLimit ?? null;
    for (const fault of this.initialFaults) this.faults.add(fault);
    this.limiter.set(this.initialRateLimit);
  }

  /** The configured keys, secrets included (in-process use only; never served). */
  credentials(): AccessKeyConfig[] {
    return [...this.keys.values()].map((k) => ({ ...k }));
  }

  /** Adds or replaces a job (validated). */
  addJob(script: JobScript): JobSnapshot {
    return this.jobs.add(parseInput(jobScriptSchema, script, 'job script'));
  }

  /** Deletes a job; false when there was no such job. */
  removeJob(apsJobId: string): boolean {
    return this.jobs.remove(apsJobId);
  }

  /** Sets a job's status directly; throws when the job does not exist. */
  setJobStatus(apsJobId: string, status: string, errMessage?: string): JobSnapshot {
    const update = parseInput(statusUpdateSchema, { status, errMessage }, 'status update');
    const snap = this.jobs.setStatus(apsJobId, update.status, update.errMessage);
    if (!snap) throw new EmulatorInputError(`No job ${apsJobId}`);
    return snap;
  }

  /** Arms a fault (validated); returns its ID. */
  injectFault(spec: FaultSpec): string {
    return this.faults.add(parseInput(faultSpecSchema, spec, 'fault'));
  }

  /** Sets or removes the rate limit (validated). */
  setRateLimit(limit: RateLimit | null): void {
    this.limiter.set(limit === null ? null : parseInput(rateLimitSchema, limit, 'rate limit'));
  }

  /** Counters since start or the last reset. */
  counters(): EmulatorCounters {
    return this.stats.snapshot({
      effectiveStarts: this.jobs.effectiveStartsByJob(),
      duplicateStartCalls: this.jobs.duplicateStartCallsByJob(),
    });
  }

  /** The request log. */
  requests(filter?: RequestFilter): RequestLogEntry[] {
    return this.stats.requests(filter);
  }

  /**
   * Back to the start: counters, log, replay window, PRNG sequence, faults and rate limit as
   * configured, auto-created jobs dropped, scripted jobs (seeded or added) at their initial status.
   */
  reset(): void {
    this.stats.reset();
    this.nonces.clear();
    this.prng.restart();
    this.faults.clear();
    for (const fault of this.initialFaults) this.faults.add(fault);
    this.limiter.set(this.initialRateLimit);
    this.jobs.reset();
  }

  /** The state as the control API serves it (no secrets). */
  view(listening: boolean): EmulatorStateView {
    return {
      listening,
      seed: this.prng.seed,
      accessKeys: [...this.keys.values()].map((k) => ({
        accessKeyId: k.accessKeyId,
        sts: k.securityToken !== undefined,
        inactive: k.inactive ?? false,
      })),
      jobs: this.jobs.all(),
      faults: this.faults.list(),
      rateLimit: this.limiter.get(),
      autoCreateJobs: this.jobs.autoCreate,
      counters: this.counters(),
    };
  }
}
