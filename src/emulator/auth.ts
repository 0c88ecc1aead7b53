/**
 * Authentication of an RPC request: ACS3-HMAC-SHA256 signature, STS token, timestamp and nonce.
 * The order is fixed: parse the header, find the key, check the token (the service needs it to
 * know the secret), verify body hash and signature, then the clock and the replay window, so that
 * each error code means "everything before this check was fine".
 */
import { RpcError } from './errors';
import type { NonceCache } from './replay';
import {
  ACS3_ALGORITHM,
  canonicalRequest,
  hmacSha256Hex,
  parseAcsDate,
  parseAuthorization,
  safeEqual,
  sha256Hex,
  stringToSign,
  type DistinctHeaders,
} from './signature';
import type { AccessKeyConfig } from './types';

/** The parts of a request authentication reads. */
export interface AuthRequest {
  /** HTTP method, upper-case. */
  method: string;
  /** Path as received (without the query). */
  path: string;
  /** Decoded query parameters. */
  query: readonly (readonly [string, string])[];
  /** Headers (`headersDistinct`). */
  headers: DistinctHeaders;
  /** The raw body. */
  body: Buffer;
  /** True when the query or body carries a V2 `Signature` parameter. */
  hasV2Signature: boolean;
}

/** Collaborators and settings of {@link authenticate}. */
export interface AuthContext {
  /** Configured keys by ID. */
  keys: ReadonlyMap<string, AccessKeyConfig>;
  /** Replay window. */
  nonces: NonceCache;
  /** Now, epoch ms. */
  now: number;
  /** Accepted clock skew in ms. */
  maxSkewMs: number;
}

/** The outcome of {@link authenticate}. */
export type AuthResult =
  | { ok: true; key: AccessKeyConfig }
  | { ok: false; error: RpcError; accessKeyId?: string; signatureValid: boolean | null };

function single(headers: DistinctHeaders, name: string): string | undefined {
  const values = headers[name];
  return values && values.length > 0 ? values.join(',') : undefined;
}

function incomplete(reason: string): RpcError {
  return new RpcError(
    'IncompleteSignature',
    `The request signature does not conform to Aliyun standards: ${reason}.`,
    400,
  );
}

/** Authenticates a request against the configured keys. Never throws. */
export function authenticate(req: AuthRequest, ctx: AuthContext): AuthResult {
  const fail = (
    error: RpcError,
    accessKeyId?: string,
    signatureValid: boolean | null = null,
  ): AuthResult => ({
    ok: false,
    error,
    accessKeyId,
    signatureValid,
  });

  const header = single(req.headers, 'authorization');
  if (header === undefined) {
    return fail(
      incomplete(
        req.hasV2Signature
          ? 'query-string (V2) signatures are not supported by the emulator; sign with ACS3-HMAC-SHA256'
          : 'the Authorization header is missing',
      ),
    );
  }
  const auth = parseAuthorization(header);
  if (typeof auth === 'string') return fail(incomplete(auth));
  if (auth.algorithm !== ACS3_ALGORITHM) {
    return fail(
      incomplete(`the algorithm ${auth.algorithm.slice(0, 40)} is not supported, use ${ACS3_ALGORITHM}`),
    );
  }
  const accessKeyId = auth.credential;
  for (const name of ['x-acs-date', 'x-acs-signature-nonce', 'x-acs-content-sha256']) {
    if (single(req.headers, name) === undefined)
      return fail(incomplete(`the ${name} header is missing`), accessKeyId);
  }

  const key = ctx.keys.get(accessKeyId);
  if (!key) {
    return fail(
      new RpcError('InvalidAccessKeyId.NotFound', 'Specified access key is not found.', 404),
      accessKeyId,
    );
  }
  if (key.inactive) {
    return fail(
      new RpcError('InvalidAccessKeyId.Inactive', 'Specified access key is disabled.', 400),
      accessKeyId,
    );
  }

  const token = single(req.headers, 'x-acs-security-token');
  const tokenKeyId = single(req.headers, 'x-acs-accesskey-id');
  if (key.securityToken !== undefined) {
    if (token === undefined) {
      return fail(
        new RpcError(
          'InvalidSecurityToken.Missing',
          'This access key is an STS key: the security token is missing.',
          400,
        ),
        accessKeyId,
      );
    }
    if (!safeEqual(token, key.securityToken) || (tokenKeyId !== undefined && tokenKeyId !== accessKeyId)) {
      return fail(
        new RpcError(
          'InvalidSecurityToken.MismatchWithAccessKey',
          'Specified SecurityToken mismatch with the AccessKey.',
          400,
        ),
        accessKeyId,
      );
    }
    if (key.securityTokenExpired) {
      return fail(
        new RpcError('InvalidSecurityToken.Expired', 'Specified SecurityToken is expired.', 400),
        accessKeyId,
      );
    }
  } else if (token !== undefined) {
    return fail(
      new RpcError(
        'InvalidSecurityToken.MismatchWithAccessKey',
        'A security token was sent with an access key that is not an STS key.',
        400,
      ),
      accessKeyId,
    );
  }

  const sentHash = (single(req.headers, 'x-acs-content-sha256') ?? '').toLowerCase();
  if (!safeEqual(sentHash, sha256Hex(req.body))) {
    return fail(
      new RpcError(
        'SignatureDoesNotMatch',
        'The x-acs-content-sha256 header does not match the SHA-256 of the body.',
      ),
      accessKeyId,
      false,
    );
  }
  const canonical = canonicalRequest({
    method: req.method,
    path: req.path,
    query: req.query,
    headers: req.headers,
    hashedPayload: single(req.headers, 'x-acs-content-sha256') ?? '',
  });
  const expectedSigned = canonical.signedHeaders.join(';');
  if (auth.signedHeaders.join(';') !== expectedSigned) {
    return fail(
      new RpcError(
        'SignatureDoesNotMatch',
        `SignedHeaders must list exactly the host, content-type and x-acs-* headers sent: expected ${expectedSigned}.`,
      ),
      accessKeyId,
      false,
    );
  }
  const toSign = stringToSign(canonical.text);
  if (!safeEqual(auth.signature.toLowerCase(), hmacSha256Hex(key.accessKeySecret, toSign))) {
    return fail(
      new RpcError(
        'SignatureDoesNotMatch',
        `Specified signature does not match our calculation. server string to sign is:${toSign}`,
      ),
      accessKeyId,
      false,
    );
  }

  const dateText = single(req.headers, 'x-acs-date') ?? '';
  const date = parseAcsDate(dateText);
  if (date === undefined) {
    return fail(
      new RpcError(
        'InvalidTimeStamp.Format',
        `Specified time stamp or date value is not well formatted: ${JSON.stringify(dateText.slice(0, 40))}; expected YYYY-MM-DDThh:mm:ssZ.`,
      ),
      accessKeyId,
      true,
    );
  }
  if (Math.abs(ctx.now - date) > ctx.maxSkewMs) {
    return fail(
      new RpcError('InvalidTimeStamp.Expired', `Specified time stamp or date value is expired: ${dateText}.`),
      accessKeyId,
      true,
    );
  }
  if (!ctx.nonces.checkAndRecord(accessKeyId, single(req.headers, 'x-acs-signature-nonce') ?? '', ctx.now)) {
    return fail(
      new RpcError('SignatureNonceUsed', 'Specified signature nonce was used already.'),
      accessKeyId,
      true,
    );
  }
  return { ok: true, key };
}
