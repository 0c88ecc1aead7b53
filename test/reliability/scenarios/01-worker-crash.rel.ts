/**
 * Worker crashes: jobs run on three worker processes while worker processes are SIGKILLed at
 * chosen points and started again. Every run completes and every job is started exactly once.
 *
 * Kill points (each worker signs with its own access key, so the emulator's request log says which
 * process made a call, and the kill hits that process):
 * - during-start: right after the pre-start status read, while the StartApsJob that follows is held
 *   by a latency fault (some of those apply the start first: the "reply lost" case);
 * - after-start: the moment a StartApsJob that took effect was answered, before the activity could
 *   report back (between the start and the first poll);
 * - polling: while the started job is being polled;
 * - random: at random times.
 * The first chance of each targeted point always kills, later ones with a seeded probability.
 */
import { strict as assert } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateAccessKey, type RequestLogEntry } from '../../../src/emulator';
import { suite } from '../support/hooks';
import { emulatorSeed, PLAN, scenarioRandom } from '../support/plan';
import { record, summary } from '../support/report';
import { awaitRuns, describeProblems, startRun, tally, type Run } from '../support/runs';
import { accountStarts, jobIds, jobInput, startStage, type Stage } from '../support/stage';
import type { WorkerPool } from '../../../src/dev/worker-pool';

const ID = 'worker-crash';

type KillPoint = 'during-start' | 'after-start' | 'polling' | 'random';
/** The points every run must hit at least once. */
const TARGETED: readonly KillPoint[] = ['during-start', 'after-start', 'polling'];

/** Decides and performs the kills. */
class Killer {
  readonly kills: { point: KillPoint; slot: number; at: number; apsJobId?: string }[] = [];
  private readonly done = new Set<KillPoint>();
  private lastKillAt = 0;
  private active = true;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: WorkerPool,
    private readonly rnd: ReturnType<typeof scenarioRandom>,
    private readonly maxKills: number,
    /** Kills closer together than this are skipped: a worker needs a moment to come back. */
    private readonly minGapMs = 800,
  ) {
    this.scheduleRandom();
  }

  /** A chance to kill at `point`: always the first time, then with probability `p`. */
  chance(point: KillPoint, slot: number | undefined, p: number, delayMs: number, apsJobId?: string): void {
    if (!this.active || slot === undefined) return;
    if (this.done.has(point) && this.rnd.next() >= p) return;
    if (delayMs <= 0) this.fire(point, slot, apsJobId);
    else setTimeout(() => this.fire(point, slot, apsJobId), delayMs).unref();
  }

  private fire(point: KillPoint, slot: number, apsJobId?: string): void {
    if (!this.active || this.kills.length >= this.maxKills) return;
    // The last kills are kept for targeted points that have not been hit yet.
    const missing = TARGETED.filter((p) => p !== point && !this.done.has(p)).length;
    if (this.kills.length + missing >= this.maxKills) return;
    if (Date.now() - this.lastKillAt < this.minGapMs) return;
    // At least one other worker keeps polling while this one comes back.
    if (!this.pool.isReady(slot) || this.pool.readyCount() < 2) return;
    if (!this.pool.kill(slot)) return;
    this.lastKillAt = Date.now();
    this.done.add(point);
    this.kills.push({ point, slot, at: Date.now(), apsJobId });
  }

  private scheduleRandom(): void {
    this.timer = setTimeout(
      () => {
        const ready = Array.from({ length: this.pool.size }, (_, i) => i).filter((i) => this.pool.isReady(i));
        if (ready.length > 0) this.fire('random', this.rnd.pick(ready));
        if (this.active) this.scheduleRandom();
      },
      this.rnd.int(2_000, 6_000),
    );
    this.timer.unref();
  }

  stop(): void {
    this.active = false;
    clearTimeout(this.timer);
  }

  byPoint(): Record<KillPoint, number> {
    const out: Record<KillPoint, number> = { 'during-start': 0, 'after-start': 0, polling: 0, random: 0 };
    for (const k of this.kills) out[k.point] += 1;
    return out;
  }
}

