/**
 * The {@link ApsApi} over `@alicloud/openapi-client` 0.4.15: ACS3-signed RPC calls to the `adb`
 * 2021-12-01 API, one attempt each (Temporal owns retries), every failure thrown as
 * {@link ApsApiError}.
 */
import OpenApi, * as $OpenApi from '@alicloud/openapi-client';
import * as $Util from '@alicloud/tea-util';
import Credential, {
  Config as CredentialConfig,
  DefaultCredentialsProvider,
  type CredentialsProvider,
} from '@alicloud/credentials';
import type { CredentialsConfig } from '../config';
import { describeValue, InputValidationError, validateApsJobId, validateRegionId } from '../validation';
import { errorFromBody, INVALID_CREDENTIALS, MALFORMED_RESPONSE, normalizeError, redactText } from './errors';
import { classifyStatus } from './status';
import { formatApiTime, MAX_ACTION_LOG_WINDOW_MS } from './action-logs';
import {
  ApsApiError,
  type ActionLogLine,
  type ActionLogsInput,
  type ActionLogsResult,
  type ApsApi,
  type ApsError,
  type ApsJobSummary,
  type JobDetail,
  type JobRef,
  type ListJobsInput,
  type ListJobsResult,
  type StartJobResult,
  type SuspendJobResult,
} from './types';

/** One finished API call, reported to {@link ApsClientOptions.onCall}. */
export interface ApsCallEvent {
  /** The API action, e.g. `StartApsJob`. */
  action: string;
  /** The region called. */
  regionId: string;
  /** The job, for job-level actions. */
  apsJobId?: string;
  /** Wall time of the call in milliseconds. */
  durationMs: number;
  /** `OK` on success, else the normalized error code. */
  code: string;
  /** The HTTP status, when a response arrived. */
  httpStatus?: number;
}

/** How {@link createApsApi} reaches the service. */
export interface ApsClientOptions {
  /** An explicit key pair, or the `@alicloud/credentials` default chain. */
  credentials: CredentialsConfig;
  /** `host[:port]` that overrides the per-region endpoint (no scheme: see `protocol`). */
  endpoint?: string;
  /** Protocol (default `https`); `http` reaches a local emulator. */
  protocol?: 'https' | 'http';
  /** Per-region endpoint flavour (default `public`). */
  endpointType?: 'public' | 'vpc';
  /**
   * Connect timeout in ms (default 30 000). httpx arms it as the socket's idle timeout for the whole
   * exchange, so it also caps the wait for a response (failing as `ConnectTimeout`) unless it is at
   * least `readTimeoutMs`.
   */
  connectTimeoutMs?: number;
  /** Read timeout in ms (default 30 000). */
  readTimeoutMs?: number;
  /** Called after every call, success or failure, for metrics and logs; must not throw. */
  onCall?: (e: ApsCallEvent) => void;
}

const API_VERSION = '2021-12-01';

/**
 * Most per-region clients one {@link createApsApi} keeps. Region IDs come from workflow input, so
 * the cache must not grow with whatever regions callers name; 32 covers every Alibaba Cloud region
 * in use at once by a real deployment. Past it the least recently used client is dropped and
 * rebuilt when its region is called again: a client is only configuration (keep-alive is off, so
 * no sockets are pooled in it), and an in-flight call keeps the one it started with.
 */
export const MAX_REGION_CLIENTS = 32;

