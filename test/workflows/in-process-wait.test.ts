/**
 * Waits held in process: the start waits for the target in the same activity, the worker's waiter
 * reads on its own timers with no slot held, a worker killed mid-window loses at most the reads
 * since its last heartbeat, and a worker that shuts down hands its waits back.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import { createActivities } from '../../src/activities';
import { createApsApi } from '../../src/aps/client';
import type { ApsApi } from '../../src/aps/types';
import { liveWaitOf } from '../../src/client';
import { startEmulator, type RunningEmulator } from '../../src/emulator';
import type { RunApsJobInput } from '../../src/api';
import { runApsJob } from '../../src/workflows/run-aps-job';
import { createApsWorker, createInProcessWaiter } from '../../src/run-worker';
import { testEnv, uniqueTaskQueue } from '../support/env';
import { maybeRecordHistory } from '../support/histories';
import { killWorker, spawnWorker, type WorkerProcess } from '../support/processes';
import { eventually, startStack, workflowBundle, readsAfterStart } from '../support/stack';

const region = 'cn-hangzhou';
const newJobId = (): string => `aps-ipw-${randomUUID().slice(0, 8)}`;

function start(taskQueue: string, input: RunApsJobInput): Promise<WorkflowHandle<typeof runApsJob>> {
  return testEnv().client.workflow.start(runApsJob, {
    taskQueue,
    workflowId: `ipw-${randomUUID()}`,
    args: [input],
  });
}

/** The APS client of a test's own emulator, with its first key. */
function apsOf(emulator: RunningEmulator): ApsApi {
  const key = emulator.credentials[0]!;
  return createApsApi({
    credentials: { kind: 'access-key', accessKeyId: key.accessKeyId, accessKeySecret: key.accessKeySecret },
    endpoint: emulator.endpoint,
    protocol: 'http',
    connectTimeoutMs: 2000,
    readTimeoutMs: 2000,
  });
}

/** Attempts of each activity type that started, from the history. */
async function attemptsOf(handle: WorkflowHandle, activityType: string): Promise<number[]> {
  const history = await handle.fetchHistory();
  const scheduled = new Map<string, string>();
  const attempts: number[] = [];
  for (const e of history.events ?? []) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(e.eventId), s.activityType?.name ?? '');
    const t = e.activityTaskStartedEventAttributes;
    if (t && scheduled.get(String(t.scheduledEventId)) === activityType) attempts.push(t.attempt ?? 0);
  }
  return attempts;
}

/** The read count of the first heartbeat of the pending wait that carries one. */
function readsHeartbeated(handle: WorkflowHandle): Promise<number | undefined> {
  return eventually(
    async () => {
      const pending = (await handle.describe()).raw.pendingActivities?.[0];
      const polls = pending ? liveWaitOf(pending)?.polls : undefined;
      return polls !== undefined && polls > 0 ? polls : undefined;
    },
    40_000,
    'a heartbeat with the read count',
  );
}

/** The heartbeat timeout of each activity the run scheduled, in seconds. */
async function heartbeatTimeoutsOf(handle: WorkflowHandle): Promise<number[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  return events.flatMap((e) => {
    const s = e.activityTaskScheduledEventAttributes;
    return s ? [Number(s.heartbeatTimeout?.seconds ?? 0)] : [];
  });
}

