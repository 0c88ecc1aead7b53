/**
 * Error codes the emulator answers, their HTTP statuses and the service's JSON error body.
 */
import { randomUUID } from 'node:crypto';

/** The only API version served. */
export const API_VERSION = '2021-12-01';

/** A request ID like the service's: an upper-case UUID. */
export function newRequestId(): string {
  return randomUUID().toUpperCase();
}

/** An error answer raised anywhere in the RPC pipeline. */
export class RpcError extends Error {
  override readonly name = 'RpcError';
  constructor(
    /** The `Code` of the body. */
    readonly code: string,
    /** The message of the body. */
    message: string,
    /** The HTTP status (default: {@link defaultHttpStatus} of the code). */
    readonly httpStatus: number = defaultHttpStatus(code),
  ) {
    super(message);
  }
}

/**
 * The HTTP status a code is answered with when a fault does not say. aps-api.md documents some
 * codes with several statuses; the emulator picks one per code and keeps to it.
 */
export function defaultHttpStatus(code: string): number {
  if (code === 'InvalidAccessKeyId.NotFound') return 404;
  if (code === 'AcsServerTimeOut') return 408;
  if (/^(InternalError|InternalServerError|InternalFailure)$/.test(code)) return 500;
  if (/^(ServiceUnavailable|ADBConsoleAPIError|ADBConsoleAPITimeout)$/.test(code)) return 503;
  if (code === 'Forbidden' || code.startsWith('Forbidden.')) return 403;
  return 400;
}

const STOCK_MESSAGES: Record<string, string> = {
  'Throttling.User': 'Request was denied due to user flow control.',
  'Throttling.Api': 'Request was denied due to api flow control.',
  Throttling: 'Request was denied due to flow control.',
  ServiceUnavailable: 'The request has failed due to a temporary failure of the server.',
  InternalError: 'The request processing has failed due to some unknown error, exception or failure.',
  AcsServerTimeOut: 'Request to the backend service timed out.',
  IncorrectDBInstanceState: 'Current DB instance state does not support this operation.',
  InvalidInput: 'The input is invalid.',
  SignatureNonceUsed: 'Specified signature nonce was used already.',
};

/** A stock message for a code (used by faults that give none). */
export function stockMessage(code: string): string {
  return STOCK_MESSAGES[code] ?? `The emulator injected the error ${code}.`;
}

/** The JSON body of an error answer, as the adb gateway shapes it. */
export interface ErrorBody {
  /** Request ID (also sent as `x-acs-request-id`). */
  RequestId: string;
  /** The host that answered. */
  HostId: string;
  /** Error code. */
  Code: string;
  /** Error message. */
  Message: string;
  /** Troubleshooting link. */
  Recommend: string;
}

/** Builds the JSON error body. */
export function errorBody(code: string, message: string, requestId: string, hostId: string): ErrorBody {
  return {
    RequestId: requestId,
    HostId: hostId,
    Code: code,
    Message: message,
    Recommend: `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(code)}&product=adb&requestId=${requestId}`,
  };
}
