/**
 * The APS actions: parameter checks, then the effect on the job store and the response
 * body exactly as aps-api.md's table lists it. HTTP and signatures are server.ts's business.
 */
import { RpcError } from './errors';
import { formatAcsDate } from './signature';
import { clusterOf, type JobStore, type StoredJob } from './jobs';
import type { ApsAction } from './types';

/** The actions served. */
export const APS_ACTIONS: readonly ApsAction[] = [
  'StartApsJob',
  'DescribeApsJobDetail',
  'SuspendApsJob',
  'DescribeApsJobs',
  'DescribeApsActionLogs',
];

/** True for an action the emulator serves. */
export function isApsAction(value: string): value is ApsAction {
  return (APS_ACTIONS as readonly string[]).includes(value);
}

/** Largest DescribeApsJobs page (the real bound is not documented). */
export const MAX_PAGE_SIZE = 100;

/** Page sizes DescribeApsActionLogs takes (aps-api.md: 30 by default, 50, 100). */
export const ACTION_LOG_PAGE_SIZES: readonly number[] = [30, 50, 100];

/** Widest DescribeApsActionLogs window: 30 days. */
export const MAX_LOG_WINDOW_MS = 30 * 24 * 3_600_000;

const LOG_STATES = ['INFO', 'WARN', 'ERROR'];
const LOG_STAGES = ['StructureMigrate', 'FullDataSync', 'IncrementalSync'];

/** A call's parameters after the checks. */
export type ActionInput =
  | { action: 'StartApsJob'; regionId: string; apsJobId: string }
  | { action: 'DescribeApsJobDetail' | 'SuspendApsJob'; regionId?: string; apsJobId: string }
  | {
      action: 'DescribeApsJobs';
      regionId?: string;
      pageNumber: number;
      pageSize: number;
      apsJobName?: string;
      createdFrom?: number;
      createdTo?: number;
    }
  | {
      action: 'DescribeApsActionLogs';
      regionId: string;
      dbClusterId: string;
      /** The WorkloadId (named so that faults per job match it). */
      apsJobId: string;
      startTime: number;
      endTime: number;
      states?: string[];
      stage?: string;
      keyword?: string;
      pageSize: number;
      pageNumber: number;
    };

/** A successful (HTTP 200) answer, possibly with `Success: false`. */
export interface ActionAnswer {
  /** The JSON body. */
  body: Record<string, unknown>;
  /** `OK`, or the ErrCode of a `Success: false` body. */
  code: string;
  /** True when the call changed a job (an effective start, a suspend). */
  applied: boolean;
}

function missing(name: string): RpcError {
  // One form for every missing parameter: `MissingParameter`, the parameter named in the message,
  // so that clients keying on the `MissingParameter*` family classify it as permanent.
  return new RpcError(
    'MissingParameter',
    `The input parameter "${name}" that is mandatory for processing this request is not supplied.`,
  );
}

function invalid(name: string, expected: string, got: string): RpcError {
  return new RpcError(
    'InvalidParameter',
    `The specified parameter "${name}" is not valid: expected ${expected}, got ${JSON.stringify(got.slice(0, 64))}.`,
  );
}

function required(params: ReadonlyMap<string, string>, name: string): string {
  const v = params.get(name);
  if (v === undefined || v === '') throw missing(name);
  return v;
}

function optional(params: ReadonlyMap<string, string>, name: string): string | undefined {
  const v = params.get(name);
  return v === undefined || v === '' ? undefined : v;
}

function integer(params: ReadonlyMap<string, string>, name: string, min: number, max: number): number {
  const raw = required(params, name);
  const n = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= min && n <= max)) throw invalid(name, `an integer from ${min} to ${max}`, raw);
  return n;
}

function time(params: ReadonlyMap<string, string>, name: string): number | undefined {
  const raw = optional(params, name);
  if (raw === undefined) return undefined;
  const ms = Date.parse(raw);
  if (Number.isNaN(ms)) throw invalid(name, 'a time such as 2024-01-31T08:00:00Z', raw);
  return ms;
}

/** A required `yyyy-MM-ddTHH:mm:ssZ` time (UTC, seconds), as DescribeApsActionLogs takes it. */
function utcTime(params: ReadonlyMap<string, string>, name: string): number {
  const raw = required(params, name);
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(raw) ? Date.parse(raw) : NaN;
  if (Number.isNaN(ms)) throw invalid(name, 'a UTC time such as 2024-01-31T08:00:00Z', raw);
  return ms;
}