/** A map that holds at most `max` entries and drops the least recently used one past that. */
export class LruMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(
    /** Most entries held (at least 1). */
    readonly max: number,
  ) {
    if (!Number.isInteger(max) || max < 1)
      throw new RangeError(`LruMap: max must be a whole number ≥ 1, got ${max}`);
  }

  /** Entries held. */
  get size(): number {
    return this.entries.size;
  }

  /** The value, which becomes the most recently used; undefined when absent. */
  get(key: K): V | undefined {
    if (!this.entries.has(key)) return undefined;
    const value = this.entries.get(key) as V;
    // A Map iterates in insertion order: re-inserting moves the key to the young end.
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  /** Sets the value as the most recently used, dropping the least recently used past `max`. */
  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.max) break;
      this.entries.delete(oldest);
    }
  }

  /** Keys from the least to the most recently used. */
  keys(): K[] {
    return [...this.entries.keys()];
  }
}
const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
const DEFAULT_READ_TIMEOUT_MS = 30_000;
/** Bounds from the generated SDK's request validation for DescribeApsJobs. */
const MAX_PAGE_NUMBER = 10_000;
const MAX_PAGE_SIZE = 1_000;
/** Page sizes DescribeApsActionLogs documents. */
const ACTION_LOG_PAGE_SIZES: readonly number[] = [30, 50, 100];
/** The levels of DescribeApsActionLogs' State filter, and its stages. */
const ACTION_LOG_STATES: readonly string[] = ['INFO', 'WARN', 'ERROR'];
const ACTION_LOG_STAGES: readonly string[] = ['StructureMigrate', 'FullDataSync', 'IncrementalSync'];
/** An AnalyticDB cluster ID (`amv-…`): what the API would take, loosely. */
const DB_CLUSTER_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** The endpoint for a region: the override when set, else `adb[-vpc].<region>.aliyuncs.com`. */
export function endpointFor(
  regionId: string,
  options: Pick<ApsClientOptions, 'endpoint' | 'endpointType'>,
): string {
  validateRegionId(regionId);
  if (options.endpoint) return options.endpoint;
  return `${options.endpointType === 'vpc' ? 'adb-vpc' : 'adb'}.${regionId}.aliyuncs.com`;
}

/**
 * Resolves the credential once, as the client would, and throws an {@link ApsApiError} with code
 * `InvalidCredentials` (and no secret in its message) when it is unusable.
 */
export async function checkCredentials(options: ApsClientOptions): Promise<void> {
  let resolved: { accessKeyId?: string; accessKeySecret?: string; providerName?: string };
  try {
    resolved = await credentialFor(options.credentials).getCredential();
  } catch (err) {
    if (err instanceof ApsApiError) throw err;
    throw new ApsApiError(
      credentialsError(`cannot resolve the credentials: ${redactText((err as Error).message)}`),
    );
  }
  if (!resolved.accessKeyId || !resolved.accessKeySecret) {
    throw new ApsApiError(
      credentialsError(
        `the credential from ${resolved.providerName ?? 'the provider'} has no access key ID or secret`,
      ),
    );
  }
}

