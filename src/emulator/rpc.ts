/**
 * The RPC pipeline for one parsed request: authenticate, check version and action, rate-limit,
 * check parameters, then either perform the action or let an armed fault shape the answer.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { executeAction, isApsAction, parseActionInput, type ActionInput } from './actions';
import { authenticate } from './auth';
import { API_VERSION, defaultHttpStatus, errorBody, RpcError, stockMessage } from './errors';
import type { DistinctHeaders } from './signature';
import type { EmulatorState } from './state';
import type { ActiveFault, ApsAction, FaultKind } from './types';

/** An RPC request after HTTP parsing. */
export interface RpcRequest {
  /** HTTP method, upper-case. */
  method: string;
  /** Path (`/`). */
  path: string;
  /** Decoded query parameters, in order. */
  query: readonly (readonly [string, string])[];
  /** Query and body parameters merged (names are unique). */
  params: ReadonlyMap<string, string>;
  /** Headers. */
  headers: DistinctHeaders;
  /** Raw body. */
  body: Buffer;
}

/** What to send back. */
export type Answer =
  | {
      kind: 'json';
      status: number;
      body: Record<string, unknown>;
      code: string;
      headers?: Record<string, string>;
      /** Close the connection after answering (the request body was not read to its end). */
      close?: boolean;
    }
  | { kind: 'html'; status: 502; code: 'BadGateway' }
  | { kind: 'reset'; code: 'ConnectionReset' }
  | { kind: 'gone'; code: 'ClientClosedRequest' };

/** A JSON answer. */
export type JsonAnswer = Extract<Answer, { kind: 'json' }>;

/** What the pipeline learned about a request, for the log (filled in as it goes). */
export interface RpcTrace {
  /** Action named. */
  action?: string;
  /** ApsJobId parameter. */
  apsJobId?: string;
  /** Key ID from the Authorization header. */
  accessKeyId?: string;
  /** Signature verdict (null: not reached). */
  signatureValid: boolean | null;
  /** Fault that shaped the answer. */
  fault?: FaultKind | 'rate-limit';
  /** The action's effect took place. */
  applied: boolean;
}

/** The JSON error answer for an {@link RpcError}. */
export function errorAnswer(err: RpcError, requestId: string, hostId: string): JsonAnswer {
  return {
    kind: 'json',
    status: err.httpStatus,
    body: { ...errorBody(err.code, err.message, requestId, hostId) },
    code: err.code,
  };
}

function headerOrParam(req: RpcRequest, header: string, param: string): string | undefined {
  const h = req.headers[header];
  if (h && h.length > 0 && h[0] !== '') return h[0];
  const p = req.params.get(param);
  return p === '' ? undefined : p;
}

function successFalseBody(
  action: ApsAction,
  apsJobId: string | undefined,
  requestId: string,
  errCode: string,
  errMessage: string,
): Record<string, unknown> {
  const status = defaultHttpStatus(errCode);
  switch (action) {
    case 'StartApsJob':
      return {
        HttpStatusCode: status,
        ApsJobId: apsJobId,
        RequestId: requestId,
        Success: false,
        ErrCode: errCode,
        ErrMessage: errMessage,
        Code: errCode,
        Message: errMessage,
      };
    case 'SuspendApsJob':
      return {
        ApsJobId: apsJobId,
        HttpStatusCode: status,
        RequestId: requestId,
        Success: false,
        ErrCode: errCode,
        ErrMessage: errMessage,
      };
    case 'DescribeApsJobs':
    case 'DescribeApsActionLogs':
      return { RequestId: requestId, Success: false, Code: errCode, Message: errMessage };
    case 'DescribeApsJobDetail':
      // The detail response has no Success field normally; a failed one carries no APSJobDetail.
      return { RequestId: requestId, Success: false, ErrCode: errCode, ErrMessage: errMessage };
  }
}

