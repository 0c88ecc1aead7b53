/**
 * The real openapi-client, through createApsApi, against a tiny loopback HTTP server that answers
 * canned responses. The server checks no signature (src/emulator does); it records what arrived so
 * the tests can assert one request per call, the ACS3 headers and the form body.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkCredentials,
  createApsApi,
  endpointFor,
  LruMap,
  MAX_REGION_CLIENTS,
  type ApsCallEvent,
  type ApsClientOptions,
} from '../../src/aps/client';
import { ApsApiError, type ApsError } from '../../src/aps/types';
import { InputValidationError } from '../../src/validation';

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawBody: string;
  form: URLSearchParams;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

// Made-up credentials: they only sign requests to the loopback server each test starts below.
const ACCESS_KEY_ID = 'LTAI5tTestKeyId';
const ACCESS_KEY_SECRET = 'TestSecret0123456789abcdefghij';
const SECURITY_TOKEN = 'CAIS.TestSecurityToken.0123456789';
const REF = { regionId: 'cn-hangzhou', apsJobId: 'aps-bp1test0001' };

function json(status: number, body: unknown): Handler {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
}

async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  assert.fail('expected the call to reject');
}

async function apsErrorOf(p: Promise<unknown>): Promise<ApsError> {
  const err = await rejectionOf(p);
  assert.ok(err instanceof ApsApiError, `expected ApsApiError, got ${String(err)}`);
  return err.error;
}

function pick(e: ApsError): Partial<ApsError> {
  return {
    code: e.code,
    httpStatus: e.httpStatus,
    requestId: e.requestId,
    retryClass: e.retryClass,
    ambiguous: e.ambiguous,
  };
}

describe('createApsApi against a loopback server', () => {
  let server: http.Server;
  let port: number;
  let handler: Handler;
  let received: Received[];
  let events: ApsCallEvent[];
  // Responses held open to provoke timeouts; released after each test.
  let held: http.ServerResponse[];

  before(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const rawBody = Buffer.concat(chunks).toString('utf8');
        received.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          rawBody,
          form: new URLSearchParams(rawBody),
        });
        handler(req, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  });

  beforeEach(() => {
    received = [];
    events = [];
    held = [];
    handler = () => assert.fail('no handler set for this test');
  });

  afterEach(() => {
    for (const res of held) res.destroy();
  });

  function api(overrides: Partial<ApsClientOptions> = {}) {
    return createApsApi({
      credentials: { kind: 'access-key', accessKeyId: ACCESS_KEY_ID, accessKeySecret: ACCESS_KEY_SECRET },
      endpoint: `127.0.0.1:${port}`,
      protocol: 'http',
      connectTimeoutMs: 5_000,
      readTimeoutMs: 5_000,
      onCall: (e) => events.push(e),
      ...overrides,
    });
  }

  function hold(): Handler {
    return (_req, res) => {
      held.push(res);
    };
  }

  describe('requests', () => {
    it('StartApsJob: one signed ACS3 POST with the form body, and the parsed result', async () => {
      handler = json(200, {
        HttpStatusCode: 200,
        ApsJobId: REF.apsJobId,
        RequestId: 'RID-start',
        Success: true,
        Code: 200,
        Message: 'OK',
      });
      const result = await api().startJob(REF);
      assert.equal(result.apsJobId, REF.apsJobId);
      assert.equal(result.requestId, 'RID-start');

      assert.equal(received.length, 1);
      const r = received[0]!;
      assert.equal(r.method, 'POST');
      assert.equal(r.url, '/');
      assert.equal(r.headers['x-acs-action'], 'StartApsJob');
      assert.equal(r.headers['x-acs-version'], '2021-12-01');
      assert.match(r.headers['x-acs-date'] as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.ok(r.headers['x-acs-signature-nonce']);
      assert.equal(r.headers['content-type'], 'application/x-www-form-urlencoded');
      assert.equal(
        r.headers['x-acs-content-sha256'],
        createHash('sha256').update(r.rawBody).digest('hex'),
        'the signed body hash matches the body sent',
      );
      assert.match(
        r.headers.authorization ?? '',
        new RegExp(
          `^ACS3-HMAC-SHA256 Credential=${ACCESS_KEY_ID},SignedHeaders=[a-z0-9;-]+,Signature=[0-9a-f]{64}$`,
        ),
      );
      assert.equal(r.headers['x-acs-security-token'], undefined);
      assert.deepEqual(Object.fromEntries(r.form), { RegionId: REF.regionId, ApsJobId: REF.apsJobId });

      assert.equal(events.length, 1);
      const e = events[0]!;
      assert.deepEqual(
        { ...e, durationMs: typeof e.durationMs },
        {
          action: 'StartApsJob',
          regionId: REF.regionId,
          apsJobId: REF.apsJobId,
          durationMs: 'number',
          code: 'OK',
          httpStatus: 200,
        },
      );
    });

    it('an STS token travels as x-acs-security-token with x-acs-accesskey-id', async () => {
      handler = json(200, { RequestId: 'R', Success: true, ApsJobId: REF.apsJobId });
      await api({
        credentials: {
          kind: 'access-key',
          accessKeyId: ACCESS_KEY_ID,
          accessKeySecret: ACCESS_KEY_SECRET,
          securityToken: SECURITY_TOKEN,
        },
      }).startJob(REF);
      assert.equal(received.length, 1);
      assert.equal(received[0]!.headers['x-acs-security-token'], SECURITY_TOKEN);
      assert.equal(received[0]!.headers['x-acs-accesskey-id'], ACCESS_KEY_ID);
      assert.match(received[0]!.headers.authorization ?? '', /x-acs-security-token/, 'the token is signed');
    });

    it('DescribeApsJobDetail: the status is classified and the raw value kept', async () => {
      const detail = {
        Status: 'Running',
        SourceEndpointRegion: 'cn-hangzhou',
        DbList: { db: ['t1'] },
      };
      handler = json(200, { RequestId: 'RID-d', APSJobDetail: detail });
      const result = await api().describeJob(REF);
      assert.deepEqual(result.status, { raw: 'Running', class: 'running' });
      assert.deepEqual(result.detail, detail);
      assert.equal(result.apsJobId, REF.apsJobId);
      assert.equal(result.requestId, 'RID-d');
      assert.equal(received[0]!.headers['x-acs-action'], 'DescribeApsJobDetail');
      assert.deepEqual(Object.fromEntries(received[0]!.form), {
        RegionId: REF.regionId,
        ApsJobId: REF.apsJobId,
      });
    });

    it('DescribeApsJobDetail without APSJobDetail → MalformedResponse (unknown), reported to onCall', async () => {
      handler = json(200, { RequestId: 'RID-m' });
      const e = await apsErrorOf(api().describeJob(REF));
      assert.deepEqual(pick(e), {
        code: 'MalformedResponse',
        httpStatus: 200,
        requestId: 'RID-m',
        retryClass: 'unknown',
        ambiguous: false,
      });
      assert.equal(events[0]?.code, 'MalformedResponse');
    });

    it('SuspendApsJob sends the SuspendApsJob action', async () => {
      handler = json(200, { RequestId: 'RID-s', Success: true, ApsJobId: REF.apsJobId, HttpStatusCode: 200 });
      const result = await api().suspendJob(REF);
      assert.equal(result.requestId, 'RID-s');
      assert.equal(received.length, 1);
      assert.equal(received[0]!.headers['x-acs-action'], 'SuspendApsJob');
    });

    it('DescribeApsJobs: page defaults 1/30, Projress mapped to progress, loose types parsed', async () => {
      handler = json(200, {
        RequestId: 'RID-l',
        Success: true,
        PageNumber: 1,
        PageSize: 30,
        TotalCount: '2',
        APSJobs: [
          {
            ApsJobId: 'aps-1',
            ApsJobName: 'kafka-orders',
            Status: 'RUNNING',
            SubStatus: 'Incremental',
            Projress: 30,
            Delay: '12',
            CreateTime: '2024-01-01T00:00:00Z',
          },
          { ApsJobId: 'aps-2', Status: 'Suspended', ErrMessage: 'stopped by user' },
          'not an object',
        ],
      });
      const result = await api().listJobs({ regionId: REF.regionId });
      assert.deepEqual(Object.fromEntries(received[0]!.form), {
        RegionId: REF.regionId,
        PageNumber: '1',
        PageSize: '30',
      });
      assert.equal(received[0]!.headers['x-acs-action'], 'DescribeApsJobs');
      assert.equal(result.totalCount, 2);
      assert.deepEqual(result.jobs, [
        {
          apsJobId: 'aps-1',
          apsJobName: 'kafka-orders',
          status: { raw: 'RUNNING', class: 'running' },
          subStatus: 'Incremental',
          progress: '30',
          delay: 12,
          errMessage: undefined,
          createTime: '2024-01-01T00:00:00Z',
        },
        {
          apsJobId: 'aps-2',
          apsJobName: undefined,
          status: { raw: 'Suspended', class: 'stopped' },
          subStatus: undefined,
          progress: undefined,
          delay: undefined,
          errMessage: 'stopped by user',
          createTime: undefined,
        },
      ]);
      assert.equal(events[0]?.apsJobId, undefined);
    });

    it('DescribeApsJobs passes page and name filters through', async () => {
      handler = json(200, { RequestId: 'R', Success: true, APSJobs: [], TotalCount: 0 });
      const result = await api().listJobs({
        regionId: REF.regionId,
        pageNumber: 3,
        pageSize: 100,
        apsJobName: 'orders',
      });
      assert.deepEqual(Object.fromEntries(received[0]!.form), {
        RegionId: REF.regionId,
        PageNumber: '3',
        PageSize: '100',
        ApsJobName: 'orders',
      });
      assert.deepEqual(result.jobs, []);
      assert.equal(result.pageNumber, 3);
      assert.equal(result.pageSize, 100);
    });

    it(`calls in more regions than the client cache holds (${MAX_REGION_CLIENTS}) all go out, evicted ones too`, async () => {
      handler = json(200, { RequestId: 'R', Success: true, APSJobs: [], TotalCount: 0 });
      const aps = api();
      const regions = Array.from({ length: MAX_REGION_CLIENTS + 8 }, (_, i) => `cn-test-${i}`);
      for (const regionId of [...regions, regions[0] as string]) await aps.listJobs({ regionId });
      assert.deepEqual(
        received.map((r) => r.form.get('RegionId')),
        [...regions, regions[0]],
      );
      assert.ok(received.every((r) => r.headers.authorization?.startsWith('ACS3-HMAC-SHA256 ')));
    });

    it('a throwing onCall hook does not fail a call that succeeded', async () => {
      handler = json(200, { RequestId: 'R', Success: true });
      const result = await api({
        onCall: () => {
          throw new Error('metrics down');
        },
      }).startJob(REF);
      assert.equal(result.apsJobId, REF.apsJobId);
    });
  });

  describe('failures: one request per call, normalized', () => {
    it('400 JSON error body → the body code, status and request ID; permanent; no secret anywhere', async () => {
      const body = {
        Code: 'InvalidInput',
        Message: 'The specified ApsJobId is invalid.',
        RequestId: 'RID-400',
        HostId: 'adb.cn-hangzhou.aliyuncs.com',
        Recommend: 'https://api.aliyun.com/troubleshoot?q=InvalidInput',
      };
      handler = json(400, body);
      const err = await rejectionOf(
        api({
          credentials: {
            kind: 'access-key',
            accessKeyId: ACCESS_KEY_ID,
            accessKeySecret: ACCESS_KEY_SECRET,
            securityToken: SECURITY_TOKEN,
          },
        }).startJob(REF),
      );
      assert.ok(err instanceof ApsApiError);
      assert.deepEqual(pick(err.error), {
        code: 'InvalidInput',
        httpStatus: 400,
        requestId: 'RID-400',
        retryClass: 'permanent',
        ambiguous: false,
      });
      assert.equal(err.message, 'InvalidInput: StartApsJob failed: The specified ApsJobId is invalid.');
      assert.deepEqual(err.error.raw, { ...body, statusCode: 400 });
      const all = JSON.stringify({ error: err.error, message: err.message, stack: err.stack });
      assert.ok(!all.includes(ACCESS_KEY_SECRET) && !all.includes(SECURITY_TOKEN));
      assert.equal(received.length, 1);
      assert.deepEqual(
        events.map((e) => [e.code, e.httpStatus]),
        [['InvalidInput', 400]],
      );
    });

    it('503 ServiceUnavailable → transient, ambiguous', async () => {
      handler = json(503, { Code: 'ServiceUnavailable', Message: 'busy', RequestId: 'RID-503' });
      const e = await apsErrorOf(api().startJob(REF));
      assert.deepEqual(pick(e), {
        code: 'ServiceUnavailable',
        httpStatus: 503,
        requestId: 'RID-503',
        retryClass: 'transient',
        ambiguous: true,
      });
      assert.equal(received.length, 1);
    });

    it('503 with an empty JSON body → HttpStatus503, transient, ambiguous', async () => {
      handler = json(503, {});
      const e = await apsErrorOf(api().startJob(REF));
      assert.deepEqual(pick(e), {
        code: 'HttpStatus503',
        httpStatus: 503,
        requestId: undefined,
        retryClass: 'transient',
        ambiguous: true,
      });
      assert.equal(received.length, 1);
    });

    it('408 AcsServerTimeOut → transient, ambiguous', async () => {
      handler = json(408, { Code: 'AcsServerTimeOut', Message: 'timeout', RequestId: 'RID-408' });
      const e = await apsErrorOf(api().startJob(REF));
      assert.deepEqual(pick(e), {
        code: 'AcsServerTimeOut',
        httpStatus: 408,
        requestId: 'RID-408',
        retryClass: 'transient',
        ambiguous: true,
      });
      assert.equal(received.length, 1);
    });

    it('400 Throttling.User → throttled, not ambiguous', async () => {
      handler = json(400, { Code: 'Throttling.User', Message: 'Request was denied', RequestId: 'RID-t' });
      const e = await apsErrorOf(api().startJob(REF));
      assert.deepEqual(pick(e), {
        code: 'Throttling.User',
        httpStatus: 400,
        requestId: 'RID-t',
        retryClass: 'throttled',
        ambiguous: false,
      });
      assert.equal(received.length, 1);
    });

    it('200 with Success: false → the ErrCode, ambiguous; onCall sees the code', async () => {
      handler = json(200, {
        HttpStatusCode: 200,
        Success: false,
        ErrCode: 'InvalidInput',
        ErrMessage: 'job aps-bp1test0001 not found',
        RequestId: 'RID-sf',
      });
      const e = await apsErrorOf(api().startJob(REF));
      assert.deepEqual(pick(e), {
        code: 'InvalidInput',
        httpStatus: 200,
        requestId: 'RID-sf',
        retryClass: 'permanent',
        ambiguous: true,
      });
      assert.equal(e.message, 'StartApsJob failed: job aps-bp1test0001 not found');
      assert.equal(received.length, 1);
      assert.deepEqual(
        events.map((ev) => [ev.code, ev.httpStatus]),
        [['InvalidInput', 200]],
      );
    });

    it('an HTML 502 page → NonJsonResponse, transient, ambiguous (the client exposes no status)', async () => {
      handler = (_req, res) => {
        res.writeHead(502, { 'content-type': 'text/html' });
        res.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
      };
      const e = await apsErrorOf(api().startJob(REF));
      assert.deepEqual(pick(e), {
        code: 'NonJsonResponse',
        httpStatus: undefined,
        requestId: undefined,
        retryClass: 'transient',
        ambiguous: true,
      });
      assert.equal(received.length, 1);
    });

    it('no response within the read timeout → ReadTimeout, transient, ambiguous', async () => {
      handler = hold();
      const e = await apsErrorOf(api({ connectTimeoutMs: 5_000, readTimeoutMs: 200 }).startJob(REF));
      assert.deepEqual(pick(e), {
        code: 'ReadTimeout',
        httpStatus: undefined,
        requestId: undefined,
        retryClass: 'transient',
        ambiguous: true,
      });
      assert.match(e.message, /ReadTimeout\(200\)/);
      assert.equal(received.length, 1, 'the request reached the server before timing out');
    });

    it('ConnectTimeout also fires after the request was sent (httpx idle timer), so it is ambiguous', async () => {
      handler = hold();
      const e = await apsErrorOf(api({ connectTimeoutMs: 200, readTimeoutMs: 5_000 }).startJob(REF));
      assert.equal(e.code, 'ConnectTimeout');
      assert.equal(e.ambiguous, true);
      assert.equal(received.length, 1, 'the server did receive the request');
    });

    it('the server destroying the socket → ECONNRESET, transient, ambiguous', async () => {
      handler = (req) => req.socket.destroy();
      const e = await apsErrorOf(api().startJob(REF));
      assert.deepEqual(pick(e), {
        code: 'ECONNRESET',
        httpStatus: undefined,
        requestId: undefined,
        retryClass: 'transient',
        ambiguous: true,
      });
      assert.equal(received.length, 1);
    });

    it('a closed port → ECONNREFUSED, transient, not ambiguous', async () => {
      const closed = http.createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const closedPort = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const e = await apsErrorOf(api({ endpoint: `127.0.0.1:${closedPort}` }).startJob(REF));
      assert.deepEqual(pick(e), {
        code: 'ECONNREFUSED',
        httpStatus: undefined,
        requestId: undefined,
        retryClass: 'transient',
        ambiguous: false,
      });
      assert.deepEqual(
        events.map((ev) => ev.code),
        ['ECONNREFUSED'],
      );
    });
  });

  describe('input validation happens before any request', () => {
    const cases: Array<[string, (a: ReturnType<typeof api>) => Promise<unknown>, RegExp]> = [
      ['regionId', (a) => a.startJob({ regionId: 'Hangzhou!', apsJobId: 'aps-1' }), /Invalid regionId/],
      ['apsJobId', (a) => a.startJob({ regionId: 'cn-hangzhou', apsJobId: '' }), /Invalid apsJobId/],
      ['apsJobId', (a) => a.describeJob({ regionId: 'cn-hangzhou', apsJobId: 'aps 1' }), /Invalid apsJobId/],
      [
        'apsJobId',
        (a) => a.suspendJob({ regionId: 'cn-hangzhou', apsJobId: 'a\u0000b' }),
        /Invalid apsJobId/,
      ],
      ['pageSize', (a) => a.listJobs({ regionId: 'cn-hangzhou', pageSize: 0 }), /Invalid pageSize/],
      ['pageNumber', (a) => a.listJobs({ regionId: 'cn-hangzhou', pageNumber: 1.5 }), /Invalid pageNumber/],
      ['apsJobName', (a) => a.listJobs({ regionId: 'cn-hangzhou', apsJobName: '' }), /Invalid apsJobName/],
    ];
    for (const [field, run, message] of cases) {
      it(`a bad ${field} rejects with InputValidationError naming it (${message.source})`, async () => {
        handler = json(200, { Success: true });
        const err = await rejectionOf(run(api()));
        assert.ok(err instanceof InputValidationError);
        assert.equal(err.field, field);
        assert.match(err.message, message);
        assert.equal(received.length, 0);
        assert.equal(events.length, 0);
      });
    }

    it('an endpoint with a scheme is refused at creation', () => {
      assert.throws(() => api({ endpoint: `http://127.0.0.1:${port}` }), /Invalid endpoint/);
    });
  });

  describe('credentials', () => {
    let saved: NodeJS.ProcessEnv;
    let home: string;

    beforeEach(() => {
      saved = { ...process.env };
      home = mkdtempSync(join(tmpdir(), 'aps-creds-'));
      for (const k of Object.keys(process.env)) {
        if (k.startsWith('ALIBABA_CLOUD_') || k.startsWith('ALICLOUD_')) delete process.env[k];
      }
      process.env.HOME = home;
      process.env.ALIBABA_CLOUD_ECS_METADATA_DISABLED = 'true';
      process.env.ALIBABA_CLOUD_CLI_PROFILE_DISABLED = 'true';
    });

    afterEach(() => {
      for (const k of Object.keys(process.env)) {
        if (!(k in saved)) delete process.env[k];
      }
      Object.assign(process.env, saved);
      rmSync(home, { recursive: true, force: true });
    });

    it('the default chain with no credentials anywhere → InvalidCredentials, permanent, before any request', async () => {
      handler = json(200, { Success: true, RequestId: 'R' });
      const a = api({ credentials: { kind: 'default-chain' } });
      for (let attempt = 1; attempt <= 2; attempt++) {
        const e = await apsErrorOf(a.startJob(REF));
        assert.deepEqual(pick(e), {
          code: 'InvalidCredentials',
          httpStatus: undefined,
          requestId: undefined,
          retryClass: 'permanent',
          ambiguous: false,
        });
        assert.match(e.message, /no usable Alibaba Cloud credentials/, `attempt ${attempt}`);
      }
      assert.equal(received.length, 0);

      // The SDK's chain would stick to the last provider it tried; ours starts over and finds them.
      process.env.ALIBABA_CLOUD_ACCESS_KEY_ID = 'LTAI5tLateKey';
      process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET = ACCESS_KEY_SECRET;
      await a.startJob(REF);
      assert.equal(received.length, 1);
      assert.match(received[0]!.headers.authorization ?? '', /^ACS3-HMAC-SHA256 Credential=LTAI5tLateKey,/);
    });

    it('checkCredentials rejects with a clear message when the default chain finds nothing', async () => {
      const err = await rejectionOf(checkCredentials({ credentials: { kind: 'default-chain' } }));
      assert.ok(err instanceof ApsApiError);
      assert.equal(err.error.code, 'InvalidCredentials');
      assert.match(
        err.message,
        /^InvalidCredentials: no usable Alibaba Cloud credentials: the default chain/,
      );
      assert.match(err.message, /ALIBABA_CLOUD_ACCESS_KEY_ID/);
    });

    it('the default chain picks up environment keys, and signs with them', async () => {
      process.env.ALIBABA_CLOUD_ACCESS_KEY_ID = 'LTAI5tFromEnv';
      process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET = ACCESS_KEY_SECRET;
      await checkCredentials({ credentials: { kind: 'default-chain' } });
      handler = json(200, { Success: true, RequestId: 'R' });
      await api({ credentials: { kind: 'default-chain' } }).startJob(REF);
      assert.match(received[0]!.headers.authorization ?? '', /^ACS3-HMAC-SHA256 Credential=LTAI5tFromEnv,/);
    });

    it('checkCredentials accepts an explicit key and rejects an incomplete one', async () => {
      await checkCredentials({
        credentials: { kind: 'access-key', accessKeyId: ACCESS_KEY_ID, accessKeySecret: ACCESS_KEY_SECRET },
      });
      const err = await rejectionOf(
        checkCredentials({
          credentials: { kind: 'access-key', accessKeyId: ACCESS_KEY_ID, accessKeySecret: '' },
        }),
      );
      assert.ok(err instanceof ApsApiError);
      assert.equal(err.error.code, 'InvalidCredentials');
      assert.equal(err.error.retryClass, 'permanent');
    });
  });
});

describe('LruMap (the per-region client cache)', () => {
  it('holds at most max entries and drops the least recently used, a read counting as a use', () => {
    const m = new LruMap<string, number>(3);
    m.set('a', 1);
    m.set('b', 2);
    m.set('c', 3);
    assert.equal(m.get('a'), 1); // a is now the most recently used
    m.set('d', 4);
    assert.equal(m.size, 3);
    assert.equal(m.get('b'), undefined, 'b was the least recently used');
    assert.deepEqual(m.keys(), ['c', 'a', 'd']);
    m.set('c', 30); // replacing counts as a use and does not grow the map
    m.set('e', 5);
    assert.deepEqual(m.keys(), ['d', 'c', 'e']);
    assert.equal(m.get('c'), 30);
  });

  it('stays at max however many keys pass through it', () => {
    const m = new LruMap<number, number>(MAX_REGION_CLIENTS);
    for (let i = 0; i < 10_000; i++) m.set(i, i);
    assert.equal(m.size, MAX_REGION_CLIENTS);
    assert.deepEqual(
      m.keys(),
      Array.from({ length: MAX_REGION_CLIENTS }, (_, i) => 10_000 - MAX_REGION_CLIENTS + i),
    );
  });

  it('refuses a max that is not a whole number of at least 1', () => {
    for (const max of [0, -1, 1.5, Number.NaN]) assert.throws(() => new LruMap(max), RangeError);
  });
});

describe('endpointFor', () => {
  it('builds the public and VPC per-region endpoints', () => {
    assert.equal(endpointFor('cn-hangzhou', {}), 'adb.cn-hangzhou.aliyuncs.com');
    assert.equal(
      endpointFor('ap-southeast-1', { endpointType: 'public' }),
      'adb.ap-southeast-1.aliyuncs.com',
    );
    assert.equal(endpointFor('cn-beijing', { endpointType: 'vpc' }), 'adb-vpc.cn-beijing.aliyuncs.com');
  });

  it('lets an explicit endpoint win', () => {
    assert.equal(
      endpointFor('cn-hangzhou', { endpoint: '127.0.0.1:9000', endpointType: 'vpc' }),
      '127.0.0.1:9000',
    );
  });

  it('validates the region', () => {
    assert.throws(() => endpointFor('cn-hangzhou.evil.com/', {}), InputValidationError);
  });
});
