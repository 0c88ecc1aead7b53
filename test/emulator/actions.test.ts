import { strict as assert } from 'node:assert';
import { startEmulator, type RunningEmulator } from '../../src/emulator';
import { expectError, expectOk, rawCall, type RawTarget } from './helpers';

describe('emulator: the four actions through the real openapi-client', () => {
  let emu: RunningEmulator;
  let target: RawTarget;
  before(async () => {
    emu = await startEmulator({
      seed: 1,
      jobs: [
        { apsJobId: 'aps-stream1', kind: 'streaming', name: 'kafka-orders' },
        { apsJobId: 'aps-batch1', kind: 'batch', name: 'hive-migration', runningPollsToComplete: 1 },
        { apsJobId: 'aps-beijing1', kind: 'streaming', regionId: 'cn-beijing' },
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

  it('StartApsJob answers the documented fields and counts one effective start', async () => {
    const body = expectOk(
      await rawCall(target, 'StartApsJob', { RegionId: 'cn-hangzhou', ApsJobId: 'aps-stream1' }),
    );
    assert.deepEqual(Object.keys(body).sort(), [
      'ApsJobId',
      'Code',
      'ErrCode',
      'ErrMessage',
      'HttpStatusCode',
      'Message',
      'RequestId',
      'Success',
    ]);
    assert.equal(body.Success, true);
    assert.equal(body.ApsJobId, 'aps-stream1');
    assert.equal(body.HttpStatusCode, 200);
    assert.match(String(body.RequestId), /^[0-9A-F-]{36}$/);
    assert.equal(emu.effectiveStarts('aps-stream1'), 1);
    assert.equal(emu.job('aps-stream1')?.status, 'Running');
  });

  it('DescribeApsJobDetail answers RequestId and APSJobDetail with Status and the endpoints', async () => {
    const body = expectOk(
      await rawCall(target, 'DescribeApsJobDetail', { RegionId: 'cn-hangzhou', ApsJobId: 'aps-stream1' }),
    );
    assert.deepEqual(Object.keys(body).sort(), ['APSJobDetail', 'RequestId']);
    const detail = body.APSJobDetail as Record<string, unknown>;
    assert.equal(detail.Status, 'Suspended');
    for (const field of [
      'SourceEndpointRegion',
      'SourceEndpointInstanceID',
      'DestinationEndpointRegion',
      'DestinationEndpointInstanceID',
      'DbList',
      'PartitionList',
      'TargetTableMode',
    ]) {
      assert.ok(field in detail, field);
    }
    assert.equal(detail.SourceEndpointRegion, 'cn-hangzhou');
  });

  it('SuspendApsJob answers its fields (no Code/Message) and suspends', async () => {
    emu.setJobStatus('aps-stream1', 'Running');
    const body = expectOk(
      await rawCall(target, 'SuspendApsJob', { RegionId: 'cn-hangzhou', ApsJobId: 'aps-stream1' }),
    );
    assert.deepEqual(Object.keys(body).sort(), [
      'ApsJobId',
      'ErrCode',
      'ErrMessage',
      'HttpStatusCode',
      'RequestId',
      'Success',
    ]);
    assert.equal(body.Success, true);
    assert.equal(emu.job('aps-stream1')?.status, 'Suspended');
  });

  it('DescribeApsJobs pages, filters by region and name, and shows every documented field', async () => {
    const page1 = expectOk(
      await rawCall(target, 'DescribeApsJobs', { RegionId: 'cn-hangzhou', PageNumber: 1, PageSize: 1 }),
    );
    assert.equal(page1.TotalCount, 2);
    assert.equal(page1.PageNumber, 1);
    assert.equal(page1.PageSize, 1);
    assert.equal(page1.Success, true);
    for (const f of ['Code', 'Message', 'RequestId']) assert.ok(f in page1, f);
    const jobs1 = page1.APSJobs as Record<string, unknown>[];
    assert.equal(jobs1.length, 1);
    assert.deepEqual(Object.keys(jobs1[0] ?? {}).sort(), [
      'ApsJobId',
      'ApsJobName',
      'CreateTime',
      'Delay',
      'DestinationInstanceID',
      'ErrMessage',
      'Projress',
      'SourceInstanceID',
      'Status',
      'SubStatus',
    ]);
    assert.equal(jobs1[0]?.ApsJobId, 'aps-stream1');
    const page2 = expectOk(
      await rawCall(target, 'DescribeApsJobs', { RegionId: 'cn-hangzhou', PageNumber: 2, PageSize: 1 }),
    );
    assert.deepEqual(
      (page2.APSJobs as Record<string, unknown>[]).map((j) => j.ApsJobId),
      ['aps-batch1'],
    );
    const page3 = expectOk(
      await rawCall(target, 'DescribeApsJobs', { RegionId: 'cn-hangzhou', PageNumber: 3, PageSize: 1 }),
    );
    assert.deepEqual(page3.APSJobs, []);
    const byName = expectOk(
      await rawCall(target, 'DescribeApsJobs', { PageNumber: 1, PageSize: 30, ApsJobName: 'hive' }),
    );
    assert.deepEqual(
      (byName.APSJobs as Record<string, unknown>[]).map((j) => j.ApsJobId),
      ['aps-batch1'],
    );
    const beijing = expectOk(
      await rawCall(target, 'DescribeApsJobs', { RegionId: 'cn-beijing', PageNumber: 1, PageSize: 30 }),
    );
    assert.equal(beijing.TotalCount, 1);
  });

  it('an unknown action is InvalidAction (400)', async () => {
    expectError(
      await rawCall(target, 'DeleteApsJob', { RegionId: 'cn-hangzhou', ApsJobId: 'aps-stream1' }),
      'InvalidAction',
      400,
    );
  });

  it('another API version is ApiVersionForbidden (400)', async () => {
    expectError(
      await rawCall({ ...target, version: '2019-03-15' }, 'StartApsJob', {
        RegionId: 'cn-hangzhou',
        ApsJobId: 'aps-stream1',
      }),
      'ApiVersionForbidden',
      400,
    );
    assert.equal(emu.effectiveStarts('aps-stream1'), 0);
  });

  it('a missing required parameter is MissingParameter (400) naming it', async () => {
    const data = expectError(
      await rawCall(target, 'StartApsJob', { ApsJobId: 'aps-stream1' }),
      'MissingParameter',
      400,
    );
    assert.match(String(data.Message), /"RegionId"/);
    const data2 = expectError(
      await rawCall(target, 'DescribeApsJobDetail', { RegionId: 'cn-hangzhou' }),
      'MissingParameter',
      400,
    );
    assert.match(String(data2.Message), /"ApsJobId"/);
    const data3 = expectError(
      await rawCall(target, 'DescribeApsJobs', { PageSize: 10 }),
      'MissingParameter',
      400,
    );
    assert.match(String(data3.Message), /"PageNumber"/);
  });

  it('a malformed parameter value is InvalidParameter (400)', async () => {
    expectError(
      await rawCall(target, 'DescribeApsJobs', { PageNumber: 1, PageSize: 101 }),
      'InvalidParameter',
      400,
    );
    expectError(
      await rawCall(target, 'DescribeApsJobs', { PageNumber: 0, PageSize: 10 }),
      'InvalidParameter',
      400,
    );
    expectError(
      await rawCall(target, 'DescribeApsJobs', { PageNumber: 1, PageSize: 10, CreateTimeStart: 'yesterday' }),
      'InvalidParameter',
      400,
    );
  });

  it('an unknown job, or a job in another region, is InvalidInput (400) for every job action', async () => {
    for (const action of ['StartApsJob', 'DescribeApsJobDetail', 'SuspendApsJob']) {
      expectError(
        await rawCall(target, action, { RegionId: 'cn-hangzhou', ApsJobId: 'aps-nosuchjob' }),
        'InvalidInput',
        400,
      );
    }
    expectError(
      await rawCall(target, 'StartApsJob', { RegionId: 'cn-hangzhou', ApsJobId: 'aps-beijing1' }),
      'InvalidInput',
      400,
    );
    assert.equal(emu.effectiveStarts('aps-beijing1'), 0);
  });
});

describe('emulator: auto-created jobs', () => {
  let emu: RunningEmulator;
  let target: RawTarget;
  before(async () => {
    emu = await startEmulator({
      autoCreateJobs: true,
      defaultJobScript: { kind: 'streaming', startingPolls: 1 },
    });
    const key = emu.credentials[0];
    assert.ok(key);
    target = { endpoint: emu.endpoint, key };
  });
  after(async () => {
    await emu.close();
  });

  it('any well-formed aps- ID exists on first use with the default script, in the caller region', async () => {
    expectOk(await rawCall(target, 'StartApsJob', { RegionId: 'cn-shanghai', ApsJobId: 'aps-load-0001' }));
    assert.equal(emu.job('aps-load-0001')?.regionId, 'cn-shanghai');
    assert.equal(emu.job('aps-load-0001')?.autoCreated, true);
    const d1 = expectOk(
      await rawCall(target, 'DescribeApsJobDetail', { RegionId: 'cn-shanghai', ApsJobId: 'aps-load-0001' }),
    );
    assert.equal((d1.APSJobDetail as Record<string, unknown>).Status, 'Starting');
    const d2 = expectOk(
      await rawCall(target, 'DescribeApsJobDetail', { RegionId: 'cn-shanghai', ApsJobId: 'aps-load-0001' }),
    );
    assert.equal((d2.APSJobDetail as Record<string, unknown>).Status, 'Running');
  });

  it('IDs that are not aps-… stay unknown (InvalidInput)', async () => {
    expectError(
      await rawCall(target, 'StartApsJob', { RegionId: 'cn-hangzhou', ApsJobId: 'job-1' }),
      'InvalidInput',
      400,
    );
    assert.equal(emu.job('job-1'), undefined);
  });

  it('reset drops auto-created jobs', async () => {
    expectOk(
      await rawCall(target, 'DescribeApsJobDetail', { RegionId: 'cn-hangzhou', ApsJobId: 'aps-load-0002' }),
    );
    assert.ok(emu.job('aps-load-0002'));
    emu.reset();
    assert.equal(emu.job('aps-load-0002'), undefined);
  });
});
