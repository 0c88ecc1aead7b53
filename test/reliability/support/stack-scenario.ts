/**
 * The shape every stack scenario shares: a stage, runs requested at a steady pace, one fault
 * played while they go, and the "nothing lost" checks (every run completes, each job is started
 * exactly once, no StartApsJob reaches a job already live) with the scenario's own on top.
 */
import { strict as assert } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EmulatorOptions, JobScript } from '../../../src/emulator';
import { emulatorSeed, scenarioRandom } from './plan';
import { record, summary } from './report';
import { awaitRuns, describeProblems, retrying, startRun, tally, type Outcome, type Run } from './runs';
import { accountStarts, jobIds, jobInput } from './stage';
import { startStackStage, type StackStage } from './stack-stage';
import { stackSuite } from './stack-hooks';

/** What a scenario's fault sees. */
export interface FaultContext {
  /** The stage. */
  stage: StackStage;
  /** Runs requested so far (the array grows while the fault plays). */
  runs: Run[];
  /** Jobs started so far (effective starts). */
  started: () => number;
  /** Waits until `cond` holds or `timeoutMs` passes; false on timeout. */
  until: (cond: () => boolean, timeoutMs: number) => Promise<boolean>;
}

/** A stack scenario. */
export interface StackScenario {
  /** Scenario ID. */
  id: string;
  /** Runs. */
  jobs: number;
  /** Runs requested per second. */
  ratePerSec: number;
  /** The jobs' scripts (default: streaming, 2 to 6 `Starting` polls). */
  job?: (apsJobId: string, rnd: ReturnType<typeof scenarioRandom>) => JobScript;
  /** Emulator options on top of the jobs and the seed. */
  emulator?: Omit<EmulatorOptions, 'jobs' | 'seed' | 'accessKeys'>;
  /** Extra worker environment. */
  env?: Record<string, string>;
  /** Plays the fault; returns the notes line and details for the report. */
  fault(ctx: FaultContext): Promise<{ notes: string; details: Record<string, unknown> }>;
  /** The scenario's own checks, after the shared ones. */
  check?(ctx: { stage: StackStage; outcomes: Outcome[]; details: Record<string, unknown> }): void;
}

/** Runs one stack scenario to its report line and its assertions. */
export async function runStackScenario(s: StackScenario): Promise<void> {
  const t0 = Date.now();
  const rnd = scenarioRandom(s.id);
  const ids = jobIds(s.id.replace(/^stack-/, ''), s.jobs);
  const { client } = stackSuite();
  const stage = await startStackStage({
    id: s.id,
    respawnDelayMs: 1_000,
    env: s.env,
    emulator: {
      ...s.emulator,
      seed: emulatorSeed(s.id),
      jobs: ids.map(
        (apsJobId) => s.job?.(apsJobId, rnd) ?? { apsJobId, kind: 'streaming', startingPolls: rnd.int(2, 6) },
      ),
    },
  });
  try {
    const { emulator, pool, taskQueue } = stage;
    const runs: Run[] = [];
    const gapMs = 1000 / s.ratePerSec;
    const starter = (async () => {
      for (const apsJobId of ids) {
        // A request that meets the server down is retried (startJobRun joins the run if the
        // first attempt went through after all).
        runs.push(
          await retrying(() => startRun(client, taskQueue, jobInput(apsJobId)), Date.now() + 120_000),
        );
        await sleep(gapMs);
      }
    })();
    starter.catch(() => undefined);
    const ctx: FaultContext = {
      stage,
      runs,
      started: () => Object.keys(emulator.counters().effectiveStarts).length,
      until: async (cond, timeoutMs) => {
        const end = Date.now() + timeoutMs;
        while (!cond()) {
          if (Date.now() > end) return false;
          await sleep(50);
        }
        return true;
      },
    };
    const played = await s.fault(ctx);
    await starter;
    const outcomes = await awaitRuns(client, taskQueue, runs, Date.now() + 5 * 60_000 + s.jobs * 500);
    const t = tally(outcomes);
    const starts = accountStarts(emulator, outcomes);
    const details = {
      ...played.details,
      effectiveStartsByCount: starts.byCount,
      workerSpawns: pool.stats.spawns,
      unexpectedWorkerExits: pool.stats.unexpectedExits,
    };
    record(
      summary(s.id, t, {
        doubleStarts: starts.doubleStarts,
        duplicateStartCalls: starts.duplicateStartCalls,
        apiCalls: emulator.counters().requests,
        wallMs: Date.now() - t0,
        notes: played.notes,
        details,
      }),
    );
    assert.equal(t.completed, s.jobs, `not all runs completed:\n${describeProblems(outcomes)}`);
    assert.equal(t.stuck, 0);
    assert.deepEqual(starts.byCount, { 1: s.jobs }, `starts: ${starts.offenders.join(', ')}`);
    assert.equal(
      starts.duplicateStartCalls,
      0,
      `duplicate start calls: ${starts.duplicateOffenders.join(', ')}`,
    );
    s.check?.({ stage, outcomes, details });
  } finally {
    await stage.stop();
  }
}
