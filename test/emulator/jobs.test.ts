import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EmulatorInputError,
  loadEmulatorConfig,
  startEmulator,
  type RunningEmulator,
} from '../../src/emulator';
import { expectError, expectOk, rawCall, type RawTarget } from './helpers';

describe('emulator: scripted job lives', () => {
  let emu: RunningEmulator;
  let target: RawTarget;
  // A clock the tests move by hand, so time-based steps need no sleeping.
  let clock = Date.now();
  before(async () => {
    emu = await startEmulator({ now: () => clock });
    const key = emu.credentials[0];
    assert.ok(key);
    target = { endpoint: emu.endpoint, key };
  });
  after(async () => {
    await emu.close();
  });
  beforeEach(() => {
    clock = Date.now();
  });

  const region = 'cn-hangzhou';
  const start = (apsJobId: string) =>
    rawCall(target, 'StartApsJob', { RegionId: region, ApsJobId: apsJobId });
  const status = async (apsJobId: string): Promise<string> => {
    const body = expectOk(
      await rawCall(target, 'DescribeApsJobDetail', { RegionId: region, ApsJobId: apsJobId }),
    );
    return String((body.APSJobDetail as Record<string, unknown>).Status);
  };
  const listed = async (apsJobId: string): Promise<Record<string, unknown> | undefined> => {
    const body = expectOk(
      await rawCall(target, 'DescribeApsJobs', { RegionId: region, PageNumber: 1, PageSize: 100 }),
    );
    return (body.APSJobs as Record<string, unknown>[]).find((j) => j.ApsJobId === apsJobId);
  };

  it('streaming: Suspended, then Starting for startingPolls describes, then Running for good', async () => {
    emu.addJob({ apsJobId: 'aps-life-s1', kind: 'streaming', startingPolls: 2 });
    assert.equal(await status('aps-life-s1'), 'Suspended');
    expectOk(await start('aps-life-s1'));
    assert.deepEqual(
      [
        await status('aps-life-s1'),
        await status('aps-life-s1'),
        await status('aps-life-s1'),
        await status('aps-life-s1'),
      ],
      ['Starting', 'Starting', 'Running', 'Running'],
    );
    assert.equal(emu.effectiveStarts('aps-life-s1'), 1);
  });

  it('streaming: Starting lasts startingMs after the start (DescribeApsJobs sees it too)', async () => {
    emu.addJob({ apsJobId: 'aps-life-s2', kind: 'streaming', startingMs: 5000 });
    expectOk(await start('aps-life-s2'));
    assert.equal(await status('aps-life-s2'), 'Starting');
    clock += 4000;
    assert.equal((await listed('aps-life-s2'))?.Status, 'Starting');
    clock += 1000;
    assert.equal((await listed('aps-life-s2'))?.Status, 'Running');
    assert.equal(await status('aps-life-s2'), 'Running');
  });

  it('DescribeApsJobs never counts as a poll', async () => {
    emu.addJob({ apsJobId: 'aps-life-s3', kind: 'streaming', startingPolls: 1 });
    expectOk(await start('aps-life-s3'));
    for (let i = 0; i < 3; i++) assert.equal((await listed('aps-life-s3'))?.Status, 'Starting');
    assert.equal(await status('aps-life-s3'), 'Starting');
    assert.equal(await status('aps-life-s3'), 'Running');
  });

  it('batch: Running for runningPollsToComplete describes, then COMPLETED with progress 100', async () => {
    emu.addJob({ apsJobId: 'aps-life-b1', kind: 'batch', runningPollsToComplete: 2 });
    expectOk(await start('aps-life-b1'));
    assert.equal(await status('aps-life-b1'), 'Running');
    assert.equal((await listed('aps-life-b1'))?.Projress, '33');
    assert.equal(await status('aps-life-b1'), 'Running');
    assert.equal(await status('aps-life-b1'), 'COMPLETED');
    assert.equal(await status('aps-life-b1'), 'COMPLETED');
    assert.equal((await listed('aps-life-b1'))?.Projress, '100');
  });

  it('failing: after failAfterPolls describes it is Failed, and DescribeApsJobs shows the ErrMessage', async () => {
    emu.addJob({
      apsJobId: 'aps-life-f1',
      kind: 'failing',
      startingPolls: 1,
      failAfterPolls: 2,
      errMessage: 'Kafka topic orders does not exist',
    });
    expectOk(await start('aps-life-f1'));
    assert.deepEqual(
      [await status('aps-life-f1'), await status('aps-life-f1'), await status('aps-life-f1')],
      ['Starting', 'Running', 'Failed'],
    );
    const row = await listed('aps-life-f1');
    assert.equal(row?.Status, 'Failed');
    assert.equal(row?.ErrMessage, 'Kafka topic orders does not exist');
    // A new start clears the message and the life runs again.
    expectOk(await start('aps-life-f1'));
    assert.equal((await listed('aps-life-f1'))?.ErrMessage, '');
    assert.equal(emu.effectiveStarts('aps-life-f1'), 2);
  });

  it('whenAlreadyRunning success: 200 Success true, no second effective start', async () => {
    emu.addJob({ apsJobId: 'aps-life-r1', kind: 'streaming', initialStatus: 'Running' });
    const body = expectOk(await start('aps-life-r1'));
    assert.equal(body.Success, true);
    assert.equal(emu.effectiveStarts('aps-life-r1'), 0);
    assert.equal(emu.requests().at(-1)?.applied, false);
  });

  it('whenAlreadyRunning success-false: HTTP 200 with Success false and ErrCode OperationDenied.JobStatus', async () => {
    emu.addJob({ apsJobId: 'aps-life-r2', kind: 'streaming', whenAlreadyRunning: 'success-false' });
    expectOk(await start('aps-life-r2'));
    const body = expectOk(await start('aps-life-r2'));
    assert.equal(body.Success, false);
    assert.equal(body.ErrCode, 'OperationDenied.JobStatus');
    assert.equal(body.Code, 'OperationDenied.JobStatus');
    assert.match(String(body.ErrMessage), /already Running/);
    assert.equal(emu.effectiveStarts('aps-life-r2'), 1);
    assert.equal(emu.requests().at(-1)?.code, 'OperationDenied.JobStatus');
  });

  it('whenAlreadyRunning error-400: OperationDenied.JobStatus (400) while Starting or Running', async () => {
    emu.addJob({
      apsJobId: 'aps-life-r3',
      kind: 'streaming',
      startingPolls: 1,
      whenAlreadyRunning: 'error-400',
    });
    expectOk(await start('aps-life-r3'));
    const starting = expectError(await start('aps-life-r3'), 'OperationDenied.JobStatus', 400);
    assert.match(String(starting.Message), /already Starting/);
    assert.equal(await status('aps-life-r3'), 'Starting');
    assert.equal(await status('aps-life-r3'), 'Running');
    const running = expectError(await start('aps-life-r3'), 'OperationDenied.JobStatus', 400);
    assert.match(String(running.Message), /already Running/);
    assert.equal(emu.effectiveStarts('aps-life-r3'), 1);
  });

  it('counts StartApsJob calls that reach a Starting or Running job as duplicate start calls', async () => {
    emu.addJob({ apsJobId: 'aps-life-d1', kind: 'streaming', startingPolls: 1 });
    expectOk(await start('aps-life-d1'));
    assert.equal(emu.duplicateStartCalls('aps-life-d1'), 0);
    // Once while Starting, once while Running.
    expectOk(await start('aps-life-d1'));
    assert.equal(await status('aps-life-d1'), 'Starting');
    assert.equal(await status('aps-life-d1'), 'Running');
    expectOk(await start('aps-life-d1'));
    assert.equal(emu.duplicateStartCalls('aps-life-d1'), 2);
    assert.equal(emu.effectiveStarts('aps-life-d1'), 1);
    // A start after a suspend takes effect: not a duplicate.
    expectOk(await rawCall(target, 'SuspendApsJob', { RegionId: region, ApsJobId: 'aps-life-d1' }));
    expectOk(await start('aps-life-d1'));
    assert.equal(emu.effectiveStarts('aps-life-d1'), 2);
    assert.equal(emu.duplicateStartCalls('aps-life-d1'), 2);
    assert.equal(emu.job('aps-life-d1')?.duplicateStartCalls, 2);
    assert.equal(emu.counters().duplicateStartCalls['aps-life-d1'], 2);
    assert.equal(emu.state().counters.duplicateStartCalls['aps-life-d1'], 2);
  });

  it('counts duplicate start calls whatever whenAlreadyRunning answers, and only calls that reach the job', async () => {
    emu.addJob({ apsJobId: 'aps-life-d2', kind: 'streaming', whenAlreadyRunning: 'success-false' });
    emu.addJob({ apsJobId: 'aps-life-d3', kind: 'streaming', whenAlreadyRunning: 'error-400' });
    for (const id of ['aps-life-d2', 'aps-life-d3']) {
      expectOk(await start(id));
      await start(id);
      await start(id);
    }
    assert.equal(emu.duplicateStartCalls('aps-life-d2'), 2);
    assert.equal(emu.duplicateStartCalls('aps-life-d3'), 2);
    // A fault that answers before the action runs never reaches the job.
    emu.injectFault({
      kind: 'error',
      code: 'ServiceUnavailable',
      action: 'StartApsJob',
      apsJobId: 'aps-life-d2',
    });
    await start('aps-life-d2');
    assert.equal(emu.duplicateStartCalls('aps-life-d2'), 2);
    // With applyFirst the action runs first: it reaches the running job.
    emu.injectFault({
      kind: 'error',
      code: 'ServiceUnavailable',
      action: 'StartApsJob',
      apsJobId: 'aps-life-d2',
      applyFirst: true,
    });
    await start('aps-life-d2');
    assert.equal(emu.duplicateStartCalls('aps-life-d2'), 3);
    assert.equal(emu.duplicateStartCalls('aps-nosuch'), 0);
  });

  it('suspend stops a running job; the next start is a second effective start', async () => {
    emu.addJob({ apsJobId: 'aps-life-p1', kind: 'streaming' });
    expectOk(await start('aps-life-p1'));
    assert.equal(await status('aps-life-p1'), 'Running');
    expectOk(await rawCall(target, 'SuspendApsJob', { RegionId: region, ApsJobId: 'aps-life-p1' }));
    assert.equal(await status('aps-life-p1'), 'Suspended');
    expectOk(await start('aps-life-p1'));
    assert.equal(emu.effectiveStarts('aps-life-p1'), 2);
  });

  it('a status set from outside (someone else suspended the job) is what the next describe sees', async () => {
    emu.addJob({ apsJobId: 'aps-life-x1', kind: 'streaming' });
    expectOk(await start('aps-life-x1'));
    emu.setJobStatus('aps-life-x1', 'Suspended');
    assert.equal(await status('aps-life-x1'), 'Suspended');
    emu.setJobStatus('aps-life-x1', 'Failed', 'disk full');
    assert.equal((await listed('aps-life-x1'))?.ErrMessage, 'disk full');
    assert.throws(() => emu.setJobStatus('aps-nosuch', 'Running'), /No job/);
  });

  it('reset returns added jobs to their initial status and clears effective starts and duplicate start calls', async () => {
    emu.addJob({ apsJobId: 'aps-life-z1', kind: 'streaming' });
    expectOk(await start('aps-life-z1'));
    expectOk(await start('aps-life-z1'));
    assert.equal(emu.duplicateStartCalls('aps-life-z1'), 1);
    emu.reset();
    assert.equal(emu.job('aps-life-z1')?.status, 'Suspended');
    assert.equal(emu.effectiveStarts('aps-life-z1'), 0);
    assert.equal(emu.duplicateStartCalls('aps-life-z1'), 0);
    assert.deepEqual(emu.counters().duplicateStartCalls, {});
  });

  it('rejects invalid scripts with a message naming the field', () => {
    assert.throws(() => emu.addJob({ apsJobId: 'has space', kind: 'streaming' }), /apsJobId/);
    assert.throws(
      () => emu.addJob({ apsJobId: 'aps-ok', kind: 'streaming', startingPolls: -1 }),
      /startingPolls/,
    );
    assert.throws(() => emu.addJob({ apsJobId: 'aps-ok', kind: 'nonsense' as 'batch' }), /kind/);
  });
});