/** Creates the {@link ApsApi} backed by `@alicloud/openapi-client`. */
export function createApsApi(options: ApsClientOptions): ApsApi {
  if (
    options.endpoint !== undefined &&
    !/^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(?::\d{1,5})?$/.test(options.endpoint)
  ) {
    throw new InputValidationError(
      'endpoint',
      'host[:port] without a scheme or path, e.g. adb.cn-hangzhou.aliyuncs.com or 127.0.0.1:9000',
      describeValue(options.endpoint),
    );
  }
  const credential = credentialFor(options.credentials);
  const protocol = options.protocol ?? 'https';
  const connectTimeout = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const readTimeout = options.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
  const clients = new LruMap<string, OpenApi>(MAX_REGION_CLIENTS);

  function clientFor(regionId: string): OpenApi {
    const endpoint = endpointFor(regionId, options);
    const key = `${endpoint}|${regionId}`;
    let client = clients.get(key);
    if (!client) {
      client = new OpenApi(
        new $OpenApi.Config({ credential, endpoint, protocol, regionId, connectTimeout, readTimeout }),
      );
      clients.set(key, client);
    }
    return client;
  }

  async function call<T>(
    action: string,
    regionId: string,
    apsJobId: string | undefined,
    body: Record<string, string | number>,
    parse: (body: Record<string, unknown>, httpStatus: number | undefined) => T,
  ): Promise<T> {
    const client = clientFor(regionId);
    const params = new $OpenApi.Params({
      action,
      version: API_VERSION,
      protocol: 'HTTPS',
      pathname: '/',
      method: 'POST',
      authType: 'AK',
      style: 'RPC',
      reqBodyType: 'formData',
      bodyType: 'json',
    });
    // One attempt: autoretry off (Temporal is the only retry layer). keepAlive off: APS calls are
    // seconds apart, so a pooled socket is usually one the server already closed, and writing to it
    // fails with ECONNRESET, an ambiguous error that would force a status re-read for nothing.
    const runtime = new $Util.RuntimeOptions({
      autoretry: false,
      maxAttempts: 1,
      keepAlive: false,
      connectTimeout,
      readTimeout,
    });
    const started = performance.now();
    let code = 'OK';
    let httpStatus: number | undefined;
    try {
      const res = await client.callApi(params, new $OpenApi.OpenApiRequest({ body }), runtime);
      httpStatus = typeof res.statusCode === 'number' ? res.statusCode : undefined;
      const resBody: Record<string, unknown> = isRecord(res.body) ? res.body : {};
      // openapi-client only throws for 4xx/5xx; a refusal can also arrive as HTTP 200.
      if (resBody.Success === false || resBody.Success === 'false') {
        const refusal = errorFromBody(resBody, httpStatus);
        throw new ApsApiError({ ...refusal, message: `${action} failed: ${refusal.message}` });
      }
      return parse(resBody, httpStatus);
    } catch (err) {
      const error = normalizeError(err, { action });
      code = error.code;
      httpStatus = error.httpStatus;
      throw err instanceof ApsApiError ? err : new ApsApiError(error);
    } finally {
      try {
        options.onCall?.({
          action,
          regionId,
          apsJobId,
          durationMs: performance.now() - started,
          code,
          httpStatus,
        });
      } catch {
        // A broken metrics hook must not turn a call that already happened (a start!) into a
        // failure that Temporal would retry.
      }
    }
  }

  function jobCall<T>(
    action: string,
    ref: JobRef,
    parse: (body: Record<string, unknown>, httpStatus: number | undefined) => T,
  ): Promise<T> {
    const regionId = validateRegionId(ref.regionId);
    const apsJobId = validateApsJobId(ref.apsJobId);
    return call(action, regionId, apsJobId, { RegionId: regionId, ApsJobId: apsJobId }, parse);
  }

  return {
    // Validation throws synchronously inside these async functions, so callers see a rejection.
    async startJob(ref): Promise<StartJobResult> {
      return jobCall('StartApsJob', ref, (b) => ({
        apsJobId: text(b.ApsJobId) ?? ref.apsJobId,
        requestId: text(b.RequestId),
        raw: b,
      }));
    },

    async describeJob(ref): Promise<JobDetail> {
      return jobCall('DescribeApsJobDetail', ref, (b, httpStatus) => {
        const detail = b.APSJobDetail;
        if (!isRecord(detail)) {
          throw malformed('DescribeApsJobDetail answered without an APSJobDetail object', b, httpStatus);
        }
        const destinationInstanceId = text(detail.DestinationEndpointInstanceID);
        return {
          apsJobId: ref.apsJobId,
          status: classifyStatus(detail.Status),
          requestId: text(b.RequestId),
          ...(destinationInstanceId !== undefined ? { destinationInstanceId } : {}),
          detail,
          raw: b,
        };
      });
    },

    async suspendJob(ref): Promise<SuspendJobResult> {
      return jobCall('SuspendApsJob', ref, (b) => ({
        apsJobId: text(b.ApsJobId) ?? ref.apsJobId,
        requestId: text(b.RequestId),
        raw: b,
      }));
    },

    async listJobs(input: ListJobsInput): Promise<ListJobsResult> {
      const regionId = validateRegionId(input.regionId);
      const pageNumber = validateInt(input.pageNumber ?? 1, 'pageNumber', MAX_PAGE_NUMBER);
      const pageSize = validateInt(input.pageSize ?? 30, 'pageSize', MAX_PAGE_SIZE);
      const body: Record<string, string | number> = {
        RegionId: regionId,
        PageNumber: pageNumber,
        PageSize: pageSize,
      };
      if (input.apsJobName !== undefined) {
        if (typeof input.apsJobName !== 'string' || input.apsJobName === '') {
          throw new InputValidationError(
            'apsJobName',
            'a non-empty job name',
            describeValue(input.apsJobName),
          );
        }
        body.ApsJobName = input.apsJobName;
      }
      return call('DescribeApsJobs', regionId, undefined, body, (b, httpStatus) => {
        const list = b.APSJobs ?? [];
        if (!Array.isArray(list)) {
          throw malformed('DescribeApsJobs answered with an APSJobs that is not a list', b, httpStatus);
        }
        const jobs = list.filter(isRecord).flatMap((j): ApsJobSummary[] => {
          const apsJobId = text(j.ApsJobId);
          return apsJobId === undefined
            ? []
            : [
                {
                  apsJobId,
                  apsJobName: text(j.ApsJobName),
                  status: classifyStatus(j.Status),
                  subStatus: text(j.SubStatus),
                  progress: text(j.Projress),
                  delay: num(j.Delay),
                  errMessage: text(j.ErrMessage),
                  createTime: text(j.CreateTime),
                },
              ];
        });
        return {
          jobs,
          pageNumber: num(b.PageNumber) ?? pageNumber,
          pageSize: num(b.PageSize) ?? pageSize,
          totalCount: num(b.TotalCount) ?? jobs.length,
          requestId: text(b.RequestId),
          raw: b,
        };
      });
    },

    async actionLogs(input: ActionLogsInput): Promise<ActionLogsResult> {
      const regionId = validateRegionId(input.regionId);
      const apsJobId = validateApsJobId(input.apsJobId);
      if (typeof input.dbClusterId !== 'string' || !DB_CLUSTER_ID_RE.test(input.dbClusterId)) {
        throw new InputValidationError(
          'dbClusterId',
          'an AnalyticDB cluster ID such as amv-bp1234567890',
          describeValue(input.dbClusterId),
        );
      }
      const { startTime, endTime } = input;
      if (!Number.isFinite(startTime) || !Number.isFinite(endTime) || endTime < startTime) {
        throw new InputValidationError('endTime', 'epoch ms at or after startTime', describeValue(endTime));
      }
      if (endTime - startTime > MAX_ACTION_LOG_WINDOW_MS) {
        throw new InputValidationError(
          'startTime',
          'at most 30 days before endTime',
          describeValue(startTime),
        );
      }
      const pageSize = input.pageSize ?? 30;
      if (!ACTION_LOG_PAGE_SIZES.includes(pageSize)) {
        throw new InputValidationError('pageSize', '30, 50 or 100', describeValue(pageSize));
      }
      const pageNumber = validateInt(input.pageNumber ?? 1, 'pageNumber', MAX_PAGE_NUMBER);
      const body: Record<string, string | number> = {
        RegionId: regionId,
        DBClusterId: input.dbClusterId,
        WorkloadId: apsJobId,
        StartTime: formatApiTime(startTime),
        EndTime: formatApiTime(endTime),
        PageSize: pageSize,
        PageNumber: pageNumber,
      };
      if (input.state !== undefined) {
        if (
          !Array.isArray(input.state) ||
          input.state.length === 0 ||
          !input.state.every((s) => ACTION_LOG_STATES.includes(s))
        ) {
          throw new InputValidationError(
            'state',
            'a non-empty list of INFO, WARN, ERROR',
            describeValue(input.state),
          );
        }
        body.State = input.state.join(',');
      }
      if (input.stage !== undefined) {
        if (!ACTION_LOG_STAGES.includes(input.stage)) {
          throw new InputValidationError(
            'stage',
            'StructureMigrate, FullDataSync or IncrementalSync',
            describeValue(input.stage),
          );
        }
        body.Stage = input.stage;
      }
      if (input.keyword !== undefined) {
        if (typeof input.keyword !== 'string' || input.keyword === '') {
          throw new InputValidationError('keyword', 'a non-empty text', describeValue(input.keyword));
        }
        body.Keyword = input.keyword;
      }
      return call('DescribeApsActionLogs', regionId, apsJobId, body, (b, httpStatus) => {
        const list = b.ActionLogs ?? [];
        if (!Array.isArray(list)) {
          throw malformed(
            'DescribeApsActionLogs answered with an ActionLogs that is not a list',
            b,
            httpStatus,
          );
        }
        const lines = list.filter(isRecord).map((l): ActionLogLine => ({
          time: text(l.Time) ?? '',
          ...(text(l.Stage) !== undefined ? { stage: text(l.Stage) } : {}),
          state: text(l.State) ?? '',
          context: typeof l.Context === 'string' ? l.Context : (text(l.Context) ?? ''),
        }));
        return {
          lines,
          totalCount: num(b.TotalCount) ?? lines.length,
          pageNumber: num(b.PageNumber) ?? pageNumber,
          pageSize: num(b.PageSize) ?? pageSize,
          requestId: text(b.RequestId),
          raw: b,
        };
      });
    },
  };
}

