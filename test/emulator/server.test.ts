import { strict as assert } from 'node:assert';
import http from 'node:http';
import net from 'node:net';
import { EmulatorControl, generateAccessKey, startEmulator, type RunningEmulator } from '../../src/emulator';
import { EmulatorControlError } from '../../src/emulator/control-client';
import {
  expectError,
  expectOk,
  httpRequest,
  rawCall,
  signedRequest,
  waitFor,
  type RawTarget,
} from './helpers';

const region = 'cn-hangzhou';

/** Sends raw bytes on a fresh TCP connection and returns whatever comes back before it closes. */
function rawTcp(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(bytes));
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString('utf8')));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
}

describe('emulator: robustness against malformed requests', () => {
  const key = generateAccessKey();
  let emu: RunningEmulator;
  let target: RawTarget;
  before(async () => {
    emu = await startEmulator({ accessKeys: [key], jobs: [{ apsJobId: 'aps-r1', kind: 'streaming' }] });
    target = { endpoint: emu.endpoint, key };
  });
  after(async () => {
    await emu.close();
  });
  afterEach(async () => {
    // Whatever a test threw at it, the emulator still answers a real call.
    expectOk(await rawCall(target, 'DescribeApsJobDetail', { RegionId: region, ApsJobId: 'aps-r1' }));
  });

  it('an unknown path is a 404 JSON error', async () => {
    const res = await httpRequest(emu.port, { method: 'GET', path: '/v1/jobs' });
    assert.equal(res.status, 404);
    assert.equal(res.json?.Code, 'InvalidApi.NotFound');
    assert.equal(typeof res.json?.RequestId, 'string');
  });

  it('a wrong method is a 405 with Allow', async () => {
    const res = await httpRequest(emu.port, { method: 'PUT', body: 'x' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.allow, 'GET, POST');
    assert.equal(res.json?.Code, 'MethodNotAllowed');
  });

  it('a declared oversized body is refused with 413 before it is read', async () => {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: emu.port,
          method: 'POST',
          path: '/',
          agent: false,
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'content-length': String(2 * 1024 * 1024),
          },
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.write('a=1&');
    });
    assert.equal(answer.status, 413);
    assert.equal((JSON.parse(answer.body) as Record<string, unknown>).Code, 'RequestEntityTooLarge');
  });

  it('an oversized chunked body is cut off with 413', async () => {
    const answer = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: emu.port,
          method: 'POST',
          path: '/',
          agent: false,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      // The server may close while we still write: that is the point, not a failure.
      req.on('error', (err: NodeJS.ErrnoException) =>
        err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err),
      );
      const chunk = 'a'.repeat(64 * 1024);
      let sent = 0;
      const pump = (): void => {
        while (sent < 2 * 1024 * 1024) {
          sent += chunk.length;
          if (!req.write(chunk)) {
            req.once('drain', pump);
            return;
          }
        }
        req.end();
      };
      pump();
    });
    assert.equal(answer, 413);
  });

  it('a non-form content type is 415', async () => {
    const res = await httpRequest(emu.port, {
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    assert.equal(res.status, 415);
    assert.equal(res.json?.Code, 'UnsupportedMediaType');
  });

  it('bad percent-encoding, invalid UTF-8 and duplicate parameters are 400 InvalidParameter', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    for (const body of ['ApsJobId=%zz', Buffer.from([0x61, 0x3d, 0xff, 0xfe]), 'a=1&a=2', '=x']) {
      const res = await httpRequest(emu.port, { headers: form, body });
      assert.equal(res.status, 400, String(body));
      assert.equal(res.json?.Code, 'InvalidParameter', String(body));
    }
    const res = await httpRequest(emu.port, { path: '/?a=%', headers: form, body: 'b=1' });
    assert.equal(res.json?.Code, 'InvalidParameter');
  });

  it('a form request with no signing headers at all is IncompleteSignature', async () => {
    const res = await httpRequest(emu.port, {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'RegionId=cn-hangzhou&ApsJobId=aps-r1',
    });
    assert.equal(res.status, 400);
    assert.equal(res.json?.Code, 'IncompleteSignature');
  });

  it('a signed request missing x-acs-date is IncompleteSignature naming the header', async () => {
    const { headers, body } = signedRequest(emu.port, 'DescribeApsJobDetail', { ApsJobId: 'aps-r1' }, key);
    const { 'x-acs-date': _drop, ...rest } = headers;
    const res = await httpRequest(emu.port, { headers: rest, body });
    assert.equal(res.json?.Code, 'IncompleteSignature');
    assert.match(String(res.json?.Message), /x-acs-date/);
  });

  it('a missing action or version is MissingParameter naming it', async () => {
    const noAction = signedRequest(emu.port, '', { ApsJobId: 'aps-r1' }, key);
    const r1 = await httpRequest(emu.port, noAction);
    assert.equal(r1.json?.Code, 'MissingParameter');
    assert.match(String(r1.json?.Message), /"Action"/);
    const noVersion = signedRequest(
      emu.port,
      'DescribeApsJobDetail',
      { ApsJobId: 'aps-r1' },
      { ...key, version: '' },
    );
    const r2 = await httpRequest(emu.port, noVersion);
    assert.equal(r2.json?.Code, 'MissingParameter');
    assert.match(String(r2.json?.Message), /"Version"/);
  });

  it('garbage that is not HTTP gets a 400 from the parser and nothing breaks', async () => {
    const text = await rawTcp(emu.port, 'HELLO THERE\r\n\r\n');
    assert.match(text, /^HTTP\/1\.1 400/);
  });

  it('a client that disconnects mid-body is logged and forgotten', async () => {
    await new Promise<void>((resolve) => {
      const socket = net.connect(emu.port, '127.0.0.1', () => {
        socket.write(
          'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nabc',
        );
        socket.destroy();
        resolve();
      });
    });
    await waitFor(
      () => emu.requests().some((e) => e.code === 'ClientClosedRequest'),
      'the aborted request to be logged',
    );
  });
});

