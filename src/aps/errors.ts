/**
 * Turns anything an APS call throws or returns as a failure into one {@link ApsError}. The shapes
 * handled here are those of `@alicloud/openapi-client` 0.4.15, its HTTP layer `httpx`, and Node's
 * sockets (aps-api.md, "How openapi-client 0.4.x reports failures").
 */
import { InputValidationError } from '../validation';
import { ApsApiError, type ApsError, type RetryClass } from './types';

/** Synthetic code for a body that is not a JSON object (an HTML error page from a proxy, …). */
export const NON_JSON_RESPONSE = 'NonJsonResponse';
/** Synthetic code for a 200 response with `Success: false` and no `ErrCode`/`Code`. */
export const SUCCESS_FALSE = 'SuccessFalse';
/** Synthetic code for a response that lacks a field the operation needs. */
export const MALFORMED_RESPONSE = 'MalformedResponse';
/** Code of every credentials failure: the client's own, and the default chain finding none. */
export const INVALID_CREDENTIALS = 'InvalidCredentials';
/** Code of an {@link InputValidationError}: the call was never made. */
export const INPUT_VALIDATION = 'InputValidationError';
/** Code of a thrown value that carries no code at all. */
export const UNKNOWN_ERROR = 'UnknownError';

/** Synthetic code for an error response whose body carries no code, e.g. `HttpStatus503`. */
export function httpStatusCode(status: number): string {
  return `HttpStatus${status}`;
}

const REDACTED = '[REDACTED]';

const TRANSIENT_CODES = [
  'ServiceUnavailable',
  'ADBConsoleAPIError',
  'ADBConsoleAPITimeout',
  'InternalError',
  'InternalServerError',
  'InternalFailure',
  'AcsServerTimeOut',
  'SignatureNonceUsed',
  'IncorrectDBInstanceState',
  'ReadTimeout',
  'ConnectTimeout',
  'RequestTimeout',
  NON_JSON_RESPONSE,
];
const PERMANENT_CODES = [
  'InvalidInput',
  'InvalidAction',
  'ApiVersionForbidden',
  'InvalidDBClusterId.NotFound',
  'InvalidDBCluster.NotFound',
  'InvalidApi.NotFound',
  'InvalidAccessKeyId.NotFound',
  'InvalidAccessKeyId.Inactive',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'Unauthorized',
  'Forbidden',
  'InvalidTimeStamp.Expired',
  'InvalidTimeStamp.Format',
  'ADBClassNotSupport',
  INVALID_CREDENTIALS,
  INPUT_VALIDATION,
];
// Compared lower-case: the documented spellings vary in case between pages.
const TRANSIENT = new Set(TRANSIENT_CODES.map((c) => c.toLowerCase()));
const PERMANENT = new Set(PERMANENT_CODES.map((c) => c.toLowerCase()));
const PERMANENT_PREFIXES = ['invalidparameter', 'missingparameter', 'forbidden.'];
// Node's socket and DNS error codes (ECONNRESET, EAI_AGAIN, …) all look like this.
const SYSTEM_CODE = /^E[A-Z0-9_]+$/;
// These fail before a byte of the request is written, so the call cannot have taken effect.
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  INVALID_CREDENTIALS,
]);

/**
 * Every code known by name: the tables above, the members of the prefix families that aps-api.md
 * names (`Throttling.*`, `InvalidSecurityToken.*`, `InvalidParameter*`, `Forbidden.*`), Node's
 * usual socket errors, and the synthetic codes of this module. `HttpStatus<nnn>` codes are known
 * too (see {@link knownErrorCode}). A code outside this list is still classified (by prefix,
 * pattern or HTTP status); it is only not known by name, e.g. for a bounded metric label.
 */
export const KNOWN_ERROR_CODES: readonly string[] = Object.freeze([
  ...TRANSIENT_CODES,
  ...PERMANENT_CODES,
  'Throttling',
  'Throttling.User',
  'Throttling.Api',
  'InvalidSecurityToken.Expired',
  'InvalidSecurityToken.Malformed',
  'InvalidSecurityToken.MismatchWithAccessKey',
  'InvalidSecurityToken.Missing',
  'InvalidParameter',
  'MissingParameter',
  'Forbidden.RAM',
  ...[...NOT_SENT_CODES].filter((c) => c !== INVALID_CREDENTIALS),
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  SUCCESS_FALSE,
  MALFORMED_RESPONSE,
  UNKNOWN_ERROR,
]);

