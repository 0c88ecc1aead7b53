import { strict as assert } from 'node:assert';
import { generateAccessKey, startEmulator, type RunningEmulator } from '../../src/emulator';
import { expectError, expectOk, rawCall, waitFor, type RawTarget } from './helpers';

const region = 'cn-hangzhou';

describe('emulator: fault injection', () => {
  let emu: RunningEmulator;
  let target: RawTarget;
  before(async () => {
    emu = await startEmulator({
      seed: 42,
      jobs: [
        { apsJobId: 'aps-f1', kind: 'streaming' },
        { apsJobId: 'aps-f2', kind: 'streaming' },
      ],
    });
    const key = emu.credentials[0];
    assert.ok(key);
    target = { endpoint: emu.endpoint, key };
  });
  after(async () => {
    await emu.close();
  });
  beforeEach(() => emu.reset());

  const call = (action: string, apsJobId: string, t: RawTarget = target) =>
    rawCall(t, action, { RegionId: region, ApsJobId: apsJobId });

  it('the next N matching calls answer the error with its usual status, then the real answer', async () => {
    emu.injectFault({
      kind: 'error',
      code: 'ServiceUnavailable',
      action: 'StartApsJob',
      apsJobId: 'aps-f1',
      times: 2,
    });
    expectError(await call('StartApsJob', 'aps-f1'), 'ServiceUnavailable', 503);
    expectError(await call('StartApsJob', 'aps-f1'), 'ServiceUnavailable', 503);
    assert.equal(emu.effectiveStarts('aps-f1'), 0);
    expectOk(await call('StartApsJob', 'aps-f1'));
    assert.equal(emu.effectiveStarts('aps-f1'), 1);
    assert.deepEqual(emu.faults(), []);
    assert.equal(emu.counters().faults.error, 2);
  });

  it('matches per job and per action: other jobs and actions are untouched', async () => {
    emu.injectFault({ kind: 'error', code: 'InternalError', action: 'StartApsJob', apsJobId: 'aps-f1' });
    expectOk(await call('StartApsJob', 'aps-f2'));
    expectOk(await call('DescribeApsJobDetail', 'aps-f1'));
    expectError(await call('StartApsJob', 'aps-f1'), 'InternalError', 500);
  });

  it('an explicit status and message are answered as given (permanent InvalidInput)', async () => {
    emu.injectFault({
      kind: 'error',
      code: 'InvalidInput',
      httpStatus: 400,
      message: 'bad job',
      action: 'StartApsJob',
    });
    const data = expectError(await call('StartApsJob', 'aps-f1'), 'InvalidInput', 400);
    assert.equal(data.Message, 'bad job');
  });

  it('Throttling.User as a fault is HTTP 400 by default', async () => {
    emu.injectFault({ kind: 'error', code: 'Throttling.User' });
    expectError(await call('DescribeApsJobDetail', 'aps-f1'), 'Throttling.User', 400);
  });

  it("Success:false answers HTTP 200 in each action's own shape, without the effect", async () => {
    emu.injectFault({
      kind: 'success-false',
      errCode: 'InternalError',
      errMessage: 'try later',
      times: 'unlimited',
    });
    const start = expectOk(await call('StartApsJob', 'aps-f1'));
    assert.deepEqual(
      {
        Success: start.Success,
        ErrCode: start.ErrCode,
        ErrMessage: start.ErrMessage,
        ApsJobId: start.ApsJobId,
      },
      { Success: false, ErrCode: 'InternalError', ErrMessage: 'try later', ApsJobId: 'aps-f1' },
    );
    assert.equal(emu.effectiveStarts('aps-f1'), 0);
    const suspend = expectOk(await call('SuspendApsJob', 'aps-f1'));
    assert.equal(suspend.Success, false);
    assert.ok(!('Code' in suspend));
    const list = expectOk(await rawCall(target, 'DescribeApsJobs', { PageNumber: 1, PageSize: 10 }));
    assert.deepEqual([list.Success, list.Code, list.Message], [false, 'InternalError', 'try later']);
    const detail = expectOk(await call('DescribeApsJobDetail', 'aps-f1'));
    assert.equal(detail.Success, false);
    assert.ok(!('APSJobDetail' in detail));
    assert.equal(emu.requests()[0]?.code, 'InternalError');
    assert.equal(emu.requests()[0]?.httpStatus, 200);
  });

  it('latency past the client read timeout: RequestTimeoutError, and without applyFirst no start', async () => {
    emu.injectFault({ kind: 'latency', latencyMs: 3000, action: 'StartApsJob' });
    const result = await call('StartApsJob', 'aps-f1', { ...target, readTimeoutMs: 300 });
    assert.ok(!result.ok);
    assert.equal(result.error.name, 'RequestTimeoutError');
    assert.match(result.error.message, /ReadTimeout/);
    await waitFor(() => emu.requests().length === 1, 'the abandoned request to be logged');
    assert.equal(emu.requests()[0]?.code, 'ClientClosedRequest');
    assert.equal(emu.requests()[0]?.httpStatus, null);
    assert.equal(emu.effectiveStarts('aps-f1'), 0);
  });

  it('latency with applyFirst: the start happens although the client timed out', async () => {
    emu.injectFault({ kind: 'latency', latencyMs: 3000, action: 'StartApsJob', applyFirst: true });
    const result = await call('StartApsJob', 'aps-f1', { ...target, readTimeoutMs: 300 });
    assert.ok(!result.ok);
    assert.equal(result.error.name, 'RequestTimeoutError');
    assert.equal(emu.effectiveStarts('aps-f1'), 1);
    await waitFor(() => emu.requests().length === 1, 'the abandoned request to be logged');
    assert.equal(emu.requests()[0]?.applied, true);
  });

  it('latency below the timeout only slows the real answer', async () => {
    emu.injectFault({ kind: 'latency', latencyMs: 200, action: 'StartApsJob' });
    const t0 = Date.now();
    expectOk(await call('StartApsJob', 'aps-f1'));
    assert.ok(Date.now() - t0 >= 190);
    assert.equal(emu.effectiveStarts('aps-f1'), 1);
  });

  it('latency can precede an error answer', async () => {
    emu.injectFault({ kind: 'error', code: 'ServiceUnavailable', latencyMs: 150 });
    const t0 = Date.now();
    expectError(await call('DescribeApsJobDetail', 'aps-f1'), 'ServiceUnavailable', 503);
    assert.ok(Date.now() - t0 >= 140);
  });

  it('reset destroys the connection (ECONNRESET); with applyFirst the start still happened', async () => {
    emu.injectFault({ kind: 'reset', action: 'StartApsJob' });
    const r1 = await call('StartApsJob', 'aps-f1');
    assert.ok(!r1.ok);
    assert.equal(r1.error.code, 'ECONNRESET');
    assert.equal(emu.effectiveStarts('aps-f1'), 0);
    emu.injectFault({ kind: 'reset', action: 'StartApsJob', applyFirst: true });
    const r2 = await call('StartApsJob', 'aps-f1');
    assert.ok(!r2.ok);
    assert.equal(r2.error.code, 'ECONNRESET');
    assert.equal(emu.effectiveStarts('aps-f1'), 1);
    assert.deepEqual(
      emu.requests().map((e) => [e.code, e.httpStatus]),
      [
        ['ConnectionReset', null],
        ['ConnectionReset', null],
      ],
    );
  });

  it('html-502 answers a non-JSON page: the SDK throws a SyntaxError with no code or status', async () => {
    emu.injectFault({ kind: 'html-502', action: 'DescribeApsJobDetail' });
    const result = await call('DescribeApsJobDetail', 'aps-f1');
    assert.ok(!result.ok);
    assert.equal(result.error.name, 'SyntaxError');
    assert.equal(result.error.code, undefined);
    assert.equal(result.error.statusCode, undefined);
    assert.deepEqual([emu.requests()[0]?.code, emu.requests()[0]?.httpStatus], ['BadGateway', 502]);
  });

  it('applyFirst on an error: the start happened, the client saw 503 (the lost-reply case)', async () => {
    emu.injectFault({ kind: 'error', code: 'ServiceUnavailable', action: 'StartApsJob', applyFirst: true });
    expectError(await call('StartApsJob', 'aps-f1'), 'ServiceUnavailable', 503);
    assert.equal(emu.effectiveStarts('aps-f1'), 1);
    assert.equal(emu.job('aps-f1')?.status, 'Running');
    const entry = emu.requests()[0];
    assert.deepEqual([entry?.fault, entry?.applied, entry?.code], ['error', true, 'ServiceUnavailable']);
  });

  it('applyFirst with AcsServerTimeOut answers 408 after the start took effect', async () => {
    emu.injectFault({ kind: 'error', code: 'AcsServerTimeOut', action: 'StartApsJob', applyFirst: true });
    expectError(await call('StartApsJob', 'aps-f1'), 'AcsServerTimeOut', 408);
    assert.equal(emu.effectiveStarts('aps-f1'), 1);
  });

  it('rejects an invalid fault with a message naming the field', () => {
    assert.throws(() => emu.injectFault({ kind: 'error', code: '' }), /code/);
    assert.throws(() => emu.injectFault({ kind: 'error', code: 'X', rate: 2 }), /rate/);
    assert.throws(() => emu.injectFault({ kind: 'latency' } as never), /latencyMs/);
  });
});