describe('waits held in process (real dev server, real workers, emulator)', function () {
  this.timeout(240_000);

  it('the start waits in the same activity: no wait activity, no slot held between reads', async () => {
    // Two activity slots for eight jobs that each wait about 6 s: a wait that held its slot would
    // leave six runs unable to start until two had finished.
    const stack = await startStack({ emulator: { seed: 21 }, maxConcurrentActivityTaskExecutions: 2 });
    try {
      const ids = Array.from({ length: 8 }, newJobId);
      for (const apsJobId of ids) {
        stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming', startingMs: 6000 });
      }
      const handles = await Promise.all(
        ids.map((apsJobId) => start(stack.taskQueue, { regionId: region, apsJobId, pollInterval: '1s' })),
      );
      await eventually(() => (stack.waiter?.stats().waiting ?? 0) >= 6, 20_000, 'six waits held at once');
      const results = await Promise.all(handles.map((h) => h.result()));
      for (const r of results) {
        assert.equal(r.status, 'Running');
        assert.equal(r.started, true);
        assert.ok(r.polls >= 4, `polls ${r.polls}`);
      }
      for (const apsJobId of ids) assert.equal(stack.emulator.effectiveStarts(apsJobId), 1);
      const stats = stack.waiter!.stats();
      assert.ok(stats.peak >= 6, `peak waits held ${stats.peak}`);
      assert.equal(stats.ended.done, 8);
      // The whole run is one activity: the start, which returned with the target reached.
      // Without heartbeatTimeout: three intervals, at least 30 s.
      assert.deepEqual(await heartbeatTimeoutsOf(handles[0]!), [30]);
      for (const h of handles) {
        assert.deepEqual(await attemptsOf(h, 'waitForApsJob'), []);
        assert.deepEqual(await attemptsOf(h, 'startApsJob'), [1]);
      }
      await maybeRecordHistory(handles[0]!, 'in-process-start-and-wait');
    } finally {
      await stack.stop();
    }
  });

  it('an adaptive poll interval: the delays between reads grow by the coefficient up to the maximum', async () => {
    const stack = await startStack({ emulator: { seed: 22 } });
    try {
      const apsJobId = newJobId();
      // Running 9 s after the start. The first read comes `initial` after the start, and the delay
      // after the n-th read is min(max, initial × 2^(n − 1)): reads at about 1, 2, 4, 8 and 12 s.
      stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming', startingMs: 9000 });
      const handle = await start(stack.taskQueue, {
        regionId: region,
        apsJobId,
        pollInterval: { initial: '1s', max: '4s', coefficient: 2 },
      });
      const result = await handle.result();
      assert.equal(result.status, 'Running');
      const reads = readsAfterStart(stack.emulator, apsJobId);
      assert.equal(reads.length, 5, `reads ${reads.length}`);
      assert.equal(result.polls, 5);
      const gaps = reads.slice(1).map((t, i) => t - reads[i]!);
      const expected = [1000, 2000, 4000, 4000];
      gaps.forEach((gap, i) => {
        // Never sooner than the schedule; later by at most the timer and request latency.
        assert.ok(gap >= expected[i]! - 50, `gap ${i + 1}: ${gap} ms, expected ${expected[i]} ms`);
        assert.ok(gap < expected[i]! + 1000, `gap ${i + 1}: ${gap} ms, expected ${expected[i]} ms`);
      });
      await maybeRecordHistory(handle, 'in-process-adaptive-interval');
    } finally {
      await stack.stop();
    }
  });

  it("createApsWorker with waiterConnection: the waiter's heartbeats and completion go over it, not the polls' connection", async () => {
    const emulator = await startEmulator({ seed: 24 });
    const aps = apsOf(emulator);
    const dir = mkdtempSync(join(tmpdir(), 'aps-waiter-conn-'));
    const bundlePath = join(dir, 'workflow-bundle.js');
    writeFileSync(bundlePath, (await workflowBundle()).code);
    const address = testEnv().address;
    const waiterConnection = await NativeConnection.connect({ address });
    // Counts the calls each connection carries for the waiter's activity calls.
    const counted = (conn: NativeConnection): Record<string, number> => {
      const calls: Record<string, number> = {};
      const service = conn.workflowService as unknown as Record<string, (req: unknown) => Promise<unknown>>;
      for (const name of ['recordActivityTaskHeartbeat', 'respondActivityTaskCompleted']) {
        const original = service[name]!.bind(service);
        service[name] = (req) => {
          calls[name] = (calls[name] ?? 0) + 1;
          return original(req);
        };
      }
      return calls;
    };
    const onWaiter = counted(waiterConnection);
    const polls = await NativeConnection.connect({ address });
    const onPolls = counted(polls);
    const taskQueue = uniqueTaskQueue('waiter-conn');
    const worker = await createApsWorker({
      connection: polls,
      waiterConnection,
      taskQueue,
      aps,
      workflowBundlePath: bundlePath,
    });
    const running = worker.run();
    try {
      const apsJobId = newJobId();
      emulator.addJob({ apsJobId, regionId: region, kind: 'streaming', startingMs: 3000 });
      const handle = await start(taskQueue, { regionId: region, apsJobId, pollInterval: '1s' });
      const result = await handle.result();
      assert.equal(result.status, 'Running');
      assert.equal(emulator.effectiveStarts(apsJobId), 1);
      // The start's wait was held in process: its first heartbeat and its completion went over the
      // waiter's connection, none over the polls'.
      assert.deepEqual(await attemptsOf(handle, 'startApsJob'), [1]);
      assert.ok((onWaiter.recordActivityTaskHeartbeat ?? 0) >= 1, JSON.stringify(onWaiter));
      assert.equal(onWaiter.respondActivityTaskCompleted, 1);
      assert.deepEqual(onPolls, {});
    } finally {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await waiterConnection.close();
      await polls.close();
      await emulator.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a worker shutting down hands its waits back: another worker goes on at once, one start', async () => {
    const emulator = await startEmulator({ seed: 23 });
    const aps = apsOf(emulator);
    const taskQueue = uniqueTaskQueue('handback');
    const waiter = createInProcessWaiter(testEnv().nativeConnection, 'default');
    const worker = await Worker.create({
      connection: testEnv().nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: createActivities({ aps, waiter }),
    });
    const running = worker.run();
    let other: WorkerProcess | undefined;
    try {
      const apsJobId = newJobId();
      emulator.addJob({ apsJobId, regionId: region, kind: 'streaming', startingMs: 20_000 });
      const handle = await start(taskQueue, { regionId: region, apsJobId, pollInterval: '1s' });
      await eventually(() => readsAfterStart(emulator, apsJobId).length >= 2, 20_000, 'two reads');
      // The other worker, a process of its own, polls the same queue before this one stops.
      const second = spawnWorker({ taskQueue, emulator });
      other = second;
      await eventually(() => second.output.join('').includes('worker started'), 60_000, 'the other worker');
      worker.shutdown();
      await running;
      await waiter.close();
      assert.equal(waiter.stats().ended.handedBack, 1);
      const readsAtHandBack = readsAfterStart(emulator, apsJobId).length;
      const result = await handle.result();
      assert.equal(result.status, 'Running');
      assert.equal(emulator.effectiveStarts(apsJobId), 1);
      assert.equal(emulator.calls({ action: 'StartApsJob', apsJobId }), 1);
      // The start came back with the wait's state; the wait went on in a wait activity on the
      // other worker, counting on from the reads already made.
      assert.deepEqual(await attemptsOf(handle, 'waitForApsJob'), [1]);
      const reads = readsAfterStart(emulator, apsJobId).length;
      assert.ok(reads > readsAtHandBack, 'the other worker read the job');
      assert.equal(result.polls, reads);
      await maybeRecordHistory(handle, 'in-process-handed-back');
    } finally {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await waiter.close();
      if (other) await killWorker(other);
      await emulator.close();
    }
  });

  describe('a worker killed with SIGKILL in the middle of an in-process window', () => {
    let emulator: RunningEmulator;
    const workers: WorkerProcess[] = [];
    before(async () => {
      emulator = await startEmulator({ seed: 24 });
    });
    after(async () => {
      await Promise.all(workers.map((w) => killWorker(w)));
      await emulator?.close();
    });

    it('another worker takes the wait over after the heartbeat timeout: one effective start, the reads counted', async () => {
      const apsJobId = newJobId();
      // Still Starting when the second worker takes over (30 s heartbeat timeout after the kill).
      emulator.addJob({ apsJobId, regionId: region, kind: 'streaming', startingMs: 75_000 });
      const taskQueue = uniqueTaskQueue('ipw-crash');
      const first = spawnWorker({ taskQueue, emulator });
      workers.push(first);
      const handle = await start(taskQueue, { regionId: region, apsJobId, pollInterval: '1s' });
      // The waiter's first heartbeat records that the start took effect; then a few reads.
      await eventually(
        async () => {
          const pending = (await handle.describe()).raw.pendingActivities?.[0];
          return pending !== undefined && liveWaitOf(pending)?.waiting === true;
        },
        60_000,
        'the heartbeat that says the start took effect',
      ).catch((err: Error) => {
        throw new Error(`${err.message}\nworker output:\n${first.output.join('')}`);
      });
      // A periodic heartbeat (every 15 s at 1 s) has carried the read count.
      const counted = await readsHeartbeated(handle);
      await killWorker(first);
      const readsAtKill = readsAfterStart(emulator, apsJobId).length;

      const second = spawnWorker({ taskQueue, emulator });
      workers.push(second);
      const result = await handle.result();
      assert.equal(result.status, 'Running');
      assert.equal(result.started, true);
      assert.equal(emulator.effectiveStarts(apsJobId), 1);
      assert.equal(emulator.calls({ action: 'StartApsJob', apsJobId }), 1);
      assert.equal(emulator.duplicateStartCalls(apsJobId), 0);
      // The second attempt of the same start activity took over (after the heartbeat timeout)
      // and went on waiting: no second describe-before-start, no StartApsJob.
      assert.deepEqual(await attemptsOf(handle, 'startApsJob'), [2]);
      assert.deepEqual(await attemptsOf(handle, 'waitForApsJob'), []);
      const reads = readsAfterStart(emulator, apsJobId).length;
      assert.ok(reads > readsAtKill, 'the second worker read the job');
      // The count resumes from the last heartbeat: reads the killed worker made after it (at most
      // one heartbeat period, 15 s at 1 s) are the only ones not counted.
      assert.ok(result.polls <= reads, `polls ${result.polls} ≤ reads ${reads}`);
      assert.ok(reads - result.polls <= 16, `polls ${result.polls}, reads ${reads}`);
      assert.ok(
        result.polls >= (counted ?? 0) + reads - readsAtKill,
        `polls ${result.polls}: ${counted} counted before the kill + ${reads - readsAtKill} after it`,
      );
      await maybeRecordHistory(handle, 'in-process-worker-killed');
    });

    it('heartbeatTimeout 10s: the wait of a killed worker is taken over within 12 s of the kill', async () => {
      const apsJobId = newJobId();
      emulator.addJob({ apsJobId, regionId: region, kind: 'streaming', startingMs: 40_000 });
      const taskQueue = uniqueTaskQueue('ipw-crash-10s');
      const first = spawnWorker({ taskQueue, emulator });
      workers.push(first);
      const handle = await start(taskQueue, {
        regionId: region,
        apsJobId,
        pollInterval: '1s',
        heartbeatTimeout: '10s',
      });
      // A heartbeat that carries reads (every 5 s with a 10 s timeout).
      await readsHeartbeated(handle);
      await killWorker(first);
      const killedAt = Date.now();
      const second = spawnWorker({ taskQueue, emulator });
      workers.push(second);
      // The second attempt starts once the server has timed the first out: at most 10 s after the
      // last heartbeat, which came at most 5 s before the kill.
      const retriedAt = await eventually(
        async () => {
          // A retried activity's started event is written when it ends: the pending one tells.
          const pending = (await handle.describe()).raw.pendingActivities?.[0];
          return (pending?.attempt ?? 0) >= 2 ? optionalTsToMs(pending?.lastStartedTime) : undefined;
        },
        30_000,
        'the second attempt',
      );
      const tookMs = (retriedAt ?? Number.NaN) - killedAt;
      assert.ok(tookMs <= 12_000, `taken over ${tookMs} ms after the kill`);
      const result = await handle.result();
      assert.equal(result.status, 'Running');
      assert.equal(emulator.effectiveStarts(apsJobId), 1);
      assert.equal(emulator.calls({ action: 'StartApsJob', apsJobId }), 1);
      assert.deepEqual(
        await heartbeatTimeoutsOf(handle),
        [10],
        'the start was scheduled with the heartbeat timeout given',
      );
    });
  });
});
