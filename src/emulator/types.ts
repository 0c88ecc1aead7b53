/**
 * Public shapes of the APS emulator: its options (also the JSON config file and the control API
 * bodies), job scripts, faults, counters and request-log entries.
 */

/** The APS actions the emulator serves (everything else answers `InvalidAction`). */
export type ApsAction =
  'StartApsJob' | 'DescribeApsJobDetail' | 'SuspendApsJob' | 'DescribeApsJobs' | 'DescribeApsActionLogs';

/** A level of DescribeApsActionLogs. */
export type ActionLogLevel = 'INFO' | 'WARN' | 'ERROR';

/** A stage of DescribeApsActionLogs. */
export type ActionLogStageName = 'StructureMigrate' | 'FullDataSync' | 'IncrementalSync';

/** A log line a failing job writes when its life fails (DescribeApsActionLogs serves it). */
export interface ScriptedActionLog {
  /** Its text (`Context`). */
  context: string;
  /** Its level (`State`, default `ERROR`). */
  state?: ActionLogLevel;
  /** Its stage (default: `FullDataSync` for batch jobs, `IncrementalSync` otherwise). */
  stage?: ActionLogStageName;
  /**
   * When it is logged, in ms after the start of the life that fails (default, and at most: the
   * moment of the failure). Lines of one failure keep the order given when their times are equal.
   */
  atMs?: number;
}

/** An access key pair the emulator accepts. */
export interface AccessKeyConfig {
  /** Access key ID (`Credential=` in the Authorization header). */
  accessKeyId: string;
  /** Access key secret: the HMAC key. */
  accessKeySecret: string;
  /** When set, the key is an STS key: calls must carry this `x-acs-security-token`. */
  securityToken?: string;
  /** Answer `InvalidAccessKeyId.Inactive` for this key (a disabled key). */
  inactive?: boolean;
  /** Answer `InvalidSecurityToken.Expired` for this key's token (an STS token past its expiry). */
  securityTokenExpired?: boolean;
}

/** How a job behaves once started. */
export type JobKind = 'streaming' | 'batch' | 'failing';

/**
 * What StartApsJob answers for a job that is already Starting or Running: `success` (a silent
 * no-op), `success-false` (HTTP 200, `Success: false`, ErrCode `OperationDenied.JobStatus`) or
 * `error-400` (HTTP 400, Code `OperationDenied.JobStatus`). The real service's answer is unknown.
 */
export type WhenAlreadyRunning = 'success' | 'success-false' | 'error-400';

/** The scripted life of one job. Polls are DescribeApsJobDetail calls for that job. */
export interface JobScript {
  /** The job ID, e.g. `aps-bp1demo`. */
  apsJobId: string;
  /** Region the job lives in (default: the emulator's `defaultRegionId`). */
  regionId?: string;
  /** Job name shown by DescribeApsJobs (default: the job ID). */
  name?: string;
  /** `streaming` runs until suspended, `batch` ends COMPLETED, `failing` ends Failed. */
  kind: JobKind;
  /** Status before any start (default `Suspended`). */
  initialStatus?: string;
  /** After an effective start, this many polls answer `Starting` before `Running` (default 0). */
  startingPolls?: number;
  /** After an effective start, `Starting` lasts at least this long (default 0). */
  startingMs?: number;
  /** Batch: this many polls answer `Running`, the next one `COMPLETED` (default 2). */
  runningPollsToComplete?: number;
  /** Failing: this many polls in Starting/Running answer normally, the next one `Failed` (default 1). */
  failAfterPolls?: number;
  /** Failing: the ErrMessage the job shows once Failed. */
  errMessage?: string;
  /**
   * Failing: after this many scripted failures, later lives run like a streaming job (Running
   * until suspended), so restarts can be seen to heal a job. Default: every life fails.
   */
  failuresBeforeHealthy?: number;
  /**
   * After an effective start, this many DescribeApsJobDetail reads still answer the status the job
   * had before the start (a stale replica), and do not move the job along its script (default 0).
   */
  staleReadsAfterStart?: number;
  /** What StartApsJob answers while the job is Starting or Running (default: the emulator's). */
  whenAlreadyRunning?: WhenAlreadyRunning;
  /** Shown as SourceEndpointInstanceID / SourceInstanceID. */
  sourceInstanceId?: string;
  /**
   * Shown as DestinationEndpointInstanceID / DestinationInstanceID (default `amv-emulator`); the
   * `DBClusterId` DescribeApsActionLogs takes for this job.
   */
  destinationInstanceId?: string;
  /**
   * Failing: the lines logged each time a life fails. Default: one ERROR line with the job's
   * ErrMessage. Every effective start also logs an INFO line.
   */
  actionLogs?: ScriptedActionLog[];
  /** Sync lag shown by DescribeApsJobs as `Delay` while the job runs (default 0). */
  delay?: number;
  /** Shown by DescribeApsJobs as `SubStatus` (default empty). */
  subStatus?: string;
}