describe('emulator: counters and the request log', () => {
  let emu: RunningEmulator;
  let target: RawTarget;
  before(async () => {
    emu = await startEmulator({
      jobs: [
        { apsJobId: 'aps-c1', kind: 'streaming' },
        { apsJobId: 'aps-c2', kind: 'streaming' },
      ],
    });
    const key = emu.credentials[0];
    assert.ok(key);
    target = { endpoint: emu.endpoint, key };
  });
  after(async () => {
    await emu.close();
  });

  it('counts calls per action, per job and per code, and logs each request once', async () => {
    const t0 = Date.now();
    expectOk(await rawCall(target, 'StartApsJob', { RegionId: region, ApsJobId: 'aps-c1' }));
    for (let i = 0; i < 3; i++)
      expectOk(await rawCall(target, 'DescribeApsJobDetail', { RegionId: region, ApsJobId: 'aps-c1' }));
    expectOk(await rawCall(target, 'DescribeApsJobDetail', { RegionId: region, ApsJobId: 'aps-c2' }));
    expectError(
      await rawCall(target, 'StartApsJob', { RegionId: region, ApsJobId: 'aps-none' }),
      'InvalidInput',
      400,
    );
    expectError(await rawCall(target, 'Nope', {}), 'InvalidAction', 400);

    const c = emu.counters();
    assert.equal(c.requests, 7);
    assert.deepEqual(c.byAction, { StartApsJob: 2, DescribeApsJobDetail: 4, '(other)': 1 });
    assert.deepEqual(c.byJob['aps-c1'], { StartApsJob: 1, DescribeApsJobDetail: 3 });
    assert.deepEqual(c.byJob['aps-c2'], { DescribeApsJobDetail: 1 });
    assert.deepEqual(c.byCode, { OK: 5, InvalidInput: 1, InvalidAction: 1 });
    assert.deepEqual(c.effectiveStarts, { 'aps-c1': 1 });
    assert.deepEqual(c.duplicateStartCalls, {});
    assert.equal(emu.calls({ action: 'DescribeApsJobDetail', apsJobId: 'aps-c1' }), 3);
    assert.equal(emu.calls({ apsJobId: 'aps-c1' }), 4);
    assert.equal(emu.calls(), 7);

    const log = emu.requests();
    assert.deepEqual(
      log.map((e) => e.seq),
      [1, 2, 3, 4, 5, 6, 7],
    );
    const first = log[0];
    assert.ok(first);
    assert.equal(first.action, 'StartApsJob');
    assert.equal(first.apsJobId, 'aps-c1');
    assert.equal(first.accessKeyId, target.key.accessKeyId);
    assert.equal(first.code, 'OK');
    assert.equal(first.httpStatus, 200);
    assert.equal(first.signatureValid, true);
    assert.equal(first.applied, true);
    assert.ok(Date.parse(first.time) >= t0 - 1000);
    assert.match(first.requestId, /^[0-9A-F-]{36}$/);
    assert.deepEqual(
      emu.requests({ sinceSeq: 5 }).map((e) => e.code),
      ['InvalidInput', 'InvalidAction'],
    );
    assert.equal(emu.requests({ apsJobId: 'aps-c2' }).length, 1);
    assert.equal(emu.requests({ limit: 2 }).length, 2);
  });

  it('the request ID of the body is the x-acs-request-id header', async () => {
    const r = await rawCall(target, 'DescribeApsJobDetail', { RegionId: region, ApsJobId: 'aps-c1' });
    assert.ok(r.ok);
    assert.equal(r.headers['x-acs-request-id'], r.body.RequestId);
  });
});

