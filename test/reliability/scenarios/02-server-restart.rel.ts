/**
 * Server restart: the dev server is stopped in the middle of a run and started again on the same
 * SQLite file and port. Worker processes stay up (or are started again if they give up); the
 * client's connection reconnects. Runs started before the restart, mid-wait at the restart, and
 * started after it all complete; namespace `default` and the search attributes survive.
 */
import { strict as assert } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApsJobIdKey, SEARCH_ATTRIBUTES } from '../../../src/api';
import { suite } from '../support/hooks';
import { emulatorSeed, PLAN, scenarioRandom } from '../support/plan';
import { record, summary } from '../support/report';
import { awaitRuns, describeProblems, retrying, startRun, tally, type Run } from '../support/runs';
import { accountStarts, jobIds, jobInput, startStage, type Stage } from '../support/stage';

const ID = 'server-restart';
const DOWN_MS = 5_000;

describe('reliability: Temporal server restart', function () {
  const plan = PLAN.restart;
  this.timeout(15 * 60_000);
  let stage: Stage | undefined;
  after(async () => {
    await stage?.stop();
  });

  it(`[${ID}] ${plan.jobs} jobs across a dev-server restart on the same database: all complete`, async () => {
    const t0 = Date.now();
    const rnd = scenarioRandom(ID);
    const ids = jobIds('restart', plan.jobs);
    const { client, server } = suite();
    stage = await startStage({
      id: ID,
      respawnDelayMs: 1_000,
      emulator: {
        seed: emulatorSeed(ID),
        jobs: ids.map((apsJobId) => ({ apsJobId, kind: 'streaming', startingPolls: rnd.int(3, 8) })),
      },
    });
    const { emulator, pool, taskQueue } = stage;

    // Runs are requested one every 200 ms, across the restart: a start request that meets the server
    // down is retried (startJobRun joins the run if the first attempt went through after all).
    const runs: Run[] = [];
    const starter = (async () => {
      for (const apsJobId of ids) {
        runs.push(await retrying(() => startRun(client, taskQueue, jobInput(apsJobId)), Date.now() + 60_000));
        await sleep(200);
      }
    })();
    // Awaited below; a failure must not count as unhandled meanwhile.
    starter.catch(() => undefined);
    // Restart once a quarter of the jobs took their start: some runs are done or polling, some
    // are starting, and the rest are requested while the server is down or after it is back.
    const until = Date.now() + 60_000;
    while (Object.keys(emulator.counters().effectiveStarts).length < Math.ceil(plan.jobs / 4)) {
      if (Date.now() > until) break;
      await sleep(50);
    }
    const phases: Record<string, number> = {};
    for (const phase of ['starting', 'waiting', 'done']) {
      phases[phase] = (
        await client.workflow.count(`TaskQueue = "${taskQueue}" AND ApsPhase = "${phase}"`)
      ).count;
    }
    const requestedAtRestart = runs.length;
    const pollingAtRestart = emulator.jobs().filter((j) => j.status === 'Starting').length;
    const startedAtRestart = Object.keys(emulator.counters().effectiveStarts).length;
    const callsAtRestart = emulator.counters().requests;
    const { downMs } = await server.restart(DOWN_MS);

    const deadline = Date.now() + 3 * 60_000 + plan.jobs * 1_000;
    const ns = await retrying(
      () => client.workflowService.describeNamespace({ namespace: 'default' }),
      Date.now() + 30_000,
    );
    const attrs = await retrying(
      () => client.connection.operatorService.listSearchAttributes({ namespace: 'default' }),
      Date.now() + 30_000,
    );
    const firstRun = runs[0];
    assert.ok(firstRun);
    const firstDesc = await retrying(() => firstRun.handle.describe(), Date.now() + 30_000);
    await starter;
    const outcomes = await awaitRuns(client, taskQueue, runs, deadline);

    const t = tally(outcomes);
    const starts = accountStarts(emulator, outcomes);
    const registered = Object.keys(attrs.customAttributes ?? {});
    const missing = SEARCH_ATTRIBUTES.map((k) => k.name).filter((n) => !registered.includes(n));
    record(
      summary(ID, t, {
        doubleStarts: starts.doubleStarts,
        duplicateStartCalls: starts.duplicateStartCalls,
        apiCalls: emulator.counters().requests,
        wallMs: Date.now() - t0,
        notes:
          `server down ${(downMs / 1000).toFixed(1)} s when ${requestedAtRestart} runs were requested ` +
          `(starting ${phases.starting}, polling ${phases.waiting}, done ${phases.done}) and ${startedAtRestart} jobs started; ` +
          `namespace and search attributes kept; worker processes exited on their own: ${pool.stats.unexpectedExits}`,
        details: {
          downMs,
          runsRequestedAtRestart: requestedAtRestart,
          phasesAtRestart: phases,
          jobsStartingAtRestart: pollingAtRestart,
          jobsStartedAtRestart: startedAtRestart,
          apiCallsAtRestart: callsAtRestart,
          namespace: ns.namespaceInfo?.name,
          searchAttributes: registered,
          unexpectedWorkerExits: pool.stats.unexpectedExits,
          workerSpawns: pool.stats.spawns,
          effectiveStartsByCount: starts.byCount,
        },
      }),
    );

    assert.equal(ns.namespaceInfo?.name, 'default');
    assert.deepEqual(missing, [], `search attributes lost in the restart: ${missing.join(', ')}`);
    assert.equal(
      firstDesc.typedSearchAttributes.get(ApsJobIdKey),
      firstRun.apsJobId,
      'a run started before the restart lost its ApsJobId search attribute',
    );
    assert.equal(t.completed, plan.jobs, `not all runs completed:\n${describeProblems(outcomes)}`);
    assert.deepEqual(starts.byCount, { 1: plan.jobs }, `starts: ${starts.offenders.join(', ')}`);
    assert.equal(
      starts.duplicateStartCalls,
      0,
      `duplicate start calls: ${starts.duplicateOffenders.join(', ')}`,
    );
    assert.ok(startedAtRestart < plan.jobs, 'the restart came after every job had started');
    assert.ok(pollingAtRestart > 0, 'no started job was still being polled at the restart');
  });
});
