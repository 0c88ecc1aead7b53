/**
 * Long outage: every job has been started and is being waited on when DescribeApsJobDetail begins
 * to answer 503 `ServiceUnavailable`, and keeps doing so for over five minutes, far longer than a
 * blip. The runs use the package's own defaults (no retry rules of their own or the worker's; only
 * the poll interval is set), half streaming jobs (target running), half batch jobs (target
 * completed). Every run reaches its target after the outage ends, every job is started exactly
 * once and never sent a second StartApsJob, and the workers did see the outage.
 */
import { strict as assert } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { statusQuery, type JobTarget, type RunApsJobInput } from '../../../src/api';
import { liveWaitOf } from '../../../src/client';
import type { JobScript } from '../../../src/emulator';
import { suite } from '../support/hooks';
import { emulatorSeed, PLAN, scenarioRandom } from '../support/plan';
import { record, summary } from '../support/report';
import { awaitRuns, describeProblems, mapLimit, REGION, startRun, tally, type Run } from '../support/runs';
import { accountStarts, jobIds, startStage, type Stage } from '../support/stage';

const ID = 'long-outage';
const POLL_MS = 5_000;
// Long enough that no job can reach its target between its start and the outage, so every run is
// still waiting when the outage begins; short enough that none has to wait for it afterwards.
const STARTING_MS = 90_000;
/** How long the runs may take to be started and waiting before the outage. */
const SETTLE_DEADLINE_MS = 2 * 60_000;
/** How long after the outage every run must have reached its target. */
const RECOVERY_MS = 5 * 60_000;