const KNOWN_BY_LOWER_CASE = new Map(KNOWN_ERROR_CODES.map((c) => [c.toLowerCase(), c]));
const HTTP_STATUS_CODE = /^HttpStatus[1-5]\d\d$/;

/**
 * The code as {@link KNOWN_ERROR_CODES} spells it (matched without regard to case), an
 * `HttpStatus<nnn>` code as it is, or undefined for a code not known by name.
 */
export function knownErrorCode(code: string): string | undefined {
  if (HTTP_STATUS_CODE.test(code)) return code;
  return KNOWN_BY_LOWER_CASE.get(code.toLowerCase());
}

/**
 * Retry class of an error code (aps-api.md, "Error codes"). The code decides; the HTTP status only
 * classifies codes the tables do not list (any 5xx or 408 is transient, 429 is throttled).
 */
export function classifyCode(code: string, httpStatus?: number): RetryClass {
  const c = code.toLowerCase();
  if (c === 'throttling' || c.startsWith('throttling.')) return 'throttled';
  if (TRANSIENT.has(c) || c.startsWith('invalidsecuritytoken.') || SYSTEM_CODE.test(code)) return 'transient';
  if (PERMANENT.has(c) || PERMANENT_PREFIXES.some((p) => c.startsWith(p))) return 'permanent';
  if (httpStatus !== undefined && (httpStatus >= 500 || httpStatus === 408)) return 'transient';
  if (httpStatus === 429) return 'throttled';
  return 'unknown';
}

/** The normalized error of an HTTP 200 body with `Success: false` (`ErrCode`/`ErrMessage` or `Code`/`Message`). */
export function errorFromBody(body: unknown, httpStatus?: number): ApsError {
  const b = isRecord(body) ? body : {};
  const code = codeString(b.ErrCode) ?? codeString(b.Code) ?? SUCCESS_FALSE;
  return {
    code,
    httpStatus,
    requestId: text(b.RequestId),
    message: redactText(text(b.ErrMessage) ?? text(b.Message) ?? 'the service answered Success: false'),
    retryClass: classifyCode(code, httpStatus),
    // The service gives no guarantee that a Success:false call had no effect.
    ambiguous: true,
    raw: redact(body),
  };
}

/**
 * Normalizes anything an APS call threw. An {@link ApsApiError} passes through unchanged;
 * `context.action` names the operation in the message.
 */
export function normalizeError(err: unknown, context: { action?: string } = {}): ApsError {
  if (err instanceof ApsApiError) return err.error;
  const e = fromThrown(err);
  return context.action ? { ...e, message: `${context.action} failed: ${e.message}` } : e;
}

function fromThrown(err: unknown): ApsError {
  if (err instanceof InputValidationError) {
    return {
      code: INPUT_VALIDATION,
      message: redactText(err.message),
      retryClass: 'permanent',
      ambiguous: false,
      raw: { field: err.field, expected: err.expected, got: redactText(err.got) },
    };
  }
  if (!(err instanceof Error)) {
    return {
      code: UNKNOWN_ERROR,
      message: redactText(describeThrown(err)),
      retryClass: 'unknown',
      ambiguous: true,
      raw: redact(err),
    };
  }
  const fields = err as Error & Record<string, unknown>;
  const message = redactText(tidyMessage(err.message));
  // A body that is not JSON (SyntaxError) or JSON that is not an object (tea-util's assertAsMap).
  if (err.name === 'SyntaxError' || err.message === 'The value is not a object') {
    return synthetic(NON_JSON_RESPONSE, message, true, fields);
  }
  if (err.name === 'RequestTimeoutError') {
    const code = /^ReadTimeout/.test(err.message)
      ? 'ReadTimeout'
      : /^ConnectTimeout/.test(err.message)
        ? 'ConnectTimeout'
        : 'RequestTimeout';
    // httpx arms its "connect" timeout as the socket's idle timeout for the whole exchange, so
    // `ConnectTimeout` also fires after the request was sent whenever the response takes longer
    // than the connect timeout (and the read timeout is longer): it cannot prove nothing was sent.
    return synthetic(code, message, true, fields);
  }
  const code = codeString(fields.code);
  const status = typeof fields.statusCode === 'number' ? fields.statusCode : undefined;
  if (status !== undefined) return fromResponse(code, status, fields, message);
  if (code !== undefined) {
    // A socket error after connecting may follow a request the server already acted on; a
    // failure in `connect` or a DNS lookup cannot have.
    const notSent =
      NOT_SENT_CODES.has(code) || fields.syscall === 'connect' || fields.syscall === 'getaddrinfo';
    return synthetic(code, message, !notSent, fields);
  }
  return synthetic(UNKNOWN_ERROR, message, true, fields);
}