describe('reliability: worker crashes', function () {
  const plan = PLAN.crash;
  this.timeout(15 * 60_000);
  let stage: Stage | undefined;
  let killer: Killer | undefined;
  after(async () => {
    killer?.stop();
    await stage?.stop();
  });

  it(`[${ID}] ${plan.jobs} jobs, SIGKILLed workers at chosen points: all complete, one start each`, async () => {
    const t0 = Date.now();
    const rnd = scenarioRandom(ID);
    const ids = jobIds('crash', plan.jobs);
    // One key per worker process: the request log then tells which process made each call.
    const keys = [generateAccessKey(), generateAccessKey(), generateAccessKey()];
    let onRequest: (e: RequestLogEntry) => void = () => undefined;
    stage = await startStage({
      id: ID,
      workers: keys.length,
      keys,
      emulator: {
        seed: emulatorSeed(ID),
        accessKeys: keys,
        jobs: ids.map((apsJobId) => ({ apsJobId, kind: 'streaming', startingPolls: rnd.int(1, 4) })),
        faults: [
          // Widen the "during StartApsJob" window: most starts are held 1.2 s, some after taking effect.
          { kind: 'latency', action: 'StartApsJob', latencyMs: 1_200, applyFirst: true, rate: 0.35 },
          { kind: 'latency', action: 'StartApsJob', latencyMs: 1_200, rate: 0.5 },
        ],
        onRequest: (e) => onRequest(e),
      },
    });
    const { emulator, pool, taskQueue } = stage;
    const k = new Killer(pool, rnd, plan.maxKills);
    killer = k;
    onRequest = (e) => {
      if (e.apsJobId === undefined) return;
      const slot = pool.slotOf(e.accessKeyId);
      const starts = emulator.effectiveStarts(e.apsJobId);
      if (e.action === 'DescribeApsJobDetail' && e.code === 'OK') {
        if (starts === 0 && emulator.job(e.apsJobId)?.status === 'Suspended') {
          // The pre-start read: the StartApsJob follows within milliseconds and is held by latency.
          k.chance('during-start', slot, 0.3, rnd.int(150, 900), e.apsJobId);
        } else if (starts > 0) {
          k.chance('polling', slot, 0.08, rnd.int(0, 600), e.apsJobId);
        }
      } else if (e.action === 'StartApsJob' && e.applied && e.code === 'OK') {
        k.chance('after-start', slot, 0.25, 0, e.apsJobId);
      }
    };

    const { client } = suite();
    const runs: Run[] = [];
    for (const apsJobId of ids) {
      runs.push(await startRun(client, taskQueue, jobInput(apsJobId)));
      await sleep(400);
    }
    const outcomes = await awaitRuns(client, taskQueue, runs, Date.now() + 4 * 60_000 + plan.jobs * 2_000);
    k.stop();

    const t = tally(outcomes);
    const starts = accountStarts(emulator, outcomes);
    const startLog = emulator.requests({ action: 'StartApsJob' });
    const cut = startLog.filter((r) => r.code === 'ClientClosedRequest');
    const byPoint = k.byPoint();
    const reattached = outcomes.filter((o) => o.result && !o.result.started).length;
    record(
      summary(ID, t, {
        doubleStarts: starts.doubleStarts,
        duplicateStartCalls: starts.duplicateStartCalls,
        apiCalls: emulator.counters().requests,
        wallMs: Date.now() - t0,
        notes:
          `${k.kills.length} SIGKILLs (aimed during StartApsJob ${byPoint['during-start']}, right after a start ${byPoint['after-start']}, ` +
          `while polling ${byPoint.polling}, random ${byPoint.random}); ${cut.length} StartApsJob calls cut by a kill ` +
          `(${cut.filter((r) => r.applied).length} after taking effect); ${pool.stats.spawns} worker processes started`,
        details: {
          kills: k.kills.length,
          killsByPoint: byPoint,
          startCallsCutByKill: cut.length,
          startCallsCutAfterEffect: cut.filter((r) => r.applied).length,
          startCalls: startLog.length,
          effectiveStartsByCount: starts.byCount,
          lostStarts: starts.lostStarts,
          runsReportingReattached: reattached,
          workerSpawns: pool.stats.spawns,
          unexpectedWorkerExits: pool.stats.unexpectedExits,
        },
      }),
    );

    assert.equal(t.completed, plan.jobs, `not all runs completed:\n${describeProblems(outcomes)}`);
    assert.equal(starts.doubleStarts, 0, `double starts: ${starts.offenders.join(', ')}`);
    assert.equal(
      starts.duplicateStartCalls,
      0,
      `duplicate start calls: ${starts.duplicateOffenders.join(', ')}`,
    );
    assert.equal(starts.lostStarts, 0, `lost starts: ${starts.offenders.join(', ')}`);
    assert.deepEqual(starts.byCount, { 1: plan.jobs }, 'every job started exactly once');
    for (const point of TARGETED) {
      assert.ok(byPoint[point] >= 1, `no kill landed at ${point}: ${JSON.stringify(byPoint)}`);
    }
    assert.ok(cut.length >= 1, 'no StartApsJob call was cut by a kill');
    assert.equal(pool.stats.unexpectedExits, 0, `workers died on their own:\n${pool.tail(20)}`);
  });
});
