import { strict as assert } from 'node:assert';
import { ApsApiError, createApsApi, readRecentErrors, type ApsApi } from '../../src/aps';
import { startEmulator, type RunningEmulator } from '../../src/emulator';
import { expectError, expectOk, rawCall, type RawTarget } from './helpers';

const regionId = 'cn-hangzhou';
const cluster = 'amv-logs1';
const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

describe('emulator: DescribeApsActionLogs through the real openapi-client', () => {
  let emu: RunningEmulator;
  let target: RawTarget;
  let api: ApsApi;
  // A clock of our own, so that scripted lines get times of their own (the signature check allows
  // 15 minutes of skew, and the clock never moves that far).
  let clock = Date.now();
  let t0 = clock;

  before(async () => {
    emu = await startEmulator({ seed: 3, now: () => clock });
    const key = emu.credentials[0];
    assert.ok(key);
    target = { endpoint: emu.endpoint, key };
    api = createApsApi({
      credentials: { kind: 'access-key', accessKeyId: key.accessKeyId, accessKeySecret: key.accessKeySecret },
      endpoint: emu.endpoint,
      protocol: 'http',
      connectTimeoutMs: 3000,
      readTimeoutMs: 3000,
    });
  });
  after(async () => {
    await emu.close();
  });
  beforeEach(() => {
    emu.reset();
    clock = Date.now() - 120_000;
    t0 = Math.floor(clock / 1000) * 1000;
    clock = t0;
  });

  /** A failing job with `n` scripted ERROR lines one second apart, started and failed. */
  async function failedJob(apsJobId: string, n: number): Promise<void> {
    emu.addJob({
      apsJobId,
      regionId,
      kind: 'failing',
      failAfterPolls: 0,
      errMessage: 'topic orders does not exist',
      destinationInstanceId: cluster,
      actionLogs: Array.from({ length: n }, (_, i) => ({
        context: `error line ${i}`,
        atMs: i * 1000,
        ...(i === 0 ? { stage: 'StructureMigrate' as const } : {}),
      })),
    });
    await api.startJob({ regionId, apsJobId });
    clock = t0 + 60_000;
    const d = await api.describeJob({ regionId, apsJobId });
    assert.equal(d.status.class, 'failed');
    assert.equal(d.destinationInstanceId, cluster, 'DescribeApsJobDetail names the cluster');
  }

  const base = (apsJobId: string): Record<string, string | number> => ({
    DBClusterId: cluster,
    RegionId: regionId,
    StartTime: iso(t0 - 60_000),
    EndTime: iso(t0 + 120_000),
    WorkloadId: apsJobId,
  });

  it('answers the documented fields, counts as strings, newest first, filtered by State and paged', async () => {
    await failedJob('aps-logs-a', 25);
    const all = expectOk(await rawCall(target, 'DescribeApsActionLogs', base('aps-logs-a')));
    assert.deepEqual(Object.keys(all).sort(), [
      'ActionLogs',
      'DBClusterId',
      'PageNumber',
      'PageSize',
      'RequestId',
      'TotalCount',
      'WorkloadId',
    ]);
    assert.equal(all.DBClusterId, cluster);
    assert.equal(all.WorkloadId, 'aps-logs-a');
    // 25 scripted lines and the INFO line of the start.
    assert.equal(all.TotalCount, '26');
    assert.equal(all.PageSize, '30');
    assert.equal(all.PageNumber, '1');
    const lines = all.ActionLogs as Record<string, string>[];
    assert.deepEqual(Object.keys(lines[0]!).sort(), ['Context', 'Stage', 'State', 'Time']);
    assert.equal(lines[0]!.Context, 'error line 24');
    assert.equal(lines[0]!.Time, iso(t0 + 24_000));
    assert.equal(lines[0]!.Stage, 'IncrementalSync');
    assert.equal(lines.at(-1)!.State, 'INFO', 'the start line is the oldest');
    assert.equal(lines.at(-2)!.Stage, 'StructureMigrate');

    const errors = expectOk(
      await rawCall(target, 'DescribeApsActionLogs', {
        ...base('aps-logs-a'),
        State: 'ERROR',
        PageSize: 30,
        PageNumber: 1,
      }),
    );
    assert.equal(errors.TotalCount, '25');
    assert.ok((errors.ActionLogs as Record<string, string>[]).every((l) => l.State === 'ERROR'));

    const page2 = expectOk(
      await rawCall(target, 'DescribeApsActionLogs', {
        ...base('aps-logs-a'),
        State: 'WARN,ERROR',
        PageSize: 30,
        PageNumber: 2,
      }),
    );
    assert.equal(page2.PageNumber, '2');
    assert.deepEqual(page2.ActionLogs, []);

    const window = expectOk(
      await rawCall(target, 'DescribeApsActionLogs', {
        ...base('aps-logs-a'),
        StartTime: iso(t0 + 20_000),
        EndTime: iso(t0 + 22_000),
        Keyword: 'LINE 2',
      }),
    );
    assert.deepEqual(
      (window.ActionLogs as Record<string, string>[]).map((l) => l.Context),
      ['error line 22', 'error line 21', 'error line 20'],
    );
  });

  it('a failing job without scripted lines logs its ErrMessage as one ERROR line', async () => {
    emu.addJob({
      apsJobId: 'aps-logs-b',
      regionId,
      kind: 'failing',
      failAfterPolls: 0,
      errMessage: 'no such topic',
    });
    await api.startJob({ regionId, apsJobId: 'aps-logs-b' });
    clock = t0 + 5_000;
    await api.describeJob({ regionId, apsJobId: 'aps-logs-b' });
    const body = expectOk(
      await rawCall(target, 'DescribeApsActionLogs', {
        ...base('aps-logs-b'),
        DBClusterId: 'amv-emulator',
        State: 'ERROR',
      }),
    );
    assert.deepEqual(body.ActionLogs, [
      { Time: iso(t0 + 5_000), Stage: 'IncrementalSync', State: 'ERROR', Context: 'no such topic' },
    ]);
  });

  it('checks the required fields, the time form, the 30-day window and the page size', async () => {
    for (const field of ['DBClusterId', 'RegionId', 'StartTime', 'EndTime', 'WorkloadId']) {
      const params = base('aps-logs-a');
      delete params[field];
      const data = expectError(
        await rawCall(target, 'DescribeApsActionLogs', params),
        'MissingParameter',
        400,
      );
      assert.match(String(data.Message), new RegExp(`"${field}"`));
    }
    const bad = async (extra: Record<string, string | number>, field: string) => {
      const data = expectError(
        await rawCall(target, 'DescribeApsActionLogs', { ...base('aps-logs-a'), ...extra }),
        'InvalidParameter',
        400,
      );
      assert.match(String(data.Message), new RegExp(`"${field}"`));
    };
    await bad({ StartTime: '2024-01-31 08:00:00' }, 'StartTime');
    await bad({ EndTime: iso(t0 - 120_000) }, 'EndTime');
    await bad({ StartTime: iso(t0 - 31 * 86_400_000) }, 'StartTime');
    await bad({ PageSize: 20 }, 'PageSize');
    await bad({ State: 'ERROR,FATAL' }, 'State');
    await bad({ Stage: 'Sync' }, 'Stage');
  });

  it('an unknown cluster is 404 InvalidDBCluster.NotFound; a job of another cluster has no lines', async () => {
    await failedJob('aps-logs-c', 2);
    expectError(
      await rawCall(target, 'DescribeApsActionLogs', { ...base('aps-logs-c'), DBClusterId: 'amv-nosuch' }),
      'InvalidDBCluster.NotFound',
      404,
    );
    const other = expectOk(
      await rawCall(target, 'DescribeApsActionLogs', { ...base('aps-logs-c'), DBClusterId: 'amv-emulator' }),
    );
    assert.equal(other.TotalCount, '0');
    assert.deepEqual(other.ActionLogs, []);
  });

  it('createApsApi.actionLogs: signed, parsed, errors normalized, faults per action', async () => {
    await failedJob('aps-logs-d', 3);
    const page = await api.actionLogs({
      regionId,
      dbClusterId: cluster,
      apsJobId: 'aps-logs-d',
      startTime: t0 - 60_000,
      endTime: t0 + 120_000,
      state: ['ERROR'],
    });
    assert.equal(page.totalCount, 3);
    assert.equal(page.pageSize, 30);
    assert.equal(page.pageNumber, 1);
    assert.match(page.requestId ?? '', /^[0-9A-F-]{36}$/);
    assert.deepEqual(page.lines[0], {
      time: iso(t0 + 2000),
      stage: 'IncrementalSync',
      state: 'ERROR',
      context: 'error line 2',
    });
    assert.equal(emu.counters().signatureFailures, 0);
    assert.equal(emu.counters().byJob['aps-logs-d']?.DescribeApsActionLogs, 1);

    await assert.rejects(
      api.actionLogs({
        regionId,
        dbClusterId: 'amv-nosuch',
        apsJobId: 'aps-logs-d',
        startTime: t0,
        endTime: t0 + 1000,
      }),
      (err: unknown) =>
        err instanceof ApsApiError &&
        err.error.code === 'InvalidDBCluster.NotFound' &&
        err.error.httpStatus === 404 &&
        err.error.retryClass === 'permanent',
    );

    emu.injectFault({
      kind: 'error',
      code: 'Forbidden.RAM',
      action: 'DescribeApsActionLogs',
      apsJobId: 'aps-logs-d',
    });
    // The fault matches on the action: the detail read goes through untouched.
    assert.equal((await api.describeJob({ regionId, apsJobId: 'aps-logs-d' })).status.class, 'failed');
    await assert.rejects(
      readRecentErrors(api, { regionId, dbClusterId: cluster, apsJobId: 'aps-logs-d', now: clock }),
      (err: unknown) => err instanceof ApsApiError && err.error.code === 'Forbidden.RAM',
    );
    assert.equal(emu.counters().byCode['Forbidden.RAM'], 1);
  });

  it('readRecentErrors keeps the newest 20 ERROR lines of the run, marked truncated, in one call', async () => {
    await failedJob('aps-logs-e', 25);
    const before = emu.counters().byAction.DescribeApsActionLogs ?? 0;
    const kept = await readRecentErrors(api, {
      regionId,
      dbClusterId: cluster,
      apsJobId: 'aps-logs-e',
      since: t0,
      now: clock,
    });
    assert.equal(kept.lines.length, 20);
    assert.equal(kept.truncated, true);
    assert.deepEqual(
      kept.lines.map((l) => l.context),
      Array.from({ length: 20 }, (_, i) => `error line ${24 - i}`),
    );
    assert.equal((emu.counters().byAction.DescribeApsActionLogs ?? 0) - before, 1);
    const sent = emu.requests({ action: 'DescribeApsActionLogs' }).at(-1);
    assert.equal(sent?.code, 'OK');
  });
});