/** The script given to jobs created on first use (`autoCreateJobs`). */
export type DefaultJobScript = Omit<JobScript, 'apsJobId' | 'regionId' | 'name'>;

/** A job as the emulator currently sees it. */
export interface JobSnapshot {
  /** The job ID. */
  apsJobId: string;
  /** Its region. */
  regionId: string;
  /** Its name. */
  name: string;
  /** Its kind. */
  kind: JobKind;
  /** The raw status it would answer now (without counting a poll). */
  status: string;
  /** The ErrMessage it shows, if any. */
  errMessage?: string;
  /** StartApsJob calls that took effect on this job (since the last reset). */
  effectiveStarts: number;
  /** StartApsJob calls that reached this job while it was Starting or Running (since the last reset). */
  duplicateStartCalls: number;
  /** When the job was created (ISO-8601). */
  createTime: string;
  /** True when the job was made on first use by `autoCreateJobs`. */
  autoCreated: boolean;
}

/** Which calls a fault applies to and how often. */
export interface FaultMatch {
  /** Only calls of this action (default: every action). */
  action?: ApsAction;
  /** Only calls naming this ApsJobId (default: any job, and calls without one). */
  apsJobId?: string;
  /**
   * How many matching calls the fault answers before it is used up: a number, or `'unlimited'`.
   * Default 1, or `'unlimited'` when `rate` is set.
   */
  times?: number | 'unlimited';
  /** Probability (0..1) that a matching call gets the fault, drawn from the seeded PRNG. */
  rate?: number;
  /** Perform the action's real effect first, then answer with the fault (the "lost reply" case). */
  applyFirst?: boolean;
  /** Delay before answering, in ms (any kind; the whole point of kind `latency`). */
  latencyMs?: number;
}

/** A scripted fault. */
export type FaultSpec = FaultMatch &
  (
    | {
        /** An error answer: JSON body `{RequestId, HostId, Code, Message, Recommend}`. */
        kind: 'error';
        /** The error code, e.g. `ServiceUnavailable`, `Throttling.User`, `InvalidInput`. */
        code: string;
        /** HTTP status (default: the code's usual status, 400 for unknown codes). */
        httpStatus?: number;
        /** The message (default: a stock message for the code). */
        message?: string;
      }
    | {
        /** HTTP 200 with `Success: false`, `ErrCode`, `ErrMessage`. */
        kind: 'success-false';
        /** ErrCode (default `InternalError`). */
        errCode?: string;
        /** ErrMessage (default: a stock message). */
        errMessage?: string;
      }
    | {
        /** Only `latencyMs`, then the normal answer. */
        kind: 'latency';
        /** Delay before answering, in ms. */
        latencyMs: number;
      }
    | {
        /** Destroy the connection with a TCP reset instead of answering. */
        kind: 'reset';
      }
    | {
        /** HTTP 502 with an HTML page (what a load balancer answers), not JSON. */
        kind: 'html-502';
      }
  );

/** The kinds of faults. */
export type FaultKind = FaultSpec['kind'];

/** A fault waiting in the fault book. */
export type ActiveFault = FaultSpec & {
  /** Its ID (for logs and the control API). */
  id: string;
  /** Calls it will still answer (`'unlimited'` for no bound). */
  remaining: number | 'unlimited';
};

/** A token-bucket rate limit applied per access key. */
export interface RateLimit {
  /** Tokens added per second. */
  ratePerSec: number;
  /** Bucket size: calls allowed in a burst. */
  burst: number;
  /** Only this access key (default: every key, each with its own bucket). */
  accessKeyId?: string;
}

