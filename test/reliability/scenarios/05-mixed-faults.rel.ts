/**
 * Mixed faults: jobs started at once while every API call may meet a 5xx, a read timeout, a
 * connection reset, a non-JSON 502 page or an HTTP 200 `Success: false`, at the rates below (each
 * drawn from the emulator's seeded PRNG; the first matching fault in the list wins). Some faults on
 * StartApsJob apply the start before failing (the lost reply). Besides streaming jobs, the mix has
 * batch jobs (target completed), jobs that fail on their own (→ ApsJobFailed) and jobs whose start
 * is refused for good (→ Forbidden.RAM). Every run ends as its job dictates, with the right code;
 * none is stuck; no job is started twice.
 */
import { strict as assert } from 'node:assert';
import type { RunApsJobInput } from '../../../src/api';
import type { FaultSpec, JobScript } from '../../../src/emulator';
import { suite } from '../support/hooks';
import { emulatorSeed, PLAN, scenarioRandom } from '../support/plan';
import { record, summary } from '../support/report';
import { awaitRuns, mapLimit, startRun, tally } from '../support/runs';
import { accountStarts, jobIds, jobInput, startStage, type Stage } from '../support/stage';

const ID = 'mixed-faults';

/** The random faults, in order (a call meets the first one whose draw hits). */
const FAULTS: FaultSpec[] = [
  { kind: 'error', code: 'ServiceUnavailable', httpStatus: 503, rate: 0.04 },
  { kind: 'error', code: 'InternalError', httpStatus: 500, rate: 0.02 },
  // Longer than the workers' 1 s read timeout: the call times out (and, without applyFirst, the
  // emulator drops the action when the client leaves).
  { kind: 'latency', latencyMs: 1_500, rate: 0.02 },
  { kind: 'latency', latencyMs: 1_500, action: 'StartApsJob', applyFirst: true, rate: 0.05 },
  { kind: 'reset', rate: 0.02 },
  { kind: 'reset', action: 'StartApsJob', applyFirst: true, rate: 0.05 },
  { kind: 'html-502', rate: 0.02 },
  { kind: 'success-false', errCode: 'InternalError', rate: 0.02 },
];
/** Codes the random faults surface as (all transient). */
const TRANSIENT_CODES = [
  'ServiceUnavailable',
  'InternalError',
  'ReadTimeout',
  'ConnectTimeout',
  'RequestTimeout',
  'ECONNRESET',
  'NonJsonResponse',
];

type Kind = 'streaming' | 'batch' | 'failing' | 'denied';

/** Chance that a call of `action` meets one of {@link FAULTS}. */
function faultRate(action: string): number {
  return (
    1 -
    FAULTS.filter((f) => f.action === undefined || f.action === action).reduce(
      (p, f) => p * (1 - (f.rate ?? 0)),
      1,
    )
  );
}

function pct(x: number): string {
  return `${(x * 100).toFixed(0)}%`;
}

