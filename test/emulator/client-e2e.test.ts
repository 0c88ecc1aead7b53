import { strict as assert } from 'node:assert';
import { createApsApi, ApsApiError, type ApsApi, type ApsError } from '../../src/aps';
import {
  generateAccessKey,
  startEmulator,
  type AccessKeyConfig,
  type RunningEmulator,
} from '../../src/emulator';
import { waitFor } from './helpers';

const regionId = 'cn-hangzhou';

/**
 * The project's APS client (src/aps/client.ts) against the emulator: every error class and every
 * fault, normalized as the ApsApi contract says, and never more than one request per call.
 */
describe('emulator + createApsApi: every error class, one request per call', () => {
  const key = generateAccessKey();
  const sts = generateAccessKey({ sts: true });
  let emu: RunningEmulator;
  let calls = 0;

  before(async () => {
    emu = await startEmulator({ accessKeys: [key, sts], seed: 5 });
  });
  after(async () => {
    await emu.close();
  });
  beforeEach(() => {
    emu.reset();
    calls = 0;
  });
  afterEach(async function () {
    if (this.currentTest?.state !== 'passed') return;
    // Every call the test made reached the emulator exactly once: the client never retried.
    await waitFor(() => emu.calls() >= calls, 'every request to be logged');
    assert.equal(emu.calls(), calls, 'requests received = calls made');
  });

  function api(
    k: Pick<AccessKeyConfig, 'accessKeyId' | 'accessKeySecret' | 'securityToken'> = key,
    timeouts: { connectTimeoutMs?: number; readTimeoutMs?: number } = {},
  ): ApsApi {
    return createApsApi({
      credentials: {
        kind: 'access-key',
        accessKeyId: k.accessKeyId,
        accessKeySecret: k.accessKeySecret,
        securityToken: k.securityToken,
      },
      endpoint: emu.endpoint,
      protocol: 'http',
      connectTimeoutMs: timeouts.connectTimeoutMs ?? 3000,
      readTimeoutMs: timeouts.readTimeoutMs ?? 3000,
    });
  }

  /** Runs one call that must fail; checks that it reached the emulator once; returns the error. */
  async function failure(run: () => Promise<unknown>, reaches = true): Promise<ApsError> {
    const before = emu.calls();
    let thrown: unknown;
    try {
      await run();
    } catch (err) {
      thrown = err;
    }
    if (reaches) calls += 1;
    assert.ok(thrown instanceof ApsApiError, `expected an ApsApiError, got ${String(thrown)}`);
    if (reaches) await waitFor(() => emu.calls() > before, 'the call to be logged');
    assert.equal(emu.calls() - before, reaches ? 1 : 0, 'exactly one request for one call');
    return thrown.error;
  }

  async function success<T>(run: () => Promise<T>): Promise<T> {
    const before = emu.calls();
    const result = await run();
    calls += 1;
    assert.equal(emu.calls() - before, 1, 'exactly one request for one call');
    return result;
  }

  const lastRequestId = (): string | undefined => emu.requests().at(-1)?.requestId;

  it('success: start, describe, suspend and list parse the emulator answers', async () => {
    emu.addJob({ apsJobId: 'aps-e2e-ok', kind: 'batch', runningPollsToComplete: 1, name: 'hive-1' });
    const ref = { regionId, apsJobId: 'aps-e2e-ok' };
    const started = await success(() => api().startJob(ref));
    assert.equal(started.apsJobId, 'aps-e2e-ok');
    assert.equal(started.requestId, lastRequestId());
    assert.equal(emu.effectiveStarts('aps-e2e-ok'), 1);
    const d1 = await success(() => api().describeJob(ref));
    assert.deepEqual(d1.status, { raw: 'Running', class: 'running' });
    const d2 = await success(() => api().describeJob(ref));
    assert.deepEqual(d2.status, { raw: 'COMPLETED', class: 'completed' });
    const list = await success(() => api().listJobs({ regionId, pageNumber: 1, pageSize: 10 }));
    assert.equal(list.totalCount, 1);
    assert.equal(list.jobs[0]?.apsJobId, 'aps-e2e-ok');
    assert.equal(list.jobs[0]?.progress, '100');
    await success(() => api().suspendJob(ref));
    assert.equal(emu.job('aps-e2e-ok')?.status, 'Suspended');
  });

  it('throttled: Throttling.User (fault and rate limit) is throttled, not ambiguous', async () => {
    emu.addJob({ apsJobId: 'aps-e2e-thr', kind: 'streaming' });
    const ref = { regionId, apsJobId: 'aps-e2e-thr' };
    emu.injectFault({ kind: 'error', code: 'Throttling.User', action: 'StartApsJob' });
    const e = await failure(() => api().startJob(ref));
    assert.deepEqual(
      [e.code, e.httpStatus, e.retryClass, e.ambiguous, e.requestId],
      ['Throttling.User', 400, 'throttled', false, lastRequestId()],
    );
    emu.setRateLimit({ ratePerSec: 0, burst: 1 });
    await success(() => api().describeJob(ref));
    const limited = await failure(() => api().describeJob(ref));
    assert.deepEqual([limited.code, limited.retryClass], ['Throttling.User', 'throttled']);
    emu.setRateLimit(null);
  });

  it('transient 5xx and 408: transient and ambiguous; applyFirst shows why a start must re-read', async () => {
    emu.addJob({ apsJobId: 'aps-e2e-5xx', kind: 'streaming' });
    const ref = { regionId, apsJobId: 'aps-e2e-5xx' };
    for (const [code, status] of [
      ['ServiceUnavailable', 503],
      ['InternalError', 500],
      ['AcsServerTimeOut', 408],
    ] as const) {
      emu.injectFault({ kind: 'error', code, action: 'StartApsJob' });
      const e = await failure(() => api().startJob(ref));
      assert.deepEqual(
        [e.code, e.httpStatus, e.retryClass, e.ambiguous],
        [code, status, 'transient', true],
        code,
      );
      assert.equal(e.requestId, lastRequestId());
    }
    assert.equal(emu.effectiveStarts('aps-e2e-5xx'), 0);
    emu.injectFault({ kind: 'error', code: 'ServiceUnavailable', action: 'StartApsJob', applyFirst: true });
    const lost = await failure(() => api().startJob(ref));
    assert.equal(lost.ambiguous, true);
    assert.equal(emu.effectiveStarts('aps-e2e-5xx'), 1);
    const after = await success(() => api().describeJob(ref));
    assert.equal(after.status.class, 'running');
  });

  it('permanent: an unknown job is InvalidInput; invalid input never leaves the client', async () => {
    const e = await failure(() => api().startJob({ regionId, apsJobId: 'aps-e2e-unknown' }));
    assert.deepEqual(
      [e.code, e.httpStatus, e.retryClass, e.ambiguous, e.requestId],
      ['InvalidInput', 400, 'permanent', false, lastRequestId()],
    );
    const before = emu.calls();
    await assert.rejects(api().startJob({ regionId, apsJobId: '' }), /apsJobId/);
    assert.equal(emu.calls(), before, 'invalid input is refused before any request');
  });

  it('Success:false (HTTP 200) is thrown, ambiguous, keyed on ErrCode', async () => {
    emu.addJob({ apsJobId: 'aps-e2e-sf', kind: 'streaming', whenAlreadyRunning: 'success-false' });
    const ref = { regionId, apsJobId: 'aps-e2e-sf' };
    emu.injectFault({
      kind: 'success-false',
      errCode: 'InternalError',
      errMessage: 'try again',
      action: 'StartApsJob',
    });
    const e = await failure(() => api().startJob(ref));
    assert.deepEqual(
      [e.code, e.httpStatus, e.retryClass, e.ambiguous, e.requestId],
      ['InternalError', 200, 'transient', true, lastRequestId()],
    );
    assert.match(e.message, /try again/);
    await success(() => api().startJob(ref));
    // A code no table lists: the `unknown` class (a small retry budget), still ambiguous.
    const again = await failure(() => api().startJob(ref));
    assert.deepEqual(
      [again.code, again.httpStatus, again.retryClass, again.ambiguous],
      ['OperationDenied.JobStatus', 200, 'unknown', true],
    );
    assert.equal(emu.effectiveStarts('aps-e2e-sf'), 1);
  });

  it('a start refused with HTTP 400 OperationDenied.JobStatus is of the unknown class, not ambiguous', async () => {
    emu.addJob({ apsJobId: 'aps-e2e-deny', kind: 'streaming', whenAlreadyRunning: 'error-400' });
    const ref = { regionId, apsJobId: 'aps-e2e-deny' };
    await success(() => api().startJob(ref));
    const e = await failure(() => api().startJob(ref));
    assert.deepEqual(
      [e.code, e.httpStatus, e.retryClass, e.ambiguous, e.requestId],
      ['OperationDenied.JobStatus', 400, 'unknown', false, lastRequestId()],
    );
    assert.match(e.message, /already Running/);
    assert.equal(emu.effectiveStarts('aps-e2e-deny'), 1);
    assert.equal(emu.duplicateStartCalls('aps-e2e-deny'), 1);
  });

  it('a non-JSON 502 page is NonJsonResponse: transient, ambiguous', async () => {
    emu.addJob({ apsJobId: 'aps-e2e-502', kind: 'streaming' });
    emu.injectFault({ kind: 'html-502', action: 'DescribeApsJobDetail' });
    const e = await failure(() => api().describeJob({ regionId, apsJobId: 'aps-e2e-502' }));
    assert.deepEqual([e.code, e.retryClass, e.ambiguous], ['NonJsonResponse', 'transient', true]);
  });

  it('a read timeout (injected latency) is ReadTimeout: transient, ambiguous; the start did not happen', async () => {
    emu.addJob({ apsJobId: 'aps-e2e-slow', kind: 'streaming' });
    emu.injectFault({ kind: 'latency', latencyMs: 5000, action: 'StartApsJob' });
    const e = await failure(() =>
      api(key, { connectTimeoutMs: 3000, readTimeoutMs: 300 }).startJob({
        regionId,
        apsJobId: 'aps-e2e-slow',
      }),
    );
    assert.deepEqual([e.code, e.retryClass, e.ambiguous], ['ReadTimeout', 'transient', true]);
    await waitFor(
      () => emu.requests().at(-1)?.code === 'ClientClosedRequest',
      'the emulator to see the client leave',
    );
    assert.equal(emu.effectiveStarts('aps-e2e-slow'), 0);
  });

  it('a connection reset is ECONNRESET: transient, ambiguous (with applyFirst the start happened)', async () => {
    emu.addJob({ apsJobId: 'aps-e2e-rst', kind: 'streaming' });
    emu.injectFault({ kind: 'reset', action: 'StartApsJob', applyFirst: true });
    const e = await failure(() => api().startJob({ regionId, apsJobId: 'aps-e2e-rst' }));
    assert.deepEqual([e.code, e.retryClass, e.ambiguous], ['ECONNRESET', 'transient', true]);
    assert.equal(emu.effectiveStarts('aps-e2e-rst'), 1);
  });

  it('a refused connection (outage) is ECONNREFUSED and not ambiguous', async () => {
    emu.addJob({ apsJobId: 'aps-e2e-down', kind: 'streaming' });
    await emu.stopListening();
    try {
      const e = await failure(() => api().startJob({ regionId, apsJobId: 'aps-e2e-down' }), false);
      assert.deepEqual([e.code, e.retryClass, e.ambiguous], ['ECONNREFUSED', 'transient', false]);
    } finally {
      await emu.resumeListening();
    }
  });

  it('credentials: a wrong secret is SignatureDoesNotMatch, an unknown key InvalidAccessKeyId.NotFound', async () => {
    emu.addJob({ apsJobId: 'aps-e2e-cred', kind: 'streaming' });
    const ref = { regionId, apsJobId: 'aps-e2e-cred' };
    const bad = await failure(() => api({ ...key, accessKeySecret: 'not-the-secret' }).startJob(ref));
    assert.deepEqual(
      [bad.code, bad.httpStatus, bad.retryClass, bad.ambiguous],
      ['SignatureDoesNotMatch', 400, 'permanent', false],
    );
    assert.ok(!JSON.stringify(bad).includes('not-the-secret'), 'the secret is not in the error');
    const unknown = await failure(() => api(generateAccessKey()).startJob(ref));
    assert.deepEqual(
      [unknown.code, unknown.httpStatus, unknown.retryClass, unknown.ambiguous],
      ['InvalidAccessKeyId.NotFound', 404, 'permanent', false],
    );
    assert.equal(emu.effectiveStarts('aps-e2e-cred'), 0);
  });

  it('STS: the right token is accepted, a wrong one rejected as InvalidSecurityToken.*', async () => {
    emu.addJob({ apsJobId: 'aps-e2e-sts', kind: 'streaming' });
    const ref = { regionId, apsJobId: 'aps-e2e-sts' };
    await success(() => api(sts).startJob(ref));
    assert.equal(emu.requests().at(-1)?.accessKeyId, sts.accessKeyId);
    const e = await failure(() => api({ ...sts, securityToken: 'CAISwrong' }).describeJob(ref));
    assert.deepEqual(
      [e.code, e.httpStatus, e.ambiguous],
      ['InvalidSecurityToken.MismatchWithAccessKey', 400, false],
    );
    assert.notEqual(e.retryClass, 'throttled');
  });
});