/** Options of {@link startEmulator}; everything except the functions can come from a JSON file. */
export interface EmulatorOptions {
  /** Port to listen on (default 0: any free port). */
  port?: number;
  /** Address to bind (default `127.0.0.1`); any non-loopback address needs `adminToken`. */
  host?: string;
  /** Accepted keys (default: one generated key, see `credentials` of the running emulator). */
  accessKeys?: AccessKeyConfig[];
  /** Region of jobs that name none (default `cn-hangzhou`). */
  defaultRegionId?: string;
  /** Seeded jobs. */
  jobs?: JobScript[];
  /** Let any well-formed `aps-…` job ID exist on first use (default false). */
  autoCreateJobs?: boolean;
  /** Script of auto-created jobs (default: streaming, initially Suspended). */
  defaultJobScript?: DefaultJobScript;
  /** What StartApsJob answers on a Starting or Running job whose script names none (default `success`). */
  whenAlreadyRunning?: WhenAlreadyRunning;
  /** Faults armed at start. */
  faults?: FaultSpec[];
  /** Rate limit armed at start. */
  rateLimit?: RateLimit;
  /** Seed of the PRNG behind probabilistic faults (default: random, shown in the state). */
  seed?: number | string;
  /** When set, control API calls need `x-emulator-token: <token>` (or `Authorization: Bearer`); required off loopback. */
  adminToken?: string;
  /** Largest accepted request body in bytes (default 1 MiB; larger answers 413). */
  maxBodyBytes?: number;
  /** Entries kept in the request log (default 10 000; oldest dropped first). */
  requestLogLimit?: number;
  /** Signature nonces remembered for replay detection (default 100 000; oldest dropped first). */
  nonceCacheLimit?: number;
  /** Accepted clock skew of `x-acs-date` in ms (default 15 minutes). */
  maxClockSkewMs?: number;
  /** `HostId` in error bodies (default `adb.aliyuncs.com`). */
  hostId?: string;
  /** Most jobs held, seeded plus auto-created (default 100 000); beyond it unknown IDs are `InvalidInput`. */
  maxJobs?: number;
  /** Clock in epoch ms (default `Date.now`): job lives, rate limits, nonces and `x-acs-date`. */
  now?: () => number;
  /** Called once per RPC request after it was answered (the CLI prints it). */
  onRequest?: (entry: RequestLogEntry) => void;
}

/** One RPC request as the emulator saw and answered it. */
export interface RequestLogEntry {
  /** Sequence number, from 1, never reused until a reset. */
  seq: number;
  /** When it arrived (ISO-8601). */
  time: string;
  /** HTTP method. */
  method: string;
  /** The action, when the request named one. */
  action?: string;
  /** The ApsJobId parameter, when present. */
  apsJobId?: string;
  /** The access key ID from the Authorization header, when present. */
  accessKeyId?: string;
  /** `OK`, the error code answered (or the ErrCode of a `Success: false` body), or `ConnectionReset` / `BadGateway` / `ClientClosedRequest`. */
  code: string;
  /** HTTP status answered; null when the connection was reset or the client left first. */
  httpStatus: number | null;
  /** Whether the signature verified; null when the check was never reached. */
  signatureValid: boolean | null;
  /** The request ID answered (also the `x-acs-request-id` header). */
  requestId: string;
  /** The kind of fault that shaped the answer, if any. */
  fault?: FaultKind | 'rate-limit';
  /** True when the action's effect took place (e.g. the start happened), even if the answer was a fault. */
  applied: boolean;
  /** Time spent answering, in ms. */
  durationMs: number;
}

/** Counters since start or the last reset. */
export interface EmulatorCounters {
  /** Every RPC request received (the control API is not counted). */
  requests: number;
  /** Requests per action (unsupported action names count under `(other)`). */
  byAction: Record<string, number>;
  /** Requests per ApsJobId, then per action. */
  byJob: Record<string, Record<string, number>>;
  /** Answers per code (`OK`, error codes, `ConnectionReset`, …). */
  byCode: Record<string, number>;
  /** Faults fired per kind (`rate-limit` for throttled calls). */
  faults: Record<string, number>;
  /** StartApsJob calls that took effect, per job. */
  effectiveStarts: Record<string, number>;
  /**
   * StartApsJob calls that reached a job already Starting or Running (no effect, whatever the
   * answer), per job. Calls a fault answered without performing the action are not counted.
   */
  duplicateStartCalls: Record<string, number>;
  /** Requests whose signature failed to verify. */
  signatureFailures: number;
}

/** What GET /__emulator/state answers. */
export interface EmulatorStateView {
  /** Whether the RPC port is accepting connections. */
  listening: boolean;
  /** The PRNG seed (to reproduce a run). */
  seed: number;
  /** Key IDs and whether each is an STS key (never secrets). */
  accessKeys: { accessKeyId: string; sts: boolean; inactive: boolean }[];
  /** Every job. */
  jobs: JobSnapshot[];
  /** Faults not yet used up. */
  faults: ActiveFault[];
  /** The rate limit, or null. */
  rateLimit: RateLimit | null;
  /** Whether unknown well-formed job IDs are created on first use. */
  autoCreateJobs: boolean;
  /** Counters. */
  counters: EmulatorCounters;
}
