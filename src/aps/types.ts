/**
 * The contract between this project and AnalyticDB's APS API (product `adb`, version 2021-12-01).
 * Activities and tests depend on {@link ApsApi}; the openapi-client implementation lives in
 * `client.ts`, and unit tests may fake it.
 */

/** How a failure should be retried, from the error tables in aps-api.md. */
export type RetryClass = 'throttled' | 'transient' | 'permanent' | 'unknown';

/** Every failure of an APS call, normalized. */
export interface ApsError {
  /** The error code: the body's `Code`/`ErrCode`, or a synthetic one (`ReadTimeout`, `ECONNRESET`, `NonJsonResponse`, …). */
  code: string;
  /** The HTTP status, when a response arrived. */
  httpStatus?: number;
  /** The service's request ID, when the body carried one. */
  requestId?: string;
  /** A human-readable message (never contains credentials). */
  message: string;
  /** How the retry rules treat it by default. */
  retryClass: RetryClass;
  /**
   * True when the call may have taken effect although it failed (timeouts, `AcsServerTimeOut`,
   * 5xx, `Success: false`, socket errors after sending): a start must re-read the job status.
   */
  ambiguous: boolean;
  /** The raw body or error fields, for logs (never contains credentials). */
  raw: unknown;
}

/** Thrown by every {@link ApsApi} method on failure; `error` is the normalized form. */
export class ApsApiError extends Error {
  override readonly name = 'ApsApiError';
  constructor(readonly error: ApsError) {
    super(`${error.code}: ${error.message}`);
  }
}

/**
 * The class of a raw job status (aps-api.md, "Status values"); `unknown` for a status not in the
 * table.
 */
export type StatusClass = 'running' | 'completed' | 'failed' | 'stopped' | 'transitional' | 'unknown';

/** A classified job status: the raw value is always kept. */
export interface JobStatus {
  /** The raw status string as the service returned it (`Running`, `COMPLETED`, …). */
  raw: string;
  /** Its class. */
  class: StatusClass;
}

/** Identifies one APS job. */
export interface JobRef {
  /** Region, e.g. `cn-hangzhou`. */
  regionId: string;
  /** The APS job ID, e.g. `aps-bp1xxxxxxxx`. */
  apsJobId: string;
}

/** Result of StartApsJob. */
export interface StartJobResult {
  /** The job ID echoed by the service (or the one requested). */
  apsJobId: string;
  /** The service's request ID. */
  requestId?: string;
  /** The raw response body. */
  raw: unknown;
}

/** Result of DescribeApsJobDetail. */
export interface JobDetail {
  /** The job ID. */
  apsJobId: string;
  /** The classified status. */
  status: JobStatus;
  /** The service's request ID. */
  requestId?: string;
  /**
   * The AnalyticDB cluster the job writes to (`DestinationEndpointInstanceID`, `amv-…`): the
   * `DBClusterId` of DescribeApsActionLogs. Absent when the detail does not carry it.
   */
  destinationInstanceId?: string;
  /** The `APSJobDetail` object as returned (source, destination, DbList, …). */
  detail: Record<string, unknown>;
  /** The raw response body. */
  raw: unknown;
}

/** Result of SuspendApsJob. */
export interface SuspendJobResult {
  /** The job ID. */
  apsJobId: string;
  /** The service's request ID. */
  requestId?: string;
  /** The raw response body. */
  raw: unknown;
}

/** Input of DescribeApsJobs (one page). */
export interface ListJobsInput {
  /** Region, e.g. `cn-hangzhou`. */
  regionId: string;
  /** 1-based page number (default 1). */
  pageNumber?: number;
  /** Page size (default 30). */
  pageSize?: number;
  /** Filter by job name. */
  apsJobName?: string;
}

/** One job in a DescribeApsJobs page. */
export interface ApsJobSummary {
  /** The job ID. */
  apsJobId: string;
  /** The job name. */
  apsJobName?: string;
  /** The classified status. */
  status: JobStatus;
  /** The sub-status, as returned. */
  subStatus?: string;
  /** Progress text (the API spells the field `Projress`). */
  progress?: string;
  /** Sync lag, as returned. */
  delay?: number;
  /** The job's last error message. */
  errMessage?: string;
  /** Creation time, as returned. */
  createTime?: string;
}

/** Result of DescribeApsJobs. */
export interface ListJobsResult {
  /** The jobs on this page. */
  jobs: ApsJobSummary[];
  /** The page number. */
  pageNumber: number;
  /** The page size. */
  pageSize: number;
  /** Total number of jobs. */
  totalCount: number;
  /** The service's request ID. */
  requestId?: string;
  /** The raw response body. */
  raw: unknown;
}

/** A log level of DescribeApsActionLogs' `State` filter. */
export type ActionLogState = 'INFO' | 'WARN' | 'ERROR';

/** A stage of DescribeApsActionLogs' `Stage` filter. */
export type ActionLogStage = 'StructureMigrate' | 'FullDataSync' | 'IncrementalSync';

/** Input of DescribeApsActionLogs (one page). */
export interface ActionLogsInput {
  /** Region, e.g. `cn-hangzhou`. */
  regionId: string;
  /** The AnalyticDB cluster (`amv-…`; DescribeApsJobDetail's `DestinationEndpointInstanceID`). */
  dbClusterId: string;
  /** The APS job (sent as `WorkloadId`). */
  apsJobId: string;
  /** Start of the window, epoch ms (sent as UTC `yyyy-MM-ddTHH:mm:ssZ`). */
  startTime: number;
  /** End of the window, epoch ms; at most 30 days after `startTime`. */
  endTime: number;
  /** Only these levels (sent as a comma list); default: every level. */
  state?: ActionLogState[];
  /** Only this stage. */
  stage?: ActionLogStage;
  /** Fuzzy match on the text. */
  keyword?: string;
  /** Page size: 30 (default), 50 or 100. */
  pageSize?: 30 | 50 | 100;
  /** 1-based page number (default 1). */
  pageNumber?: number;
}

/** One line of DescribeApsActionLogs. */
export interface ActionLogLine {
  /** When it was logged, as the service wrote it. */
  time: string;
  /** The stage (`StructureMigrate`, `FullDataSync`, `IncrementalSync`), when given. */
  stage?: string;
  /** The level (`INFO`, `WARN`, `ERROR`). */
  state: string;
  /** The text. */
  context: string;
}

/** Result of DescribeApsActionLogs. */
export interface ActionLogsResult {
  /** The lines of this page, in the service's order. */
  lines: ActionLogLine[];
  /** Lines matching in all. */
  totalCount: number;
  /** The page number. */
  pageNumber: number;
  /** The page size. */
  pageSize: number;
  /** The service's request ID. */
  requestId?: string;
  /** The raw response body. */
  raw: unknown;
}

/**
 * The APS operations this project uses. Every method validates its input before any call (a bad
 * value throws `InputValidationError`, naming the field) and throws {@link ApsApiError} on any
 * failure of the call (including HTTP 200 with `Success: false`).
 */
export interface ApsApi {
  /** StartApsJob. */
  startJob(ref: JobRef): Promise<StartJobResult>;
  /** DescribeApsJobDetail: the raw status plus details. */
  describeJob(ref: JobRef): Promise<JobDetail>;
  /** SuspendApsJob. */
  suspendJob(ref: JobRef): Promise<SuspendJobResult>;
  /** DescribeApsJobs, one page. */
  listJobs(input: ListJobsInput): Promise<ListJobsResult>;
  /** DescribeApsActionLogs, one page: a job's log lines. */
  actionLogs(input: ActionLogsInput): Promise<ActionLogsResult>;
}