describe('reliability: a long DescribeApsJobDetail outage while jobs are waited on', function () {
  const plan = PLAN.longOutage;
  this.timeout(30 * 60_000);
  let stage: Stage | undefined;
  let outageTimer: NodeJS.Timeout | undefined;
  after(async () => {
    clearTimeout(outageTimer);
    await stage?.stop();
  });

  it(`[${ID}] ${plan.jobs} waiting jobs through a ${plan.outageMs / 1000} s DescribeApsJobDetail outage: all reach their target`, async () => {
    const t0 = Date.now();
    const rnd = scenarioRandom(ID);
    const ids = jobIds('long-outage', plan.jobs);
    const targets = new Map<string, JobTarget>(
      ids.map((id, i) => [id, i % 2 === 0 ? 'running' : 'completed']),
    );
    const scripts: JobScript[] = ids.map((apsJobId) =>
      targets.get(apsJobId) === 'running'
        ? { apsJobId, kind: 'streaming', startingMs: STARTING_MS }
        : { apsJobId, kind: 'batch', startingMs: STARTING_MS, runningPollsToComplete: rnd.int(1, 3) },
    );
    stage = await startStage({ id: ID, emulator: { seed: emulatorSeed(ID), jobs: scripts } });
    const { emulator, pool, taskQueue } = stage;
    const { client } = suite();

    const runs: Run[] = [];
    for (const apsJobId of ids) {
      // The package's defaults, except how often to poll (and the target, which the job dictates).
      const input: RunApsJobInput = {
        regionId: REGION,
        apsJobId,
        target: targets.get(apsJobId),
        pollInterval: `${POLL_MS}ms`,
      };
      runs.push(await startRun(client, taskQueue, input));
    }

    // The outage must find every job started and every run waiting on it, not starting it.
    const settleDeadline = Date.now() + SETTLE_DEADLINE_MS;
    let phases: string[] = [];
    for (;;) {
      // A start that waits in the same activity is waiting once its heartbeat says it started.
      phases = await mapLimit(runs, 8, (run) =>
        Promise.all([run.handle.query(statusQuery), run.handle.describe()]).then(
          ([s, d]) => {
            const pending = d.raw.pendingActivities?.[0];
            return s.phase === 'starting' && pending && liveWaitOf(pending)?.waiting ? 'waiting' : s.phase;
          },
          () => 'unanswered',
        ),
      );
      const allStarted = ids.every((id) => emulator.effectiveStarts(id) === 1);
      if (allStarted && phases.every((p) => p === 'waiting')) break;
      if (Date.now() > settleDeadline) {
        assert.fail(
          `runs not all started and waiting after ${SETTLE_DEADLINE_MS / 1000} s: phases ${phases.join(', ')}`,
        );
      }
      await sleep(500);
    }
    const detailCallsBefore = emulator.calls({ action: 'DescribeApsJobDetail' });
    const startingAtOutage = ids.filter((id) => emulator.job(id)?.status === 'Starting').length;
    const outageStartedAt = Date.now();
    let outageEndedAt: number | undefined;
    const faultId = emulator.injectFault({
      kind: 'error',
      code: 'ServiceUnavailable',
      httpStatus: 503,
      action: 'DescribeApsJobDetail',
      times: 'unlimited',
    });
    outageTimer = setTimeout(() => {
      emulator.removeFault(faultId);
      outageEndedAt = Date.now();
    }, plan.outageMs);

    const outcomes = await awaitRuns(client, taskQueue, runs, outageStartedAt + plan.outageMs + RECOVERY_MS);
    // Runs that all ended early (failed) leave the outage running: end it for the accounting below.
    if (outageEndedAt === undefined) {
      clearTimeout(outageTimer);
      emulator.removeFault(faultId);
    }
    const outageMs = (outageEndedAt ?? Date.now()) - outageStartedAt;

    const t = tally(outcomes);
    const starts = accountStarts(emulator, outcomes);
    const counters = emulator.counters();
    const unavailableAnswered = counters.byCode.ServiceUnavailable ?? 0;
    const seenLines = pool
      .output()
      .split('\n')
      .filter((l) => l.includes('DescribeApsJobDetail failed') && l.includes('ServiceUnavailable')).length;
    const reachedTimes = outcomes.flatMap((o) => (o.result ? [Date.parse(o.result.reachedAt)] : []));
    const reachedDuringOutage = outcomes
      .filter(
        (o) => o.result && outageEndedAt !== undefined && Date.parse(o.result.reachedAt) < outageEndedAt,
      )
      .map((o) => `${o.run.apsJobId} (reached ${o.result?.reachedAt})`);
    const wrongTarget = outcomes
      .filter((o) => o.result && o.result.outcome !== targets.get(o.run.apsJobId))
      .map((o) => `${o.run.apsJobId}: ${o.result?.outcome} (${o.result?.status})`);
    const lastReachedAfterOutageMs =
      outageEndedAt !== undefined && reachedTimes.length > 0
        ? Math.max(...reachedTimes) - outageEndedAt
        : undefined;
    record(
      summary(ID, t, {
        doubleStarts: starts.doubleStarts,
        duplicateStartCalls: starts.duplicateStartCalls,
        apiCalls: counters.requests,
        wallMs: Date.now() - t0,
        notes:
          `DescribeApsJobDetail answered 503 ServiceUnavailable for ${(outageMs / 1000).toFixed(0)} s ` +
          (outageEndedAt === undefined
            ? `(cut short: every run had ended) of a planned ${plan.outageMs / 1000} s `
            : '') +
          `(${plan.outageMs / POLL_MS} poll intervals planned) with all ${plan.jobs} jobs started and waited on, ` +
          `package defaults; ${unavailableAnswered} calls answered 503, ${seenLines} worker log lines show it` +
          (lastReachedAfterOutageMs !== undefined
            ? `; last target reached ${(lastReachedAfterOutageMs / 1000).toFixed(1)} s after the outage`
            : ''),
        details: {
          outageMs: plan.outageMs,
          outageLastedMs: outageMs,
          outageRanItsCourse: outageEndedAt !== undefined,
          pollIntervalMs: POLL_MS,
          targets: {
            running: ids.length - Math.floor(ids.length / 2),
            completed: Math.floor(ids.length / 2),
          },
          jobsStartingAtOutage: startingAtOutage,
          describeCallsBeforeOutage: detailCallsBefore,
          describeCallsTotal: emulator.calls({ action: 'DescribeApsJobDetail' }),
          serviceUnavailableAnswered: unavailableAnswered,
          serviceUnavailableLogged: seenLines,
          lastReachedAfterOutageMs,
          effectiveStartsByCount: starts.byCount,
        },
      }),
    );

    assert.equal(startingAtOutage, plan.jobs, 'a job reached its target before the outage began');
    assert.equal(t.completed, plan.jobs, `not all runs completed:\n${describeProblems(outcomes)}`);
    assert.ok(outageEndedAt !== undefined, 'the outage did not run its course');
    assert.ok(outageMs >= plan.outageMs, `the outage lasted ${outageMs} ms, less than ${plan.outageMs} ms`);
    assert.deepEqual(reachedDuringOutage, [], 'runs reached their target while the status could not be read');
    assert.deepEqual(wrongTarget, [], 'runs ended at another target than their job dictates');
    assert.deepEqual(starts.byCount, { 1: plan.jobs }, `starts: ${starts.offenders.join(', ')}`);
    assert.equal(
      starts.duplicateStartCalls,
      0,
      `duplicate start calls: ${starts.duplicateOffenders.join(', ')}`,
    );
    assert.ok(
      unavailableAnswered > 0,
      'the emulator answered no ServiceUnavailable: the outage was not felt',
    );
    assert.ok(seenLines > 0, 'no worker logged a ServiceUnavailable from DescribeApsJobDetail');
  });
});