describe('emulator: an emulator-wide whenAlreadyRunning', () => {
  let emu: RunningEmulator;
  let target: RawTarget;
  before(async () => {
    emu = await startEmulator({
      whenAlreadyRunning: 'error-400',
      autoCreateJobs: true,
      jobs: [
        { apsJobId: 'aps-wide-1', kind: 'streaming', initialStatus: 'Running' },
        {
          apsJobId: 'aps-wide-2',
          kind: 'streaming',
          initialStatus: 'Running',
          whenAlreadyRunning: 'success',
        },
      ],
    });
    const key = emu.credentials[0];
    assert.ok(key);
    target = { endpoint: emu.endpoint, key };
  });
  after(async () => {
    await emu.close();
  });
  const start = (apsJobId: string) =>
    rawCall(target, 'StartApsJob', { RegionId: 'cn-hangzhou', ApsJobId: apsJobId });

  it('answers jobs whose script names no answer, seeded or auto-created; a script that names one wins', async () => {
    expectError(await start('aps-wide-1'), 'OperationDenied.JobStatus', 400);
    assert.equal(expectOk(await start('aps-wide-2')).Success, true);
    expectOk(await start('aps-wide-auto'));
    expectError(await start('aps-wide-auto'), 'OperationDenied.JobStatus', 400);
    assert.deepEqual(
      ['aps-wide-1', 'aps-wide-2', 'aps-wide-auto'].map((id) => emu.duplicateStartCalls(id)),
      [1, 1, 1],
    );
  });

  it('comes back unchanged after a reset', async () => {
    emu.reset();
    expectError(await start('aps-wide-1'), 'OperationDenied.JobStatus', 400);
  });

  it('is checked like the script field, in the options and the config file', async () => {
    await assert.rejects(
      startEmulator({ whenAlreadyRunning: 'maybe' as 'success' }),
      (e: Error) => e instanceof EmulatorInputError && /whenAlreadyRunning/.test(e.message),
    );
    const dir = mkdtempSync(join(tmpdir(), 'aps-emu-config-'));
    try {
      const file = join(dir, 'emulator.json');
      writeFileSync(file, JSON.stringify({ whenAlreadyRunning: 'success-false' }));
      assert.equal(loadEmulatorConfig(file).whenAlreadyRunning, 'success-false');
      writeFileSync(file, JSON.stringify({ whenAlreadyRunning: 'error-500' }));
      assert.throws(() => loadEmulatorConfig(file), /whenAlreadyRunning/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