describe('emulator: probabilistic faults are reproducible from the seed', () => {
  const emulators: RunningEmulator[] = [];
  after(async () => {
    await Promise.all(emulators.map((e) => e.close()));
  });

  async function pattern(emu: RunningEmulator, calls: number): Promise<string> {
    const key = emu.credentials[0];
    assert.ok(key);
    let out = '';
    for (let i = 0; i < calls; i++) {
      const r = await rawCall({ endpoint: emu.endpoint, key }, 'DescribeApsJobDetail', {
        RegionId: region,
        ApsJobId: 'aps-p1',
      });
      out += r.ok ? '.' : 'x';
    }
    return out;
  }

  async function emulator(seed: number): Promise<RunningEmulator> {
    const emu = await startEmulator({
      seed,
      jobs: [{ apsJobId: 'aps-p1', kind: 'streaming' }],
      faults: [{ kind: 'error', code: 'ServiceUnavailable', rate: 0.3 }],
    });
    emulators.push(emu);
    return emu;
  }

  it('the same seed gives the same failures, after a reset and in another emulator', async () => {
    const a = await emulator(7);
    const first = await pattern(a, 40);
    const failures = [...first].filter((c) => c === 'x').length;
    assert.ok(failures > 3 && failures < 25, `about 30% fail: ${first}`);
    a.reset();
    assert.equal(await pattern(a, 40), first);
    const b = await emulator(7);
    assert.equal(await pattern(b, 40), first);
    const c = await emulator(8);
    assert.notEqual(await pattern(c, 40), first);
    assert.equal(a.state().seed, 7);
  });
});

