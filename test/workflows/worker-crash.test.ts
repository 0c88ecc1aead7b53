import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { runApsJob } from '../../src/workflows/run-aps-job';
import { startEmulator, type RunningEmulator } from '../../src/emulator';
import { testEnv, uniqueTaskQueue } from '../support/env';
import { eventually } from '../support/stack';
import { killWorker, spawnWorker, type WorkerProcess } from '../support/processes';
import { maybeRecordHistory } from '../support/histories';

describe('runApsJob survives a worker killed with SIGKILL', function () {
  this.timeout(180_000);
  let emulator: RunningEmulator;
  const workers: WorkerProcess[] = [];
  before(async () => {
    emulator = await startEmulator({ seed: 11 });
  });
  after(async () => {
    await Promise.all(workers.map((w) => killWorker(w)));
    await emulator?.close();
  });

  it('between StartApsJob and the end: a restarted worker completes the run, one effective start', async () => {
    const apsJobId = `aps-crash-${randomUUID().slice(0, 8)}`;
    // Long enough in Starting that the kill lands while the workflow waits.
    emulator.addJob({ apsJobId, regionId: 'cn-hangzhou', kind: 'streaming', startingPolls: 6 });
    const taskQueue = uniqueTaskQueue('crash');
    const first = spawnWorker({ taskQueue, emulator });
    workers.push(first);
    const handle = await testEnv().client.workflow.start(runApsJob, {
      taskQueue,
      workflowId: `crash-${randomUUID()}`,
      args: [{ regionId: 'cn-hangzhou', apsJobId, pollInterval: '1s', activityTimeout: '5s' }],
    });
    await eventually(
      () => emulator.effectiveStarts(apsJobId) === 1,
      60_000,
      'the start to take effect',
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nworker output:\n${first.output.join('')}`);
    });
    await killWorker(first);
    const pollsAtKill = emulator.counters().byJob[apsJobId]?.DescribeApsJobDetail ?? 0;

    const second = spawnWorker({ taskQueue, emulator });
    workers.push(second);
    const result = await handle.result();
    assert.equal(result.status, 'Running');
    assert.equal(emulator.effectiveStarts(apsJobId), 1);
    assert.equal(emulator.counters().byJob[apsJobId]?.StartApsJob, 1);
    assert.ok(
      (emulator.counters().byJob[apsJobId]?.DescribeApsJobDetail ?? 0) > pollsAtKill,
      'the second worker polled',
    );
    await maybeRecordHistory(handle, 'worker-crash');
  });
});
