/**
 * Small HTTP helpers shared by the RPC endpoint and the control API.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Splits a request target into path and raw query text. */
export function splitTarget(target: string | undefined): { path: string; queryText: string } {
  const raw = target ?? '/';
  const q = raw.indexOf('?');
  return q < 0 ? { path: raw, queryText: '' } : { path: raw.slice(0, q), queryText: raw.slice(q + 1) };
}

/**
 * Strict `application/x-www-form-urlencoded` decoding (`+` is a space). Unlike URLSearchParams,
 * malformed percent-escapes are an error instead of passing through as literal text.
 */
export function parseForm(text: string): [string, string][] | { error: string } {
  const out: [string, string][] = [];
  if (text === '') return out;
  for (const part of text.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawKey = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(rawKey.replace(/\+/g, ' '));
      value = decodeURIComponent(rawValue.replace(/\+/g, ' '));
    } catch {
      return { error: `malformed percent-encoding in ${JSON.stringify(part.slice(0, 40))}` };
    }
    if (key === '') return { error: 'a parameter has an empty name' };
    out.push([key, value]);
  }
  return out;
}

/** Decodes UTF-8 strictly; undefined when the bytes are not valid UTF-8. */
export function decodeUtf8(body: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return undefined;
  }
}

/** Outcome of {@link readBody}. */
export type BodyResult = { ok: true; body: Buffer } | { ok: false; reason: 'too-large' | 'aborted' };

/**
 * Reads a request body up to `maxBytes`. A declared Content-Length above the limit is refused
 * before reading, so a large upload costs nothing.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    return Promise.resolve({ ok: false, reason: 'too-large' });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: BodyResult): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        settle({ ok: false, reason: 'too-large' });
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => settle({ ok: true, body: Buffer.concat(chunks) }));
    req.once('error', () => settle({ ok: false, reason: 'aborted' }));
    req.once('close', () => {
      if (!req.complete) settle({ ok: false, reason: 'aborted' });
    });
  });
}

/**
 * Writes a JSON answer unless the connection is already gone; returns the status written or null.
 * `close` ends the connection afterwards (used when the request body was not read to its end).
 */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  close = false,
): number | null {
  if (res.destroyed || res.headersSent) return null;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json;charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    ...(close ? { connection: 'close' } : {}),
    ...headers,
  });
  res.end(text);
  return status;
}