describe('emulator: outages', () => {
  let emu: RunningEmulator;
  let target: RawTarget;
  before(async () => {
    emu = await startEmulator({ jobs: [{ apsJobId: 'aps-o1', kind: 'streaming' }] });
    const key = emu.credentials[0];
    assert.ok(key);
    target = { endpoint: emu.endpoint, key };
  });
  after(async () => {
    await emu.close();
  });

  it('stopListening refuses connections and cuts in-flight calls; resumeListening keeps port and state', async () => {
    expectOk(await rawCall(target, 'StartApsJob', { RegionId: region, ApsJobId: 'aps-o1' }));
    const port = emu.port;
    emu.injectFault({ kind: 'latency', latencyMs: 10_000, action: 'DescribeApsJobDetail' });
    const inFlight = rawCall(target, 'DescribeApsJobDetail', { RegionId: region, ApsJobId: 'aps-o1' });
    await waitFor(() => emu.faults().length === 0, 'the slow call to arrive');
    await emu.stopListening();
    assert.equal(emu.listening, false);
    const cut = await inFlight;
    assert.ok(!cut.ok);
    assert.ok(['ECONNRESET', 'ECONNREFUSED'].includes(cut.error.code ?? ''), JSON.stringify(cut.error));
    const refused = await rawCall(target, 'DescribeApsJobDetail', { RegionId: region, ApsJobId: 'aps-o1' });
    assert.ok(!refused.ok);
    assert.equal(refused.error.code, 'ECONNREFUSED');

    await emu.resumeListening();
    assert.equal(emu.port, port);
    assert.equal(emu.listening, true);
    const body = expectOk(
      await rawCall(target, 'DescribeApsJobDetail', { RegionId: region, ApsJobId: 'aps-o1' }),
    );
    assert.equal((body.APSJobDetail as Record<string, unknown>).Status, 'Running');
    assert.equal(emu.effectiveStarts('aps-o1'), 1);
  });
});