function parseActionLogsInput(params: ReadonlyMap<string, string>): ActionInput {
  const dbClusterId = required(params, 'DBClusterId');
  const regionId = required(params, 'RegionId');
  const startTime = utcTime(params, 'StartTime');
  const endTime = utcTime(params, 'EndTime');
  const apsJobId = required(params, 'WorkloadId');
  if (endTime < startTime) throw invalid('EndTime', 'a time at or after StartTime', params.get('EndTime')!);
  if (endTime - startTime > MAX_LOG_WINDOW_MS) {
    throw invalid('StartTime', 'at most 30 days before EndTime', params.get('StartTime')!);
  }
  const stateRaw = optional(params, 'State');
  const states = stateRaw?.split(',').map((s) => s.trim());
  if (states && !states.every((s) => LOG_STATES.includes(s))) {
    throw invalid('State', 'a comma list of INFO, WARN, ERROR', stateRaw!);
  }
  const stage = optional(params, 'Stage');
  if (stage !== undefined && !LOG_STAGES.includes(stage)) {
    throw invalid('Stage', LOG_STAGES.join(', '), stage);
  }
  const keyword = optional(params, 'Keyword');
  const pageSize = params.has('PageSize') ? integer(params, 'PageSize', 1, 100) : 30;
  if (!ACTION_LOG_PAGE_SIZES.includes(pageSize)) {
    throw invalid('PageSize', '30, 50 or 100', String(pageSize));
  }
  return {
    action: 'DescribeApsActionLogs',
    regionId,
    dbClusterId,
    apsJobId,
    startTime,
    endTime,
    ...(states ? { states } : {}),
    ...(stage !== undefined ? { stage } : {}),
    ...(keyword !== undefined ? { keyword } : {}),
    pageSize,
    pageNumber: params.has('PageNumber') ? integer(params, 'PageNumber', 1, 1_000_000) : 1,
  };
}

/** Checks the parameters of an action; throws `MissingParameter` / `InvalidParameter`. */
export function parseActionInput(action: ApsAction, params: ReadonlyMap<string, string>): ActionInput {
  switch (action) {
    case 'StartApsJob':
      return { action, regionId: required(params, 'RegionId'), apsJobId: required(params, 'ApsJobId') };
    case 'DescribeApsJobDetail':
    case 'SuspendApsJob':
      return { action, regionId: optional(params, 'RegionId'), apsJobId: required(params, 'ApsJobId') };
    case 'DescribeApsJobs':
      return {
        action,
        pageNumber: integer(params, 'PageNumber', 1, 1_000_000),
        pageSize: integer(params, 'PageSize', 1, MAX_PAGE_SIZE),
        regionId: optional(params, 'RegionId'),
        apsJobName: optional(params, 'ApsJobName'),
        createdFrom: time(params, 'CreateTimeStart'),
        createdTo: time(params, 'CreateTimeEnd'),
      };
    case 'DescribeApsActionLogs':
      return parseActionLogsInput(params);
  }
}

function unknownJob(apsJobId: string): RpcError {
  return new RpcError('InvalidInput', `The specified APS job ${apsJobId} does not exist.`);
}

/** The code of a start refused because the job is already Starting or Running. */
export const JOB_STATUS_DENIED = 'OperationDenied.JobStatus';

function alreadyRunningMessage(apsJobId: string, status: string): string {
  return `The operation is not permitted because the APS job ${apsJobId} is already ${status}.`;
}

function detailOf(jobs: JobStore, job: StoredJob, status: string): Record<string, unknown> {
  const script = jobs.scriptOf(job);
  return {
    Status: status,
    SourceEndpointRegion: job.regionId,
    SourceEndpointInstanceID: script.sourceInstanceId ?? defaultSource(job),
    DestinationEndpointRegion: job.regionId,
    DestinationEndpointInstanceID: clusterOf(script),
    // The documentation's samples show these as objects although they are declared strings;
    // answering objects keeps clients honest about parsing defensively.
    DbList: { emulator_db: { name: 'emulator_db', all: true } },
    PartitionList: {},
    TargetTableMode: 0,
  };
}

function defaultSource(job: StoredJob): string {
  return job.script.kind === 'batch' ? 'emr-hive-emulator' : 'alikafka_post-cn-emulator';
}

/**
 * Performs an action and builds its body. Throws {@link RpcError} for error answers (an unknown
 * job is `InvalidInput`, HTTP 400).
 */
