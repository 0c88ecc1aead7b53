/**
 * Test helpers: raw calls through the real `@alicloud/openapi-client` (so signatures are really
 * computed by the SDK and verified by the emulator), hand-signed HTTP requests, and polling.
 */
import http from 'node:http';
import { strict as assert } from 'node:assert';
import OpenApi, { Config, OpenApiRequest, Params } from '@alicloud/openapi-client';
import { RuntimeOptions } from '@alicloud/tea-util';
import { signAcs3, type SignInput } from '../../src/emulator/signature';
import type { AccessKeyConfig } from '../../src/emulator/types';

/** Where and as whom a raw call goes. */
export interface RawTarget {
  /** `127.0.0.1:<port>`. */
  endpoint: string;
  /** Key pair (and STS token) the SDK signs with. */
  key: Pick<AccessKeyConfig, 'accessKeyId' | 'accessKeySecret' | 'securityToken'>;
  /** Config.regionId (default cn-hangzhou). */
  regionId?: string;
  /** Read timeout in ms (default 5000). */
  readTimeoutMs?: number;
  /** Connect timeout in ms (default 2000). */
  connectTimeoutMs?: number;
  /** Params.version (default 2021-12-01). */
  version?: string;
}

/** What openapi-client threw, with the fields it documents. */
export interface RawError {
  /** Error name (`Error`, `SyntaxError`, `RequestTimeoutError`, …). */
  name: string;
  /** Message. */
  message: string;
  /** `code`: the body's Code, or a Node system error code. */
  code?: string;
  /** HTTP status, when a 4xx/5xx JSON answer arrived. */
  statusCode?: number;
  /** The whole error body plus statusCode. */
  data?: Record<string, unknown>;
}

/** The outcome of a raw call. */
export type RawResult =
  | { ok: true; statusCode: number; body: Record<string, unknown>; headers: Record<string, string> }
  | { ok: false; error: RawError };

/** Calls an action through the real SDK, exactly as the generated adb SDK would. */
export async function rawCall(
  target: RawTarget,
  action: string,
  body: Record<string, string | number>,
): Promise<RawResult> {
  const client = new OpenApi(
    new Config({
      accessKeyId: target.key.accessKeyId,
      accessKeySecret: target.key.accessKeySecret,
      securityToken: target.key.securityToken,
      endpoint: target.endpoint,
      protocol: 'http',
      regionId: target.regionId ?? 'cn-hangzhou',
      readTimeout: target.readTimeoutMs ?? 5000,
      connectTimeout: target.connectTimeoutMs ?? 2000,
    }),
  );
  const params = new Params({
    action,
    version: target.version ?? '2021-12-01',
    protocol: 'HTTPS',
    pathname: '/',
    method: 'POST',
    authType: 'AK',
    style: 'RPC',
    reqBodyType: 'formData',
    bodyType: 'json',
  });
  try {
    const res = (await client.callApi(
      params,
      new OpenApiRequest({ body: body }),
      new RuntimeOptions({ autoretry: false }),
    )) as { statusCode: number; body: Record<string, unknown>; headers: Record<string, string> };
    return { ok: true, statusCode: res.statusCode, body: res.body, headers: res.headers };
  } catch (err) {
    const e = err as Partial<RawError> & Error;
    return {
      ok: false,
      error: {
        name: e.name,
        message: e.message,
        ...(e.code !== undefined ? { code: String(e.code) } : {}),
        ...(e.statusCode !== undefined ? { statusCode: e.statusCode } : {}),
        ...(e.data !== undefined ? { data: e.data } : {}),
      },
    };
  }
}

/** Asserts a successful call and returns its body. */
export function expectOk(result: RawResult): Record<string, unknown> {
  if (!result.ok) assert.fail(`expected success, got ${JSON.stringify(result.error)}`);
  assert.equal(result.statusCode, 200);
  return result.body;
}

/** Asserts an error answer with this code and HTTP status; returns the error body. */
export function expectError(result: RawResult, code: string, statusCode: number): Record<string, unknown> {
  if (result.ok) assert.fail(`expected ${code}, got success ${JSON.stringify(result.body)}`);
  assert.equal(result.error.code, code, `code (error: ${JSON.stringify(result.error)})`);
  assert.equal(result.error.statusCode, statusCode, 'HTTP status');
  const data = result.error.data ?? {};
  for (const field of ['RequestId', 'HostId', 'Code', 'Message', 'Recommend']) {
    assert.equal(typeof data[field], 'string', `error body field ${field}`);
  }
  assert.match(String(data.RequestId), /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/);
  return data;
}

/** A plain HTTP answer. */
export interface HttpAnswer {
  /** Status code. */
  status: number;
  /** Headers. */
  headers: http.IncomingHttpHeaders;
  /** Body text. */
  text: string;
  /** Body as JSON, when it parses. */
  json?: Record<string, unknown>;
}

/** Sends one HTTP request on a fresh connection (no agent reuse) and reads the whole answer. */
export function httpRequest(
  port: number,
  opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: opts.method ?? 'POST',
        path: opts.path ?? '/',
        headers: opts.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: Record<string, unknown> | undefined;
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Builds a form body as openapi-client does (querystring encoding). */
export function formBody(params: Record<string, string>): string {
  return new URLSearchParams(params).toString().replace(/\+/g, '%20');
}

/** A hand-signed RPC request: headers as openapi-client sends them, signed with {@link signAcs3}. */
export function signedRequest(
  port: number,
  action: string,
  params: Record<string, string>,
  sign: Omit<SignInput, 'headers' | 'body'> & { extraHeaders?: Record<string, string>; version?: string },
): { headers: Record<string, string>; body: string } {
  const body = formBody(params);
  const headers = signAcs3({
    ...sign,
    headers: {
      host: `127.0.0.1:${port}`,
      'x-acs-action': action,
      'x-acs-version': sign.version ?? '2021-12-01',
      'content-type': 'application/x-www-form-urlencoded',
      ...sign.extraHeaders,
    },
    body,
  });
  return { headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, body };
}

/** Polls `check` until it is true or `timeoutMs` passes (then fails naming `what`). */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
  intervalMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
