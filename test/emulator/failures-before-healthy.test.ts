import { strict as assert } from 'node:assert';
import { startEmulator, type RunningEmulator } from '../../src/emulator';
import { expectOk, rawCall, type RawTarget } from './helpers';

describe('emulator: a failing job that heals after failuresBeforeHealthy lives', () => {
  let emu: RunningEmulator;
  let target: RawTarget;
  before(async () => {
    emu = await startEmulator();
    const key = emu.credentials[0];
    assert.ok(key);
    target = { endpoint: emu.endpoint, key };
  });
  after(async () => {
    await emu.close();
  });

  const region = 'cn-hangzhou';
  const start = async (apsJobId: string): Promise<void> => {
    expectOk(await rawCall(target, 'StartApsJob', { RegionId: region, ApsJobId: apsJobId }));
  };
  const status = async (apsJobId: string): Promise<string> => {
    const body = expectOk(
      await rawCall(target, 'DescribeApsJobDetail', { RegionId: region, ApsJobId: apsJobId }),
    );
    return String((body.APSJobDetail as Record<string, unknown>).Status);
  };
  const statuses = async (apsJobId: string, n: number): Promise<string[]> => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(await status(apsJobId));
    return out;
  };

  it('fails on each of the first N lives, then stays Running until suspended', async () => {
    const id = 'aps-heal-1';
    emu.addJob({
      apsJobId: id,
      kind: 'failing',
      startingPolls: 1,
      failAfterPolls: 1,
      failuresBeforeHealthy: 2,
    });
    await start(id);
    assert.deepEqual(await statuses(id, 2), ['Starting', 'Failed']);
    await start(id);
    assert.deepEqual(await statuses(id, 2), ['Starting', 'Failed']);
    await start(id);
    assert.deepEqual(await statuses(id, 5), ['Starting', 'Running', 'Running', 'Running', 'Running']);
    assert.equal(emu.effectiveStarts(id), 3);
    expectOk(await rawCall(target, 'SuspendApsJob', { RegionId: region, ApsJobId: id }));
    await start(id);
    assert.deepEqual(await statuses(id, 3), ['Starting', 'Running', 'Running']);
  });

  it('without the field every life fails, as before; 0 means healthy from the first life', async () => {
    emu.addJob({ apsJobId: 'aps-heal-2', kind: 'failing', failAfterPolls: 1 });
    for (let life = 0; life < 3; life++) {
      await start('aps-heal-2');
      assert.deepEqual(await statuses('aps-heal-2', 2), ['Running', 'Failed']);
    }
    emu.addJob({ apsJobId: 'aps-heal-3', kind: 'failing', failAfterPolls: 1, failuresBeforeHealthy: 0 });
    await start('aps-heal-3');
    assert.deepEqual(await statuses('aps-heal-3', 3), ['Running', 'Running', 'Running']);
  });

  it('a status set from outside does not count as a scripted failure; reset starts the count over', async () => {
    const id = 'aps-heal-4';
    emu.addJob({ apsJobId: id, kind: 'failing', failAfterPolls: 1, failuresBeforeHealthy: 1 });
    emu.setJobStatus(id, 'Failed', 'set by hand');
    await start(id);
    assert.deepEqual(await statuses(id, 2), ['Running', 'Failed']);
    await start(id);
    assert.deepEqual(await statuses(id, 3), ['Running', 'Running', 'Running']);
    emu.reset();
    await start(id);
    assert.deepEqual(await statuses(id, 2), ['Running', 'Failed']);
  });

  it('rejects a negative failuresBeforeHealthy naming the field', () => {
    assert.throws(
      () => emu.addJob({ apsJobId: 'aps-heal-5', kind: 'failing', failuresBeforeHealthy: -1 }),
      /failuresBeforeHealthy/,
    );
  });
});
