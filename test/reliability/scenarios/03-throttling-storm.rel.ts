/**
 * Throttling storm: all jobs start at once against a token bucket far below demand (the emulator
 * answers `Throttling.User`). Every run completes, none fails for throttling, and the number of API
 * calls stays within a bound derived from the rules.
 *
 * The bound. Every job starts Suspended and becomes Running on its second poll after the start.
 * - Calls the bucket let through ("accepted") are at most `burst + rate × T`, T the span between the
 *   first and the last request: a property of the token bucket, checked as such.
 * - Wait phase (waitForApsJob): each attempt makes exactly one DescribeApsJobDetail, and the next
 *   attempt comes at least one poll interval later whether the read was throttled or not (both
 *   failures carry nextRetryDelay ≥ pollInterval). A job that waited T_wait therefore made at most
 *   floor(T_wait / pollInterval) + 1 reads; one more is allowed for clock rounding.
 * - Start phase (startApsJob): each attempt makes at most 2 calls (the status read and the start; a
 *   throttled start is not re-read). After the i-th consecutive throttle (i from 0) the `throttling`
 *   rule waits U × min(2 s × 2^i, 2 min), U uniform in [0, 1] (full jitter, 100 ms floor): on
 *   average 2^i s, so r retries take 2^r - 1 s on average and a job that spent T_start seconds
 *   starting made about log2(T_start + 1) retries. Jitter can draw short delays, so the bound allows
 *   twice that plus 3 attempts: attempts ≤ 2 × log2(T_start / 1 s + 1) + 3. Exceeding it needs
 *   several consecutive draws near zero (probability below 1e-6 per job for the spans seen here).
 * Bound = Σ over jobs of [2 × start attempts bound + wait reads bound]. A client-side retry layer,
 * a retry without backoff, or polling faster than the interval would each break it.
 */
import { strict as assert } from 'node:assert';
import { suite } from '../support/hooks';
import { emulatorSeed, PLAN } from '../support/plan';
import { record, summary } from '../support/report';
import { awaitRuns, describeProblems, mapLimit, startRun, tally } from '../support/runs';
import { accountStarts, jobIds, jobInput, startStage, type Stage } from '../support/stage';

const ID = 'throttling-storm';
const POLL_MS = 1_000;

describe('reliability: throttling storm', function () {
  const plan = PLAN.throttle;
  this.timeout(30 * 60_000);
  let stage: Stage | undefined;
  after(async () => {
    await stage?.stop();
  });

  it(`[${ID}] ${plan.jobs} jobs at once against ${plan.ratePerSec}/s (burst ${plan.burst}): all complete within the call bound`, async () => {
    const t0 = Date.now();
    const ids = jobIds('storm', plan.jobs);
    stage = await startStage({
      id: ID,
      emulator: {
        seed: emulatorSeed(ID),
        jobs: ids.map((apsJobId) => ({ apsJobId, kind: 'streaming', startingPolls: 1 })),
      },
    });
    const { emulator, taskQueue } = stage;
    // Armed once the workers are up: their start-up credential check makes no API call, but the
    // bucket should start full for the storm.
    emulator.setRateLimit({ ratePerSec: plan.ratePerSec, burst: plan.burst });
    const { client } = suite();
    const runs = await mapLimit(ids, plan.jobs, (apsJobId) =>
      startRun(client, taskQueue, jobInput(apsJobId, { pollInterval: `${POLL_MS}ms` })),
    );
    const outcomes = await awaitRuns(client, taskQueue, runs, Date.now() + 6 * 60_000 + plan.jobs * 2_000);
    const wallMs = Date.now() - t0;

    const t = tally(outcomes);
    const starts = accountStarts(emulator, outcomes);
    const c = emulator.counters();
    const throttled = c.faults['rate-limit'] ?? 0;
    const accepted = c.requests - throttled;
    const log = emulator.requests();
    const first = Date.parse(log[0]?.time ?? new Date().toISOString());
    const last = Date.parse(log.at(-1)?.time ?? new Date().toISOString());
    const spanSec = (last - first) / 1000;
    const acceptedBound = Math.floor(plan.burst + plan.ratePerSec * spanSec) + 1;

    let bound = 0;
    let boundable = true;
    for (const o of outcomes) {
      const r = o.result;
      if (!r) {
        boundable = false;
        continue;
      }
      const startedAt = Date.parse(r.startedAt);
      const reachedAt = Date.parse(r.reachedAt);
      const tStart = Math.max(0, (startedAt - o.run.requestedAt) / 1000);
      const startAttempts = 2 * Math.log2(tStart + 1) + 3;
      const waitReads = Math.floor(Math.max(0, reachedAt - startedAt) / POLL_MS) + 2;
      bound += 2 * Math.ceil(startAttempts) + waitReads;
    }
    const minimum = plan.jobs * 4;
    const demandPerSec = (plan.jobs * 1000) / POLL_MS;
    record(
      summary(ID, t, {
        doubleStarts: starts.doubleStarts,
        duplicateStartCalls: starts.duplicateStartCalls,
        apiCalls: c.requests,
        wallMs,
        notes:
          `limit ${plan.ratePerSec}/s burst ${plan.burst} vs polling demand ${demandPerSec}/s; ` +
          `${throttled} throttled, ${accepted} accepted ≤ ${acceptedBound} (bucket over ${spanSec.toFixed(1)} s); ` +
          `calls ${c.requests} ≤ bound ${bound} (minimum ${minimum})`,
        details: {
          ratePerSec: plan.ratePerSec,
          burst: plan.burst,
          pollIntervalMs: POLL_MS,
          throttledCalls: throttled,
          acceptedCalls: accepted,
          acceptedBound,
          spanSec,
          callBound: bound,
          minimumCalls: minimum,
          byAction: c.byAction,
          effectiveStartsByCount: starts.byCount,
        },
      }),
    );

    assert.equal(t.completed, plan.jobs, `not all runs completed:\n${describeProblems(outcomes)}`);
    assert.deepEqual(starts.byCount, { 1: plan.jobs }, `starts: ${starts.offenders.join(', ')}`);
    assert.equal(
      starts.duplicateStartCalls,
      0,
      `duplicate start calls: ${starts.duplicateOffenders.join(', ')}`,
    );
    assert.ok(throttled > 0, 'the limit never throttled: not a storm');
    assert.ok(accepted <= acceptedBound, `accepted ${accepted} > bucket bound ${acceptedBound}`);
    assert.ok(boundable, 'a run without a result cannot be bounded');
    assert.ok(c.requests <= bound, `API calls ${c.requests} exceed the bound ${bound}`);
    assert.ok(accepted >= minimum, `accepted ${accepted} < the ${minimum} calls the jobs need`);
  });
});
