/**
 * Outage: the APS endpoint refuses connections (open ones are destroyed) for many poll intervals
 * while jobs are starting and being polled, then comes back. Every run completes, every job is
 * started exactly once: calls that failed during the outage are retried under the `transient`
 * rule, whose budget (8 retries, 1 s doubling, full jitter) outlasts the outage.
 */
import { strict as assert } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { suite } from '../support/hooks';
import { emulatorSeed, PLAN, scenarioRandom } from '../support/plan';
import { record, summary } from '../support/report';
import { awaitRuns, describeProblems, startRun, tally, type Run } from '../support/runs';
import { accountStarts, jobIds, jobInput, startStage, type Stage } from '../support/stage';

const ID = 'outage';
const POLL_MS = 1_000;

describe('reliability: APS endpoint outage', function () {
  const plan = PLAN.outage;
  this.timeout(15 * 60_000);
  let stage: Stage | undefined;
  after(async () => {
    await stage?.stop();
  });

  it(`[${ID}] ${plan.jobs} jobs through a ${plan.outageMs / 1000} s outage: all complete`, async () => {
    const t0 = Date.now();
    const rnd = scenarioRandom(ID);
    const ids = jobIds('outage', plan.jobs);
    stage = await startStage({
      id: ID,
      emulator: {
        seed: emulatorSeed(ID),
        jobs: ids.map((apsJobId) => ({ apsJobId, kind: 'streaming', startingPolls: rnd.int(2, 6) })),
      },
    });
    const { emulator, pool, taskQueue } = stage;
    const { client } = suite();

    // Jobs start over about 4 s; the outage begins 1.5 s in, so some are mid-start, some polling,
    // and some start during the outage.
    const runs: Run[] = [];
    const gapMs = Math.max(20, Math.floor(4_000 / plan.jobs));
    let outageAt: number | undefined;
    let downCheck = Promise.resolve(false);
    let atOutage = { started: 0, calls: 0 };
    const firstStart = Date.now();
    for (const apsJobId of ids) {
      runs.push(await startRun(client, taskQueue, jobInput(apsJobId, { pollInterval: `${POLL_MS}ms` })));
      if (outageAt === undefined && Date.now() - firstStart >= 1_500) {
        outageAt = Date.now();
        atOutage = {
          started: Object.keys(emulator.counters().effectiveStarts).length,
          calls: emulator.counters().requests,
        };
        emulator.outage(plan.outageMs);
        downCheck = sleep(500).then(() => !emulator.listening);
      }
      await sleep(gapMs);
    }
    if (outageAt === undefined) {
      outageAt = Date.now();
      emulator.outage(plan.outageMs);
      downCheck = sleep(500).then(() => !emulator.listening);
    }
    const downDuringOutage = await downCheck;
    const outcomes = await awaitRuns(client, taskQueue, runs, Date.now() + 4 * 60_000 + plan.jobs * 1_000);

    const t = tally(outcomes);
    const starts = accountStarts(emulator, outcomes);
    const output = pool.output();
    const refused = output.split('\n').filter((l) => l.includes('ECONNREFUSED')).length;
    const resets = output.split('\n').filter((l) => /ECONNRESET|socket hang up/.test(l)).length;
    record(
      summary(ID, t, {
        doubleStarts: starts.doubleStarts,
        duplicateStartCalls: starts.duplicateStartCalls,
        apiCalls: emulator.counters().requests,
        wallMs: Date.now() - t0,
        notes:
          `refused connections for ${plan.outageMs / 1000} s (${plan.outageMs / POLL_MS} poll intervals) with ` +
          `${atOutage.started} of ${plan.jobs} jobs started; ${refused} worker log lines show ECONNREFUSED, ${resets} a reset`,
        details: {
          outageMs: plan.outageMs,
          pollIntervalMs: POLL_MS,
          jobsStartedAtOutage: atOutage.started,
          apiCallsBeforeOutage: atOutage.calls,
          refusedLogged: refused,
          resetsLogged: resets,
          effectiveStartsByCount: starts.byCount,
        },
      }),
    );

    assert.ok(downDuringOutage, 'the emulator was still listening during the outage');
    assert.equal(t.completed, plan.jobs, `not all runs completed:\n${describeProblems(outcomes)}`);
    assert.deepEqual(starts.byCount, { 1: plan.jobs }, `starts: ${starts.offenders.join(', ')}`);
    assert.equal(
      starts.duplicateStartCalls,
      0,
      `duplicate start calls: ${starts.duplicateOffenders.join(', ')}`,
    );
    assert.ok(refused > 0, 'no worker saw a refused connection: the outage was not felt');
  });
});