function faultAnswer(
  fault: ActiveFault,
  action: ApsAction,
  apsJobId: string | undefined,
  requestId: string,
  hostId: string,
): Answer {
  switch (fault.kind) {
    case 'error':
      return errorAnswer(
        new RpcError(fault.code, fault.message ?? stockMessage(fault.code), fault.httpStatus),
        requestId,
        hostId,
      );
    case 'success-false': {
      const errCode = fault.errCode ?? 'InternalError';
      const errMessage = fault.errMessage ?? stockMessage(errCode);
      return {
        kind: 'json',
        status: 200,
        body: successFalseBody(action, apsJobId, requestId, errCode, errMessage),
        code: errCode,
      };
    }
    case 'html-502':
      return { kind: 'html', status: 502, code: 'BadGateway' };
    case 'reset':
      return { kind: 'reset', code: 'ConnectionReset' };
    case 'latency':
      throw new Error('a latency fault has no answer of its own');
  }
}

/** Waits, or stops early when the client leaves or the server closes; true when the time passed. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

/**
 * Answers one RPC request. `signal` aborts when the client disconnects or the server stops; an
 * injected latency then ends early and (without `applyFirst`) the action never takes place.
 */
export async function answerRpc(
  state: EmulatorState,
  req: RpcRequest,
  requestId: string,
  trace: RpcTrace,
  signal: AbortSignal,
): Promise<Answer> {
  const hostId = state.options.hostId;
  const fail = (err: RpcError): Answer => errorAnswer(err, requestId, hostId);
  const now = state.options.now();

  trace.action = headerOrParam(req, 'x-acs-action', 'Action');
  trace.apsJobId = req.params.get('ApsJobId') || req.params.get('WorkloadId') || undefined;

  const auth = authenticate(
    {
      method: req.method,
      path: req.path,
      query: req.query,
      headers: req.headers,
      body: req.body,
      hasV2Signature: req.params.has('Signature'),
    },
    { keys: state.keys, nonces: state.nonces, now, maxSkewMs: state.options.maxClockSkewMs },
  );
  if (!auth.ok) {
    trace.accessKeyId = auth.accessKeyId;
    trace.signatureValid = auth.signatureValid;
    return fail(auth.error);
  }
  trace.accessKeyId = auth.key.accessKeyId;
  trace.signatureValid = true;

  const version = headerOrParam(req, 'x-acs-version', 'Version');
  if (version === undefined) {
    return fail(
      new RpcError(
        'MissingParameter',
        'The input parameter "Version" that is mandatory for processing this request is not supplied.',
      ),
    );
  }
  if (version !== API_VERSION) {
    return fail(
      new RpcError(
        'ApiVersionForbidden',
        `The API version ${JSON.stringify(version.slice(0, 40))} is forbidden; adb here serves ${API_VERSION}.`,
      ),
    );
  }
  const action = trace.action;
  if (action === undefined) {
    return fail(
      new RpcError(
        'MissingParameter',
        'The input parameter "Action" that is mandatory for processing this request is not supplied.',
      ),
    );
  }
  if (!isApsAction(action)) {
    return fail(
      new RpcError(
        'InvalidAction',
        `Specified api ${JSON.stringify(action.slice(0, 64))} is not found.`,
        400,
      ),
    );
  }

  if (!state.limiter.take(auth.key.accessKeyId, now)) {
    trace.fault = 'rate-limit';
    return fail(new RpcError('Throttling.User', stockMessage('Throttling.User'), 400));
  }

  let input: ActionInput;
  try {
    input = parseActionInput(action, req.params);
  } catch (err) {
    if (err instanceof RpcError) return fail(err);
    throw err;
  }

  const perform = (): Answer => {
    try {
      const result = executeAction(input, state.jobs, requestId);
      trace.applied = result.applied;
      return { kind: 'json', status: 200, body: result.body, code: result.code };
    } catch (err) {
      if (err instanceof RpcError) return fail(err);
      throw err;
    }
  };

  const apsJobId = 'apsJobId' in input ? input.apsJobId : undefined;
  const fault = state.faults.take(action, apsJobId);
  if (!fault) return perform();
  trace.fault = fault.kind;
  const early = fault.applyFirst ? perform() : undefined;
  if (fault.latencyMs !== undefined && fault.latencyMs > 0) {
    if (!(await pause(fault.latencyMs, signal))) return { kind: 'gone', code: 'ClientClosedRequest' };
  }
  if (fault.kind === 'latency') return early ?? perform();
  return faultAnswer(fault, action, apsJobId, requestId, hostId);
}
