/**
 * The HTTP side: one `node:http` server carrying the adb RPC endpoint (`/`) and the control API
 * (`/__emulator/…`), request parsing and writing, and the outage switch (stop and resume
 * listening on the same port with the same state).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { newRequestId, RpcError } from './errors';
import { decodeUtf8, parseForm, readBody, sendJson, splitTarget } from './http-util';
import { answerRpc, errorAnswer, type Answer, type RpcRequest, type RpcTrace } from './rpc';
import type { DistinctHeaders } from './signature';
import type { EmulatorState } from './state';

/** Path prefix of the control API; the RPC protocol only ever uses `/`. */
export const CONTROL_PREFIX = '/__emulator';

/** Handles a control API request. */
export type ControlHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  queryText: string,
) => Promise<void>;

const HTML_502 =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>Tengine</center>\r\n</body>\r\n</html>\r\n';

function distinctHeaders(req: IncomingMessage): DistinctHeaders {
  // No prototype: header names are the client's, and `__proto__` must stay a plain key.
  const out = Object.create(null) as DistinctHeaders;
  for (const [name, values] of Object.entries(req.headersDistinct)) out[name] = values;
  return out;
}

function firstHeader(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The emulator's HTTP server. */
export class EmulatorHttpServer {
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly closing = new AbortController();
  private boundPort = 0;
  private isListening = false;
  private closed = false;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly state: EmulatorState,
    private readonly control: ControlHandler,
  ) {
    this.server = http.createServer((req, res) => this.onRequest(req, res));
    // Longer than any client's idle timeout (Node's agent uses 5 s), so that the client, not the
    // server, closes idle keep-alive connections: no spurious resets on reuse.
    this.server.keepAliveTimeout = 65_000;
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  /** The port bound (kept across stop and resume). */
  get port(): number {
    return this.boundPort;
  }

  /** Whether new connections are accepted. */
  get listening(): boolean {
    return this.isListening;
  }

  /** Starts listening. */
  async listen(port: number, host: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        this.server.off('listening', onListening);
        reject(err);
      };
      const onListening = (): void => {
        this.server.off('error', onError);
        resolve();
      };
      this.server.once('error', onError);
      this.server.once('listening', onListening);
      this.server.listen(port, host);
    });
    this.boundPort = (this.server.address() as AddressInfo).port;
    this.isListening = true;
  }

  /** Stops accepting connections and destroys the open ones (new connections are refused). */
  stopListening(): Promise<void> {
    if (this.stopping) return this.stopping;
    if (!this.isListening) return Promise.resolve();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.server.closeAllConnections();
    // `listening` turns false only once every connection is gone, so a caller that waits for it
    // finds the port refusing rather than a half-closed connection.
    this.stopping = closed.then(() => {
      this.isListening = false;
      this.stopping = undefined;
    });
    return this.stopping;
  }

  /** Listens again on the same port and address. */
  async resumeListening(host: string): Promise<void> {
    await this.stopping;
    if (this.isListening || this.closed) return;
    await this.listen(this.boundPort, host);
  }

  /** Stops for good: pending latencies end, connections close. */
  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    await this.stopListening();
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const left = new AbortController();
    res.once('close', () => left.abort());
    const signal = AbortSignal.any([left.signal, this.closing.signal]);
    const { path, queryText } = splitTarget(req.url);
    const work =
      path === CONTROL_PREFIX || path.startsWith(`${CONTROL_PREFIX}/`)
        ? this.control(req, res, path, queryText)
        : this.rpc(req, res, path, queryText, signal);
    work.catch((err: unknown) => {
      // Last resort: a bug must cost one request, never the process.
      sendJson(res, 500, { error: { code: 'InternalError', message: String(err) } });
    });
  }

  private async rpc(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    queryText: string,
    signal: AbortSignal,
  ): Promise<void> {
    const started = performance.now();
    const arrivedAt = this.state.options.now();
    const requestId = newRequestId();
    const trace: RpcTrace = {
      signatureValid: null,
      applied: false,
      action: firstHeader(req, 'x-acs-action'),
    };
    let answer: Answer;
    this.state.inFlight.add(trace);
    try {
      answer = await this.rpcAnswer(req, path, queryText, requestId, trace, signal);
    } catch (err) {
      answer = errorAnswer(
        new RpcError('InternalError', `The emulator failed: ${String(err)}`, 500),
        requestId,
        this.state.options.hostId,
      );
    } finally {
      this.state.inFlight.delete(trace);
    }
    const httpStatus = this.send(req, res, answer, requestId);
    const entry = this.state.stats.record({
      time: new Date(arrivedAt).toISOString(),
      method: req.method ?? '',
      ...(trace.action !== undefined ? { action: trace.action.slice(0, 128) } : {}),
      ...(trace.apsJobId !== undefined ? { apsJobId: trace.apsJobId.slice(0, 128) } : {}),
      ...(trace.accessKeyId !== undefined ? { accessKeyId: trace.accessKeyId.slice(0, 128) } : {}),
      code: httpStatus === null && answer.kind === 'json' ? 'ClientClosedRequest' : answer.code,
      httpStatus,
      signatureValid: trace.signatureValid,
      requestId,
      ...(trace.fault !== undefined ? { fault: trace.fault } : {}),
      applied: trace.applied,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
    });
    try {
      this.state.options.onRequest?.(entry);
    } catch {
      // A failing log hook must not turn an answered request into an error.
    }
  }

  private async rpcAnswer(
    req: IncomingMessage,
    path: string,
    queryText: string,
    requestId: string,
    trace: RpcTrace,
    signal: AbortSignal,
  ): Promise<Answer> {
    const { hostId, maxBodyBytes } = this.state.options;
    const fail = (
      code: string,
      message: string,
      status: number,
      extra: { headers?: Record<string, string>; close?: boolean } = {},
    ): Answer => ({
      ...errorAnswer(new RpcError(code, message, status), requestId, hostId),
      ...extra,
    });
    if (path !== '/') {
      return fail(
        'InvalidApi.NotFound',
        `Specified path ${JSON.stringify(path.slice(0, 64))} is not found: RPC calls use POST /.`,
        404,
      );
    }
    const method = req.method ?? '';
    if (method !== 'POST' && method !== 'GET') {
      return fail('MethodNotAllowed', `Method ${method} is not allowed: RPC calls use POST (or GET).`, 405, {
        headers: { allow: 'GET, POST' },
        close: true,
      });
    }
    const read = await readBody(req, maxBodyBytes);
    if (!read.ok) {
      if (read.reason === 'aborted') return { kind: 'gone', code: 'ClientClosedRequest' };
      return fail('RequestEntityTooLarge', `The request body is larger than ${maxBodyBytes} bytes.`, 413, {
        close: true,
      });
    }
    const body = read.body;
    if (body.length > 0) {
      const contentType = firstHeader(req, 'content-type') ?? '';
      const [mime, ...parameters] = contentType.split(';').map((p) => p.trim().toLowerCase());
      const charset = parameters.find((p) => p.startsWith('charset='))?.slice('charset='.length);
      if (
        mime !== 'application/x-www-form-urlencoded' ||
        (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')
      ) {
        return fail(
          'UnsupportedMediaType',
          `Content-Type ${JSON.stringify(contentType.slice(0, 80))} is not supported: send application/x-www-form-urlencoded (UTF-8).`,
          415,
        );
      }
    }
    const bodyText = decodeUtf8(body);
    if (bodyText === undefined) {
      return fail('InvalidParameter', 'The request body is not valid UTF-8.', 400);
    }
    const query = parseForm(queryText);
    if ('error' in query)
      return fail('InvalidParameter', `The query string is malformed: ${query.error}.`, 400);
    const form = parseForm(bodyText);
    if ('error' in form) return fail('InvalidParameter', `The form body is malformed: ${form.error}.`, 400);
    const params = new Map<string, string>();
    for (const [k, v] of [...query, ...form]) {
      if (params.has(k)) {
        return fail(
          'InvalidParameter',
          `The parameter ${JSON.stringify(k.slice(0, 64))} is given more than once.`,
          400,
        );
      }
      params.set(k, v);
    }
    const rpcRequest: RpcRequest = {
      method,
      path,
      query,
      params,
      headers: distinctHeaders(req),
      body,
    };
    return answerRpc(this.state, rpcRequest, requestId, trace, signal);
  }

  /** Writes an answer; returns the HTTP status sent, or null when nothing was (reset, client gone). */
  private send(req: IncomingMessage, res: ServerResponse, answer: Answer, requestId: string): number | null {
    if (res.destroyed || res.headersSent) return null;
    switch (answer.kind) {
      case 'gone':
        return null;
      case 'reset':
        // A TCP RST, not a polite FIN: the client sees ECONNRESET as with a dropped load balancer.
        req.socket.resetAndDestroy();
        return null;
      case 'html':
        res.writeHead(502, {
          'content-type': 'text/html',
          'content-length': String(Buffer.byteLength(HTML_502)),
          'x-acs-request-id': requestId,
        });
        res.end(HTML_502);
        return 502;
      case 'json':
        return sendJson(
          res,
          answer.status,
          answer.body,
          { 'x-acs-request-id': requestId, ...answer.headers },
          answer.close ?? false,
        );
    }
  }
}