/** openapi-client's error for an HTTP 4xx/5xx: `code` from the body, `data` = body + statusCode. */
function fromResponse(
  code: string | undefined,
  status: number,
  err: Record<string, unknown>,
  message: string,
): ApsError {
  const data = isRecord(err.data) ? err.data : {};
  const finalCode = code ?? httpStatusCode(status);
  const bodyMessage = text(data.Message) ?? text(data.message);
  return {
    code: finalCode,
    httpStatus: status,
    requestId: text(data.RequestId) ?? text(data.requestId),
    message: bodyMessage
      ? redactText(bodyMessage)
      : code === undefined
        ? `HTTP ${status} without an error code in the body`
        : message,
    retryClass: classifyCode(finalCode, status),
    ambiguous: status >= 500 || status === 408 || finalCode.toLowerCase() === 'acsservertimeout',
    raw: redact(isRecord(err.data) ? err.data : errorFields(err)),
  };
}

function synthetic(
  code: string,
  message: string,
  ambiguous: boolean,
  err: Record<string, unknown>,
): ApsError {
  return { code, message, retryClass: classifyCode(code), ambiguous, raw: redact(errorFields(err)) };
}

function errorFields(err: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ['name', 'message', 'code', 'errno', 'syscall', 'description', 'data']) {
    if (err[key] !== undefined) out[key] = err[key];
  }
  return out;
}

/** A usable code: a non-empty string or a number; openapi-client writes the string `"undefined"` when the body had none. */
function codeString(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return undefined;
  const v = value.trim();
  return v === '' || v === 'undefined' || v === 'null' ? undefined : v;
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeThrown(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return `non-Error value thrown: ${JSON.stringify(value)}`;
  } catch {
    return 'non-Error value thrown';
  }
}

// httpx appends "POST http://… failed." to Node's message without a separator.
function tidyMessage(message: string): string {
  return message.replace(/([^\s.])((?:GET|POST|PUT|DELETE|HEAD) [a-z]+:\/\/)/, '$1. $2');
}

const SECRET_KEY = /authorization|secret|token|password|passwd|signature/i;

/**
 * Copies a value for logs with every field named like a credential (authorization, secret, token,
 * password, signature) replaced, and credential-looking text in strings masked. Only plain objects
 * and arrays are walked; other objects (streams, sockets) become their class name.
 */
export function redact(value: unknown): unknown {
  return redactValue(value, 0, new WeakSet());
}

function redactValue(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactText(value);
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value) || depth > 8) return '[…]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1, seen));
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return `[${value.constructor?.name ?? 'object'}]`;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) ? REDACTED : redactValue(v, depth + 1, seen);
  }
  return out;
}

/** Masks credential-looking text: an ACS signature header, and `key=value` / `"key": "value"` pairs whose key names a secret. */
export function redactText(s: string): string {
  return s
    .replace(/\b(ACS3-[A-Z0-9-]+|acs)\s+[A-Za-z0-9]+[=:][^"'\s]*/g, `$1 ${REDACTED}`)
    .replace(
      /\b([\w-]{0,64}(?:authorization|secret|token|password|passwd|signature)[\w-]{0,64})(["']?\s*[:=]\s*["']?)([^"'\s,&;}]+)/gi,
      `$1$2${REDACTED}`,
    );
}