export function executeAction(input: ActionInput, jobs: JobStore, requestId: string): ActionAnswer {
  switch (input.action) {
    case 'StartApsJob': {
      const job = jobs.find(input.apsJobId, input.regionId);
      if (!job) throw unknownJob(input.apsJobId);
      const outcome = jobs.start(job);
      if (outcome.effect === 'already-running' && outcome.answer === 'error-400') {
        throw new RpcError(JOB_STATUS_DENIED, alreadyRunningMessage(input.apsJobId, outcome.status), 400);
      }
      if (outcome.effect === 'already-running' && outcome.answer === 'success-false') {
        const message = alreadyRunningMessage(input.apsJobId, outcome.status);
        return {
          body: {
            HttpStatusCode: 400,
            ApsJobId: input.apsJobId,
            RequestId: requestId,
            Success: false,
            ErrCode: JOB_STATUS_DENIED,
            ErrMessage: message,
            Code: JOB_STATUS_DENIED,
            Message: message,
          },
          code: JOB_STATUS_DENIED,
          applied: false,
        };
      }
      return {
        // Numeric Code/ErrCode on success, as in the documentation's own samples.
        body: {
          HttpStatusCode: 200,
          ApsJobId: input.apsJobId,
          RequestId: requestId,
          Success: true,
          ErrCode: 0,
          ErrMessage: '',
          Code: 200,
          Message: 'Success',
        },
        code: 'OK',
        applied: outcome.effect === 'started',
      };
    }
    case 'DescribeApsJobDetail': {
      const job = jobs.find(input.apsJobId, input.regionId);
      if (!job) throw unknownJob(input.apsJobId);
      const { status } = jobs.poll(job);
      return {
        body: { RequestId: requestId, APSJobDetail: detailOf(jobs, job, status) },
        code: 'OK',
        applied: false,
      };
    }
    case 'SuspendApsJob': {
      const job = jobs.find(input.apsJobId, input.regionId);
      if (!job) throw unknownJob(input.apsJobId);
      jobs.suspend(job);
      return {
        body: {
          ApsJobId: input.apsJobId,
          HttpStatusCode: 200,
          RequestId: requestId,
          Success: true,
          ErrCode: 0,
          ErrMessage: '',
        },
        code: 'OK',
        applied: true,
      };
    }
    case 'DescribeApsJobs': {
      const all = jobs.listStored({
        regionId: input.regionId,
        nameContains: input.apsJobName,
        createdFrom: input.createdFrom,
        createdTo: input.createdTo,
      });
      const first = (input.pageNumber - 1) * input.pageSize;
      const page = all.slice(first, first + input.pageSize).map((job) => {
        const snap = jobs.snapshot(job);
        return {
          ApsJobId: snap.apsJobId,
          ApsJobName: snap.name,
          Status: snap.status,
          SubStatus: job.script.subStatus ?? '',
          Projress: jobs.progress(job),
          Delay: /^running$/i.test(snap.status) ? (job.script.delay ?? 0) : 0,
          ErrMessage: snap.errMessage ?? '',
          CreateTime: snap.createTime,
          SourceInstanceID: job.script.sourceInstanceId ?? defaultSource(job),
          DestinationInstanceID: clusterOf(job.script),
        };
      });
      return {
        body: {
          APSJobs: page,
          PageNumber: input.pageNumber,
          PageSize: input.pageSize,
          TotalCount: all.length,
          Success: true,
          Code: 200,
          Message: 'Success',
          RequestId: requestId,
        },
        code: 'OK',
        applied: false,
      };
    }
    case 'DescribeApsActionLogs': {
      if (!jobs.hasCluster(input.dbClusterId)) {
        throw new RpcError(
          'InvalidDBCluster.NotFound',
          `The specified DBClusterId ${input.dbClusterId} is not found.`,
          404,
        );
      }
      // A job of another cluster or region, or no such job: no lines (not an error).
      const job = jobs.peek(input.apsJobId, input.regionId);
      const lines =
        job && clusterOf(job.script) === input.dbClusterId
          ? jobs.logLines(job, {
              from: input.startTime,
              to: input.endTime,
              ...(input.states ? { states: input.states } : {}),
              ...(input.stage !== undefined ? { stage: input.stage } : {}),
              ...(input.keyword !== undefined ? { keyword: input.keyword } : {}),
            })
          : [];
      const first = (input.pageNumber - 1) * input.pageSize;
      return {
        // Counts as strings, as the API's metadata declares them.
        body: {
          RequestId: requestId,
          DBClusterId: input.dbClusterId,
          WorkloadId: input.apsJobId,
          TotalCount: String(lines.length),
          PageSize: String(input.pageSize),
          PageNumber: String(input.pageNumber),
          ActionLogs: lines.slice(first, first + input.pageSize).map((l) => ({
            Time: formatAcsDate(new Date(l.time)),
            Stage: l.stage,
            State: l.state,
            Context: l.context,
          })),
        },
        code: 'OK',
        applied: false,
      };
    }
  }
}
