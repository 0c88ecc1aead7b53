/**
 * ACS3-HMAC-SHA256 canonicalization, exactly as aps-api.md ("Verifying a V3 signature") spells
 * it and as `@alicloud/openapi-util` computes it. Pure functions: the verifier (auth.ts) and the
 * test signer share them, and the tests cross-check them against openapi-util itself.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The only algorithm accepted. */
export const ACS3_ALGORITHM = 'ACS3-HMAC-SHA256';

/** Headers as Node's `headersDistinct` gives them: lower-case names, every value kept. */
export type DistinctHeaders = Record<string, string[] | undefined>;

/** RFC 3986 encoding: encodeURIComponent, then `!'()*` percent-encoded too. */
export function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Canonical query: decoded keys sorted, each `key=` + RFC 3986 encoded value, joined by `&`.
 * Keys stay unencoded because openapi-util signs them that way.
 */
export function canonicalQuery(query: readonly (readonly [string, string])[]): string {
  return [...query]
    .sort((a, b) => byCodeUnit(a[0], b[0]))
    .map(([k, v]) => `${k}=${rfc3986(v)}`)
    .join('&');
}

/** True for the headers that ACS3 signs: `host`, `content-type` and `x-acs-*`. */
export function isSignedHeaderName(name: string): boolean {
  const lower = name.toLowerCase();
  return lower === 'host' || lower === 'content-type' || lower.startsWith('x-acs-');
}

/**
 * Canonical headers: every signable header, name lower-cased, values trimmed (several values of
 * one name sorted and joined by `,`), sorted by name, each `name:value\n`.
 */
export function canonicalHeaders(headers: DistinctHeaders): { canonical: string; signedHeaders: string[] } {
  const names = Object.keys(headers)
    .filter(isSignedHeaderName)
    .map((n) => n.toLowerCase())
    .sort(byCodeUnit);
  let canonical = '';
  for (const name of names) {
    const values = (headers[name] ?? []).map((v) => v.trim()).sort(byCodeUnit);
    canonical += `${name}:${values.join(',')}\n`;
  }
  return { canonical, signedHeaders: names };
}

/** The parts of a request that the signature covers. */
export interface SignableRequest {
  /** HTTP method, upper-case. */
  method: string;
  /** Path, `/` for RPC. */
  path: string;
  /** Decoded query parameters. */
  query: readonly (readonly [string, string])[];
  /** Headers, lower-case names. */
  headers: DistinctHeaders;
  /** Hex SHA-256 of the body, as sent in `x-acs-content-sha256`. */
  hashedPayload: string;
}

/** The canonical request string (step 3). */
export function canonicalRequest(req: SignableRequest): { text: string; signedHeaders: string[] } {
  const { canonical, signedHeaders } = canonicalHeaders(req.headers);
  const text = [
    req.method,
    req.path,
    canonicalQuery(req.query),
    canonical,
    signedHeaders.join(';'),
    req.hashedPayload,
  ].join('\n');
  return { text, signedHeaders };
}

/** The string to sign (step 4). */
export function stringToSign(canonicalRequestText: string): string {
  return `${ACS3_ALGORITHM}\n${sha256Hex(canonicalRequestText)}`;
}

/** Hex SHA-256. */
export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Hex HMAC-SHA256 (step 5). */
export function hmacSha256Hex(secret: string, data: string): string {
  return createHmac('sha256', secret).update(data).digest('hex');
}

/** Constant-time comparison of two strings (false when the lengths differ). */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  // timingSafeEqual throws on different lengths; the length of a hex digest is no secret.
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/** The fields of an `Authorization: ACS3-HMAC-SHA256 …` header. */
export interface ParsedAuthorization {
  /** The algorithm named first. */
  algorithm: string;
  /** The access key ID (`Credential=`). */
  credential: string;
  /** `SignedHeaders=`, split on `;`. */
  signedHeaders: string[];
  /** `Signature=`, hex. */
  signature: string;
}

/** Parses an Authorization header; returns a reason string when it is malformed. */
export function parseAuthorization(header: string): ParsedAuthorization | string {
  const m = /^(\S+)\s+(.*)$/s.exec(header.trim());
  if (!m) return 'the Authorization header is not `<algorithm> Credential=…,SignedHeaders=…,Signature=…`';
  const algorithm = m[1] as string;
  const fields = new Map<string, string>();
  for (const part of (m[2] as string).split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0)
      return `the Authorization field ${JSON.stringify(part.trim().slice(0, 40))} has no name=value`;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential) return 'the Authorization header has no Credential';
  if (signedHeaders === undefined || signedHeaders === '')
    return 'the Authorization header has no SignedHeaders';
  if (!signature) return 'the Authorization header has no Signature';
  return { algorithm, credential, signedHeaders: signedHeaders.split(';'), signature };
}

/** `x-acs-date` format: ISO-8601 UTC to the second. */
export function formatAcsDate(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Parses an `x-acs-date` value (`YYYY-MM-DDTHH:mm:ssZ`); undefined when malformed. */
export function parseAcsDate(value: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Input of {@link signAcs3}. */
export interface SignInput {
  /** HTTP method (default POST). */
  method?: string;
  /** Path (default `/`). */
  path?: string;
  /** Decoded query parameters. */
  query?: readonly (readonly [string, string])[];
  /** Headers to send and sign (must include `host`); names are lower-cased. */
  headers: Record<string, string>;
  /** The exact body bytes. */
  body: string | Buffer;
  /** Key ID. */
  accessKeyId: string;
  /** Key secret. */
  accessKeySecret: string;
  /** STS token, sent as `x-acs-security-token` with `x-acs-accesskey-id`. */
  securityToken?: string;
  /** `x-acs-date` (default now). */
  date?: Date;
  /** `x-acs-signature-nonce` (default random). */
  nonce?: string;
}

/**
 * Signs a request the way openapi-client does and returns every header to send, Authorization
 * included. For hand-made requests (clock-skew and replay tests, curl-like tools).
 */
export function signAcs3(input: SignInput): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.headers)) headers[k.toLowerCase()] = v;
  headers['x-acs-date'] ??= formatAcsDate(input.date ?? new Date());
  headers['x-acs-signature-nonce'] ??= input.nonce ?? randomBytes(16).toString('hex');
  headers['x-acs-content-sha256'] = sha256Hex(input.body);
  if (input.securityToken !== undefined) {
    headers['x-acs-accesskey-id'] = input.accessKeyId;
    headers['x-acs-security-token'] = input.securityToken;
  }
  const distinct: DistinctHeaders = {};
  for (const [k, v] of Object.entries(headers)) distinct[k] = [v];
  const { text, signedHeaders } = canonicalRequest({
    method: (input.method ?? 'POST').toUpperCase(),
    path: input.path ?? '/',
    query: input.query ?? [],
    headers: distinct,
    hashedPayload: headers['x-acs-content-sha256'],
  });
  const signature = hmacSha256Hex(input.accessKeySecret, stringToSign(text));
  headers.authorization = `${ACS3_ALGORITHM} Credential=${input.accessKeyId},SignedHeaders=${signedHeaders.join(';')},Signature=${signature}`;
  return headers;
}