describe('reliability: mixed faults', function () {
  const plan = PLAN.mixed;
  this.timeout(20 * 60_000);
  let stage: Stage | undefined;
  after(async () => {
    await stage?.stop();
  });

  it(`[${ID}] ${plan.jobs} jobs under 5xx, timeouts, resets, HTML 502 and Success:false: right outcome each`, async () => {
    const t0 = Date.now();
    const rnd = scenarioRandom(ID);
    const ids = jobIds('mixed', plan.jobs);
    const n = plan.jobs;
    const counts = {
      batch: Math.max(1, Math.round(n * 0.1)),
      failing: Math.max(1, Math.round(n * 0.05)),
      denied: Math.max(1, Math.round(n * 0.05)),
    };
    const kinds: Kind[] = [
      ...Array<Kind>(counts.batch).fill('batch'),
      ...Array<Kind>(counts.failing).fill('failing'),
      ...Array<Kind>(counts.denied).fill('denied'),
    ];
    while (kinds.length < n) kinds.push('streaming');
    // Seeded shuffle, so that the kinds are spread over the start order.
    for (let i = kinds.length - 1; i > 0; i--) {
      const j = rnd.int(0, i);
      [kinds[i], kinds[j]] = [kinds[j] as Kind, kinds[i] as Kind];
    }
    const kindOf = new Map(ids.map((id, i) => [id, kinds[i] as Kind]));
    const scripts: JobScript[] = ids.map((apsJobId) => {
      switch (kindOf.get(apsJobId)) {
        case 'batch':
          return { apsJobId, kind: 'batch', runningPollsToComplete: 2 };
        case 'failing':
          // Three good reads after the start, then Failed: the start activity has long returned.
          return { apsJobId, kind: 'failing', failAfterPolls: 3 };
        default:
          return { apsJobId, kind: 'streaming', startingPolls: rnd.int(1, 2) };
      }
    });
    // A refused start, for good: placed before the random faults so that it always answers.
    const denials: FaultSpec[] = ids
      .filter((id) => kindOf.get(id) === 'denied')
      .map((apsJobId) => ({
        kind: 'error',
        code: 'Forbidden.RAM',
        httpStatus: 403,
        action: 'StartApsJob',
        apsJobId,
        times: 'unlimited',
      }));
    stage = await startStage({
      id: ID,
      env: { ADB_CONNECT_TIMEOUT: '1s', ADB_READ_TIMEOUT: '1s' },
      emulator: { seed: emulatorSeed(ID), jobs: scripts, faults: [...denials, ...FAULTS] },
    });
    const { emulator, taskQueue } = stage;
    const { client } = suite();
    const expected = (id: string): string => {
      const k = kindOf.get(id);
      return k === 'failing' ? 'ApsJobFailed' : k === 'denied' ? 'Forbidden.RAM' : 'completed';
    };
    const inputFor = (apsJobId: string): RunApsJobInput => {
      const k = kindOf.get(apsJobId);
      return jobInput(apsJobId, {
        // Up to three calls of 1 s each (read, start, re-read) fit in one attempt.
        activityTimeout: '6s',
        ...(k === 'batch' || k === 'failing' ? { target: 'completed' } : {}),
      });
    };
    const runs = await mapLimit(ids, n, (apsJobId) => startRun(client, taskQueue, inputFor(apsJobId)));
    const outcomes = await awaitRuns(client, taskQueue, runs, Date.now() + 6 * 60_000 + n * 1_500);

    const t = tally(outcomes);
    const starts = accountStarts(emulator, outcomes);
    const wrong: string[] = [];
    let budgetSpent = 0;
    for (const o of outcomes) {
      const want = expected(o.run.apsJobId);
      const got = o.state === 'failed' ? (o.failureType ?? 'Unknown') : o.state;
      if (got === want) continue;
      // The rules allow it: a transient code whose 8-retry budget ran out is the right failure too.
      if (o.state === 'failed' && TRANSIENT_CODES.includes(got) && /retries used/.test(o.message ?? '')) {
        budgetSpent += 1;
        continue;
      }
      wrong.push(
        `${o.run.apsJobId} (${kindOf.get(o.run.apsJobId)}): expected ${want}, got ${got} ${o.message ?? ''}`,
      );
    }
    const startCounts = new Map(
      outcomes.map((o) => [o.run.apsJobId, emulator.effectiveStarts(o.run.apsJobId)]),
    );
    const deniedStarted = ids.filter((id) => kindOf.get(id) === 'denied' && (startCounts.get(id) ?? 0) > 0);
    const c = emulator.counters();
    const code = (k: string): number => c.byCode[k] ?? 0;
    const fired = {
      '503': code('ServiceUnavailable'),
      '500': code('InternalError') - (c.faults['success-false'] ?? 0),
      'Success:false': c.faults['success-false'] ?? 0,
      timeout: code('ClientClosedRequest'),
      reset: code('ConnectionReset'),
      'HTML 502': code('BadGateway'),
    };
    const faultText = Object.entries(fired)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    record(
      summary(ID, t, {
        doubleStarts: starts.doubleStarts,
        duplicateStartCalls: starts.duplicateStartCalls,
        apiCalls: c.requests,
        wallMs: Date.now() - t0,
        notes:
          `fault rate per call ${pct(faultRate('DescribeApsJobDetail'))} (reads), ${pct(faultRate('StartApsJob'))} (starts); ` +
          `faults answered: ${faultText}; expected ApsJobFailed ${counts.failing}, Forbidden.RAM ${counts.denied}; ` +
          `wrong outcomes ${wrong.length}`,
        details: {
          faults: FAULTS,
          mix: { streaming: n - counts.batch - counts.failing - counts.denied, ...counts },
          byCode: c.byCode,
          faultsAnswered: fired,
          faultsFired: c.faults,
          wrongOutcomes: wrong,
          transientBudgetSpent: budgetSpent,
          effectiveStartsByCount: starts.byCount,
        },
      }),
    );

    assert.equal(t.stuck, 0, 'stuck runs');
    assert.deepEqual(wrong, [], 'runs that ended with the wrong outcome');
    assert.equal(starts.doubleStarts, 0, `double starts: ${starts.offenders.join(', ')}`);
    assert.equal(
      starts.duplicateStartCalls,
      0,
      `duplicate start calls: ${starts.duplicateOffenders.join(', ')}`,
    );
    assert.equal(starts.lostStarts, 0, `lost starts: ${starts.offenders.join(', ')}`);
    assert.deepEqual(deniedStarted, [], 'a refused start took effect');
    for (const o of outcomes) {
      if (kindOf.get(o.run.apsJobId) !== 'denied' && o.state === 'completed') {
        assert.equal(
          startCounts.get(o.run.apsJobId),
          1,
          `${o.run.apsJobId} started ${startCounts.get(o.run.apsJobId)} times`,
        );
      }
    }
  });
});