describe('emulator: rate limit per access key', () => {
  const key = generateAccessKey();
  const other = generateAccessKey();
  let clock = Date.now();
  let emu: RunningEmulator;
  before(async () => {
    emu = await startEmulator({
      now: () => clock,
      accessKeys: [key, other],
      jobs: [{ apsJobId: 'aps-rl1', kind: 'streaming' }],
    });
  });
  after(async () => {
    await emu.close();
  });

  it('answers Throttling.User (400) past the burst, per key, and refills over time', async () => {
    clock = Date.now();
    emu.setRateLimit({ ratePerSec: 2, burst: 3 });
    const call = (k: typeof key) =>
      rawCall({ endpoint: emu.endpoint, key: k }, 'DescribeApsJobDetail', {
        RegionId: region,
        ApsJobId: 'aps-rl1',
      });
    for (let i = 0; i < 3; i++) expectOk(await call(key));
    const data = expectError(await call(key), 'Throttling.User', 400);
    assert.equal(data.Message, 'Request was denied due to user flow control.');
    expectOk(await call(other));
    clock += 500; // one token back at 2/s
    expectOk(await call(key));
    expectError(await call(key), 'Throttling.User', 400);
    assert.equal(emu.counters().faults['rate-limit'], 2);
    emu.setRateLimit(null);
    expectOk(await call(key));
  });

  it('can apply to one key only', async () => {
    emu.setRateLimit({ ratePerSec: 0, burst: 1, accessKeyId: other.accessKeyId });
    const call = (k: typeof key) =>
      rawCall({ endpoint: emu.endpoint, key: k }, 'DescribeApsJobDetail', {
        RegionId: region,
        ApsJobId: 'aps-rl1',
      });
    for (let i = 0; i < 3; i++) expectOk(await call(key));
    expectOk(await call(other));
    expectError(await call(other), 'Throttling.User', 400);
    emu.setRateLimit(null);
  });
});
