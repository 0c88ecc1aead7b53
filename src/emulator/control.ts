/**
 * The control API under `/__emulator/…`: read counters, the log and the state; seed jobs, set
 * statuses, arm faults and rate limits; reset; and schedule an outage. No signature: the server
 * binds 127.0.0.1 by default and needs an admin token on any other address. Browsers are kept out
 * twice over: a request with an `Origin` header is refused, and a POST must be
 * `application/json`, which no cross-site form or simple request can send without a preflight.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { decodeUtf8, parseForm, readBody, sendJson } from './http-util';
import {
  EmulatorInputError,
  faultSpecSchema,
  jobScriptSchema,
  parseInput,
  rateLimitSchema,
  statusUpdateSchema,
} from './schema';
import { CONTROL_PREFIX, type ControlHandler } from './server';
import { safeEqual } from './signature';
import type { EmulatorState } from './state';
import type { RequestFilter } from './stats';

/** What the control API acts on. */
export interface ControlTarget {
  /** The emulator state. */
  readonly state: EmulatorState;
  /** Whether the RPC port accepts connections. */
  isListening(): boolean;
  /** Stops listening now and resumes after `durationMs`. */
  outage(durationMs: number): void;
}

/** The control API routes (all JSON). */
export const CONTROL_ROUTES = [
  'GET  /__emulator/health',
  'GET  /__emulator/state',
  'GET  /__emulator/counters',
  'GET  /__emulator/requests?sinceSeq=&action=&apsJobId=&limit=',
  'GET  /__emulator/jobs',
  'GET  /__emulator/jobs/:id',
  'DELETE /__emulator/jobs/:id',
  'POST /__emulator/jobs                  JobScript | JobScript[]',
  'POST /__emulator/jobs/:id/status       {status, errMessage?}',
  'POST /__emulator/faults                FaultSpec | FaultSpec[]',
  'DELETE /__emulator/faults[/:id]',
  'POST /__emulator/rate-limit            RateLimit | null',
  'POST /__emulator/reset',
  'POST /__emulator/outage                {durationMs}',
] as const;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const outageSchema = z.strictObject({ durationMs: z.number().int().min(1).max(3_600_000) });

function oneOrMany<T>(value: unknown, parse: (v: unknown) => T): T[] {
  return Array.isArray(value) ? value.map(parse) : [parse(value)];
}

async function readJson(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const read = await readBody(req, maxBytes);
  if (!read.ok) {
    throw read.reason === 'too-large'
      ? new HttpError(413, 'PayloadTooLarge', `The body is larger than ${maxBytes} bytes.`)
      : new HttpError(400, 'Aborted', 'The request was aborted.');
  }
  if (read.body.length === 0) return undefined;
  const text = decodeUtf8(read.body);
  if (text === undefined) throw new HttpError(400, 'InvalidRequest', 'The body is not valid UTF-8.');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpError(400, 'InvalidRequest', `The body is not valid JSON: ${(err as Error).message}`);
  }
}

function requestFilter(queryText: string): RequestFilter {
  const query = parseForm(queryText);
  if ('error' in query) throw new HttpError(400, 'InvalidRequest', `Malformed query: ${query.error}`);
  const q = new Map(query);
  const int = (name: string): number | undefined => {
    const v = q.get(name);
    if (v === undefined) return undefined;
    if (!/^\d{1,12}$/.test(v)) throw new HttpError(400, 'InvalidRequest', `${name} must be a whole number`);
    return Number(v);
  };
  return {
    sinceSeq: int('sinceSeq'),
    limit: int('limit'),
    action: q.get('action'),
    apsJobId: q.get('apsJobId'),
  };
}

/** The media type of a request, lower-case, and its charset parameter when given. */
function mediaType(req: IncomingMessage): { mime: string; charset?: string; raw: string } {
  const raw = req.headers['content-type'] ?? '';
  const [mime = '', ...parameters] = raw.split(';').map((p) => p.trim().toLowerCase());
  const charset = parameters.find((p) => p.startsWith('charset='))?.slice('charset='.length);
  return { mime, charset: charset?.replace(/^"(.*)"$/, '$1'), raw };
}