function credentialFor(config: CredentialsConfig): Credential {
  if (config.kind === 'default-chain') return new Credential(null, new RebuildingDefaultChain());
  if (!config.accessKeyId || !config.accessKeySecret) {
    throw new ApsApiError(credentialsError('an access key needs both an access key ID and a secret'));
  }
  return new Credential(
    new CredentialConfig({
      type: config.securityToken ? 'sts' : 'access_key',
      accessKeyId: config.accessKeyId,
      accessKeySecret: config.accessKeySecret,
      securityToken: config.securityToken,
    }),
  );
}

/**
 * The default chain, rebuilt after every failure. Once a resolution fails, the SDK's chain (2.4.7)
 * only ever asks the last provider it tried, so a chain that failed once (an ECS metadata hiccup, a
 * credentials file not written yet) would never recover; its errors are also wrapped here so that
 * they read as "no credentials" rather than as that provider's own failure (an `ENOTFOUND` from
 * the credentials-URI provider would otherwise look like a transient network error).
 */
class RebuildingDefaultChain implements CredentialsProvider {
  private inner = DefaultCredentialsProvider.builder().build();

  async getCredentials(): ReturnType<CredentialsProvider['getCredentials']> {
    try {
      return await this.inner.getCredentials();
    } catch (err) {
      this.inner = DefaultCredentialsProvider.builder().build();
      throw new ApsApiError(
        credentialsError(
          'no usable Alibaba Cloud credentials: the default chain (ALIBABA_CLOUD_ACCESS_KEY_ID and ' +
            'ALIBABA_CLOUD_ACCESS_KEY_SECRET, OIDC role, CLI profile, ~/.alibabacloud/credentials, ' +
            `ECS RAM role, credentials URI) found none (${redactText((err as Error).message)})`,
        ),
      );
    }
  }

  getProviderName(): string {
    return 'default';
  }
}

function credentialsError(message: string): ApsError {
  return { code: INVALID_CREDENTIALS, message, retryClass: 'permanent', ambiguous: false, raw: { message } };
}

function malformed(
  message: string,
  body: Record<string, unknown>,
  httpStatus: number | undefined,
): ApsApiError {
  return new ApsApiError({
    code: MALFORMED_RESPONSE,
    httpStatus,
    requestId: text(body.RequestId),
    message,
    retryClass: 'unknown',
    // Only read-only actions parse fields beyond the request ID, so nothing can have changed.
    ambiguous: false,
    raw: body,
  });
}

function validateInt(value: unknown, field: string, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new InputValidationError(field, `an integer from 1 to ${max}`, describeValue(value));
  }
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function num(value: unknown): number | undefined {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && value.trim() !== ''
        ? Number(value)
        : NaN;
  return Number.isFinite(n) ? n : undefined;
}