describe('emulator: the control API over HTTP', () => {
  let emu: RunningEmulator;
  let control: EmulatorControl;
  let target: RawTarget;
  before(async () => {
    emu = await startEmulator({ adminToken: 'test-admin-token', seed: 3 });
    control = new EmulatorControl({ url: emu.url, adminToken: 'test-admin-token' });
    const key = emu.credentials[0];
    assert.ok(key);
    target = { endpoint: emu.endpoint, key };
  });
  after(async () => {
    await emu.close();
  });

  it('seeds jobs, arms faults, reads counters and the log, sets statuses and resets', async () => {
    await control.waitUntilReady();
    const [job] = await control.addJobs({ apsJobId: 'aps-ctl1', kind: 'streaming' });
    assert.equal(job?.status, 'Suspended');
    const ids = await control.injectFaults([
      { kind: 'error', code: 'ServiceUnavailable', action: 'StartApsJob', applyFirst: true },
    ]);
    assert.equal(ids.length, 1);
    assert.equal((await control.faults()).length, 1);
    expectError(
      await rawCall(target, 'StartApsJob', { RegionId: region, ApsJobId: 'aps-ctl1' }),
      'ServiceUnavailable',
      503,
    );
    assert.equal(await control.effectiveStarts('aps-ctl1'), 1);
    expectOk(await rawCall(target, 'StartApsJob', { RegionId: region, ApsJobId: 'aps-ctl1' }));
    assert.equal(await control.duplicateStartCalls('aps-ctl1'), 1);
    assert.equal((await control.job('aps-ctl1'))?.duplicateStartCalls, 1);
    assert.equal(await control.effectiveStarts('aps-ctl1'), 1);
    const counters = await control.counters();
    assert.equal(counters.byJob['aps-ctl1']?.StartApsJob, 2);
    assert.deepEqual(counters.duplicateStartCalls, { 'aps-ctl1': 1 });
    const log = await control.requests({ action: 'StartApsJob' });
    assert.equal(log.length, 2);
    assert.equal(log[0]?.applied, true);
    assert.equal(log[1]?.applied, false);

    const suspended = await control.setJobStatus('aps-ctl1', 'Suspended');
    assert.equal(suspended.status, 'Suspended');
    assert.equal((await control.job('aps-ctl1'))?.status, 'Suspended');
    assert.equal(await control.job('aps-nosuch'), undefined);

    await control.setRateLimit({ ratePerSec: 0, burst: 1 });
    expectOk(await rawCall(target, 'DescribeApsJobDetail', { RegionId: region, ApsJobId: 'aps-ctl1' }));
    expectError(
      await rawCall(target, 'DescribeApsJobDetail', { RegionId: region, ApsJobId: 'aps-ctl1' }),
      'Throttling.User',
      400,
    );
    await control.setRateLimit(null);

    await control.injectFaults({ kind: 'reset' });
    await control.clearFaults();
    assert.deepEqual(await control.faults(), []);

    const state = await control.state();
    assert.equal(state.seed, 3);
    assert.equal(state.listening, true);
    assert.deepEqual(state.accessKeys, [
      { accessKeyId: target.key.accessKeyId, sts: false, inactive: false },
    ]);
    assert.ok(!JSON.stringify(state).includes(target.key.accessKeySecret), 'no secret in the state');

    await control.reset();
    assert.equal((await control.counters()).requests, 0);
    assert.equal((await control.jobs()).find((j) => j.apsJobId === 'aps-ctl1')?.effectiveStarts, 0);
    assert.equal(await control.duplicateStartCalls('aps-ctl1'), 0);
    assert.deepEqual((await control.state()).counters.duplicateStartCalls, {});
  });

  it('schedules an outage: refused while it lasts, back by itself', async () => {
    await control.outage(400);
    await waitFor(() => !emu.listening, 'the outage to begin');
    // A pooled keep-alive connection may still see the reset; a new connection is refused.
    const failed = await rawCall(target, 'DescribeApsJobs', { PageNumber: 1, PageSize: 10 });
    assert.ok(!failed.ok);
    assert.ok(['ECONNREFUSED', 'ECONNRESET'].includes(failed.error.code ?? ''), JSON.stringify(failed.error));
    await assert.rejects(rawTcp(emu.port, 'GET / HTTP/1.1\r\n\r\n'), { code: 'ECONNREFUSED' });
    await waitFor(() => control.health(), 'the emulator to come back');
    expectOk(await rawCall(target, 'DescribeApsJobs', { PageNumber: 1, PageSize: 10 }));
  });

  it('requires the admin token, and answers clear errors for bad routes, methods and bodies', async () => {
    const anonymous = new EmulatorControl({ url: emu.url });
    await assert.rejects(anonymous.counters(), (e: EmulatorControlError) => e.status === 401);
    await assert.rejects(
      control.injectFaults({ kind: 'error' } as never),
      (e: EmulatorControlError) => e.status === 400 && /code/.test(e.message),
    );
    await assert.rejects(
      control.setJobStatus('aps-nosuch', 'Running'),
      (e: EmulatorControlError) => e.status === 404,
    );
    const headers = { 'x-emulator-token': 'test-admin-token' };
    const unknown = await httpRequest(emu.port, { method: 'GET', path: '/__emulator/nope', headers });
    assert.equal(unknown.status, 404);
    const wrongMethod = await httpRequest(emu.port, { method: 'DELETE', path: '/__emulator/state', headers });
    assert.equal(wrongMethod.status, 405);
    const badJson = await httpRequest(emu.port, {
      path: '/__emulator/jobs',
      headers: { ...headers, 'content-type': 'application/json' },
      body: '{not json',
    });
    assert.equal(badJson.status, 400);
    assert.match(String((badJson.json?.error as Record<string, unknown>).message), /not valid JSON/);
    const badQuery = await httpRequest(emu.port, {
      method: 'GET',
      path: '/__emulator/requests?limit=x',
      headers,
    });
    assert.equal(badQuery.status, 400);
  });
});