/** Refuses browser requests and POSTs that are not JSON; the checks come before the token. */
function checkRequestShape(req: IncomingMessage): void {
  if (req.headers.origin !== undefined) {
    throw new HttpError(
      403,
      'Forbidden',
      'The control API refuses requests with an Origin header (sent by browsers): drive it from a ' +
        'local tool such as EmulatorControl or curl.',
    );
  }
  if (req.method === 'POST') {
    const { mime, charset, raw } = mediaType(req);
    if (mime !== 'application/json' || (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')) {
      throw new HttpError(
        415,
        'UnsupportedMediaType',
        `POST to the control API needs Content-Type: application/json (UTF-8), even with an empty body; got ${raw === '' ? 'none' : JSON.stringify(raw.slice(0, 80))}.`,
      );
    }
  }
}

function authorized(req: IncomingMessage, token: string | undefined): boolean {
  if (token === undefined) return true;
  const header = req.headers['x-emulator-token'];
  const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  const given = (Array.isArray(header) ? header[0] : header) ?? bearer;
  return given !== undefined && safeEqual(given, token);
}

/** Builds the control API handler. */
export function createControlHandler(target: ControlTarget): ControlHandler {
  return async (req, res, path, queryText) => {
    try {
      checkRequestShape(req);
      if (!authorized(req, target.state.options.adminToken)) {
        throw new HttpError(
          401,
          'Unauthorized',
          'Send the admin token in x-emulator-token (or Authorization: Bearer).',
        );
      }
      await route(target, req, res, path.slice(CONTROL_PREFIX.length) || '/', queryText);
    } catch (err) {
      if (err instanceof HttpError) {
        sendJson(
          res,
          err.status,
          { error: { code: err.code, message: err.message } },
          {},
          // Refused before the body was read: close rather than drain what may follow.
          err.status === 403 || err.status === 413 || err.status === 415,
        );
      } else if (err instanceof EmulatorInputError) {
        sendJson(res, 400, { error: { code: 'InvalidRequest', message: err.message } });
      } else {
        throw err;
      }
    }
  };
}

async function route(
  target: ControlTarget,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  queryText: string,
): Promise<void> {
  const { state } = target;
  const method = req.method ?? '';
  const body = (): Promise<unknown> => readJson(req, state.options.maxBodyBytes);
  const segments = path
    .split('/')
    .filter((s) => s !== '')
    .map(decodeSegment);
  const allow = (...methods: string[]): void => {
    if (!methods.includes(method)) {
      throw new HttpError(
        405,
        'MethodNotAllowed',
        `Use ${methods.join(' or ')} on ${CONTROL_PREFIX}${path}.`,
      );
    }
  };
  const [first, second, third, ...rest] = segments;
  if (rest.length > 0) throw notFound(path);

  switch (first) {
    case 'health':
      if (second !== undefined) throw notFound(path);
      allow('GET');
      sendJson(res, 200, { ok: true, listening: target.isListening() });
      return;
    case 'state':
      if (second !== undefined) throw notFound(path);
      allow('GET');
      sendJson(res, 200, state.view(target.isListening()));
      return;
    case 'counters':
      if (second !== undefined) throw notFound(path);
      allow('GET');
      sendJson(res, 200, state.counters());
      return;
    case 'requests':
      if (second !== undefined) throw notFound(path);
      allow('GET');
      sendJson(res, 200, { requests: state.requests(requestFilter(queryText)) });
      return;
    case 'jobs':
      if (second === undefined) {
        allow('GET', 'POST');
        if (method === 'GET') {
          sendJson(res, 200, { jobs: state.jobs.all() });
          return;
        }
        const scripts = oneOrMany(await body(), (v) => parseInput(jobScriptSchema, v, 'job script'));
        sendJson(res, 201, { jobs: scripts.map((s) => state.addJob(s)) });
        return;
      }
      if (third === undefined) {
        allow('GET', 'DELETE');
        if (method === 'DELETE') {
          if (!state.removeJob(second)) throw new HttpError(404, 'NotFound', `No job ${second}.`);
          sendJson(res, 200, { removed: 1 });
          return;
        }
        const job = state.jobs.get(second);
        if (!job) throw new HttpError(404, 'NotFound', `No job ${second}.`);
        sendJson(res, 200, job);
        return;
      }
      if (third !== 'status') throw notFound(path);
      allow('POST');
      {
        const update = parseInput(statusUpdateSchema, await body(), 'status update');
        if (!state.jobs.get(second)) throw new HttpError(404, 'NotFound', `No job ${second}.`);
        sendJson(res, 200, state.setJobStatus(second, update.status, update.errMessage));
      }
      return;
    case 'faults':
      if (third !== undefined) throw notFound(path);
      allow('GET', 'POST', 'DELETE');
      if (method === 'GET') {
        if (second !== undefined) throw notFound(path);
        sendJson(res, 200, { faults: state.faults.list() });
      } else if (method === 'POST') {
        if (second !== undefined) throw notFound(path);
        const specs = oneOrMany(await body(), (v) => parseInput(faultSpecSchema, v, 'fault'));
        sendJson(res, 201, { ids: specs.map((s) => state.injectFault(s)) });
      } else if (second === undefined) {
        const cleared = state.faults.list().length;
        state.faults.clear();
        sendJson(res, 200, { cleared });
      } else {
        if (!state.faults.remove(second)) throw new HttpError(404, 'NotFound', `No armed fault ${second}.`);
        sendJson(res, 200, { cleared: 1 });
      }
      return;
    case 'rate-limit':
      if (second !== undefined) throw notFound(path);
      allow('GET', 'POST');
      if (method === 'POST') {
        const value = await body();
        state.setRateLimit(
          value === null || value === undefined ? null : parseInput(rateLimitSchema, value, 'rate limit'),
        );
      }
      sendJson(res, 200, { rateLimit: state.limiter.get() });
      return;
    case 'reset':
      if (second !== undefined) throw notFound(path);
      allow('POST');
      state.reset();
      sendJson(res, 200, { ok: true });
      return;
    case 'outage': {
      if (second !== undefined) throw notFound(path);
      allow('POST');
      const { durationMs } = parseInput(outageSchema, await body(), 'outage');
      // Stop only once this answer is out, or the caller would see its own connection reset.
      res.once('finish', () => target.outage(durationMs));
      sendJson(res, 202, { stoppedForMs: durationMs }, {}, true);
      return;
    }
    default:
      throw notFound(path);
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(
      400,
      'InvalidRequest',
      `Malformed path segment ${JSON.stringify(segment.slice(0, 40))}.`,
    );
  }
}

function notFound(path: string): HttpError {
  return new HttpError(
    404,
    'NotFound',
    `No control route ${CONTROL_PREFIX}${path}. Routes: ${CONTROL_ROUTES.map((r) => r.split(/\s+/).slice(0, 2).join(' ')).join(', ')}.`,
  );
}