describe('emulator: the control API keeps browsers and the network out', () => {
  const token = 'test-admin-token';
  let emu: RunningEmulator;
  before(async () => {
    emu = await startEmulator({ adminToken: token });
  });
  after(async () => {
    await emu.close();
  });

  const job = JSON.stringify({ apsJobId: 'aps-guard1', kind: 'streaming' });
  const errorCode = (a: { json?: Record<string, unknown> }): unknown =>
    (a.json?.error as Record<string, unknown> | undefined)?.code;

  it('refuses any request with an Origin header (403), token or not, and changes nothing', async () => {
    const headers = { 'x-emulator-token': token, origin: 'http://127.0.0.1:9000' };
    const read = await httpRequest(emu.port, { method: 'GET', path: '/__emulator/state', headers });
    assert.equal(read.status, 403);
    assert.equal(errorCode(read), 'Forbidden');
    assert.match(String((read.json?.error as Record<string, unknown>).message), /Origin/);
    assert.equal(read.headers['access-control-allow-origin'], undefined);
    const write = await httpRequest(emu.port, {
      path: '/__emulator/jobs',
      headers: { ...headers, 'content-type': 'application/json' },
      body: job,
    });
    assert.equal(write.status, 403);
    assert.equal(emu.job('aps-guard1'), undefined, 'the job was not added');
  });

  it('refuses a POST that is not application/json (415), with or without a body', async () => {
    const auth = { 'x-emulator-token': token };
    const cases: [Record<string, string>, string | undefined][] = [
      [{}, job],
      [{ 'content-type': 'text/plain' }, job],
      [{ 'content-type': 'application/x-www-form-urlencoded' }, 'apsJobId=aps-guard1'],
      [{ 'content-type': 'multipart/form-data; boundary=x' }, job],
      [{ 'content-type': 'application/json; charset=latin1' }, job],
      [{}, undefined],
    ];
    for (const [type, body] of cases) {
      const res = await httpRequest(emu.port, {
        path: body === undefined ? '/__emulator/reset' : '/__emulator/jobs',
        headers: { ...auth, ...type },
        body,
      });
      assert.equal(res.status, 415, `${JSON.stringify(type)}: ${res.text}`);
      assert.equal(errorCode(res), 'UnsupportedMediaType');
      assert.match(String((res.json?.error as Record<string, unknown>).message), /application\/json/);
    }
    assert.equal(emu.job('aps-guard1'), undefined, 'no job was added');
    const ok = await httpRequest(emu.port, {
      path: '/__emulator/jobs',
      headers: { ...auth, 'content-type': 'Application/JSON; charset=UTF-8' },
      body: job,
    });
    assert.equal(ok.status, 201, ok.text);
    assert.equal(emu.job('aps-guard1')?.status, 'Suspended');
    // GET and DELETE carry no body, so they need no content type.
    const del = await httpRequest(emu.port, { method: 'DELETE', path: '/__emulator/faults', headers: auth });
    assert.equal(del.status, 200, del.text);
  });

  it('EmulatorControl sends JSON on every POST, a body-less reset included', async () => {
    const control = new EmulatorControl({ url: emu.url, adminToken: token });
    await control.addJobs({ apsJobId: 'aps-guard2', kind: 'streaming' });
    await control.setJobStatus('aps-guard2', 'Running');
    await control.reset();
    assert.equal((await control.job('aps-guard2'))?.status, 'Suspended');
  });

  it('will not bind beyond loopback without a token; with one it does, and asks for it', async () => {
    for (const host of ['0.0.0.0', '::', '192.0.2.1', 'emulator']) {
      await assert.rejects(
        startEmulator({ host }),
        (e: Error) =>
          e.name === 'EmulatorInputError' &&
          e.message.includes(JSON.stringify(host)) &&
          /APS_EMULATOR_ADMIN_TOKEN/.test(e.message) &&
          /127\.0\.0\.1/.test(e.message),
      );
    }
    const open = await startEmulator({ host: '0.0.0.0', adminToken: token });
    try {
      const anonymous = await httpRequest(open.port, { method: 'GET', path: '/__emulator/state' });
      assert.equal(anonymous.status, 401);
      const wrong = await httpRequest(open.port, {
        method: 'GET',
        path: '/__emulator/state',
        headers: { authorization: 'Bearer not-the-token' },
      });
      assert.equal(wrong.status, 401);
      const right = await httpRequest(open.port, {
        method: 'GET',
        path: '/__emulator/state',
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(right.status, 200);
    } finally {
      await open.close();
    }
    // Loopback needs no token.
    for (const host of ['127.0.0.1', 'localhost']) {
      const local = await startEmulator({ host });
      await local.close();
    }
  });
});

describe('emulator: many jobs at once', () => {
  let emu: RunningEmulator;
  before(async () => {
    emu = await startEmulator({ autoCreateJobs: true });
  });
  after(async () => {
    await emu.close();
  });

  it('serves 300 concurrent starts of auto-created jobs, one effective start each', async () => {
    const key = emu.credentials[0];
    assert.ok(key);
    const ids = Array.from({ length: 300 }, (_, i) => `aps-load-${String(i).padStart(4, '0')}`);
    const results = await Promise.all(
      ids.map((id) =>
        rawCall({ endpoint: emu.endpoint, key }, 'StartApsJob', { RegionId: region, ApsJobId: id }),
      ),
    );
    assert.deepEqual(
      results.filter((r) => !r.ok),
      [],
    );
    const c = emu.counters();
    assert.equal(c.requests, 300);
    assert.equal(Object.keys(c.effectiveStarts).length, 300);
    assert.ok(Object.values(c.effectiveStarts).every((n) => n === 1));
    assert.equal(emu.jobs().length, 300);
  });
});
