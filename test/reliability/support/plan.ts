/**
 * How big the reliability run is: `full` (the default) or `quick` (CI: at most a few minutes on two
 * cores). `RELIABILITY_SIZE` picks it (the runner sets it from `--quick`); `RELIABILITY_SEED` seeds
 * every random choice the suite makes (fault draws in the emulator, kill points, job scripts).
 */
import { Prng, normalizeSeed } from '../../../src/emulator/prng';

/** Every scenario, in run order: a report holds all of them or it is partial. */
export const SCENARIO_IDS = [
  'worker-crash',
  'server-restart',
  'throttling-storm',
  'outage',
  'mixed-faults',
  'bad-input',
  'secrets',
  'duplicates',
  'long-outage',
] as const;

/** The scenarios of the stack mode (`--stack`), in run order. */
export const STACK_SCENARIO_IDS = [
  'stack-temporal-cut',
  'stack-aps-cut',
  'stack-postgres-restart',
  'stack-server-kill',
  'stack-rolling-restart',
  'stack-spread',
] as const;

/** The two sizes. */
export type RunSize = 'quick' | 'full';

/** Jobs and knobs per scenario. */
export interface Plan {
  /** Worker processes per scenario, unless the scenario needs a number of its own. */
  workers: number;
  /** Worker crashes: jobs, and the most SIGKILLs. */
  crash: { jobs: number; maxKills: number };
  /** Server restart: jobs (half before the restart, half after). */
  restart: { jobs: number };
  /** Throttling storm: jobs started at once against a token bucket of `ratePerSec` and `burst`. */
  throttle: { jobs: number; ratePerSec: number; burst: number };
  /** Outage: jobs, and how long the emulator refuses connections. */
  outage: { jobs: number; outageMs: number };
  /** Mixed faults: jobs. */
  mixed: { jobs: number };
  /** Secrets: jobs on the good credentials (two more run on a wrong secret). */
  secrets: { jobs: number };
  /** Duplicate orchestration: jobs, each started by 10 concurrent callers. */
  duplicates: { jobs: number };
  /** Long outage: jobs, and how long DescribeApsJobDetail answers ServiceUnavailable while they wait. */
  longOutage: { jobs: number; outageMs: number };
}

/** Jobs and knobs of the stack scenarios (PostgreSQL, a 4-shard server, workers behind Toxiproxy). */
export interface StackPlan {
  /** Worker hosts per scenario. */
  workers: number;
  /** A worker cut off from Temporal while its StartApsJob is in flight: jobs, and how long the cut lasts. */
  temporalCut: { jobs: number; cutMs: number };
  /** A worker cut off from the APS endpoint while it waits: jobs, and how long. */
  apsCut: { jobs: number; cutMs: number };
  /** `pg_ctl restart`, then a SIGKILL of the postmaster, amid this many runs. */
  postgres: { jobs: number };
  /** Temporal server SIGKILL and restart amid this many runs. */
  serverKill: { jobs: number; downMs: number };
  /** Each worker restarted in turn (SIGTERM) under this many runs. */
  rolling: { jobs: number };
  /** Jobs spread over the workers. */
  spread: { jobs: number };
}

const STACK_PLANS: Record<RunSize, StackPlan> = {
  quick: {
    workers: 3,
    temporalCut: { jobs: 12, cutMs: 45_000 },
    apsCut: { jobs: 12, cutMs: 20_000 },
    postgres: { jobs: 60 },
    serverKill: { jobs: 40, downMs: 5_000 },
    rolling: { jobs: 90 },
    spread: { jobs: 150 },
  },
  full: {
    workers: 3,
    temporalCut: { jobs: 30, cutMs: 45_000 },
    apsCut: { jobs: 30, cutMs: 30_000 },
    postgres: { jobs: 200 },
    serverKill: { jobs: 200, downMs: 10_000 },
    rolling: { jobs: 300 },
    spread: { jobs: 500 },
  },
};

const PLANS: Record<RunSize, Plan> = {
  quick: {
    workers: 2,
    crash: { jobs: 20, maxKills: 10 },
    restart: { jobs: 20 },
    throttle: { jobs: 20, ratePerSec: 4, burst: 4 },
    outage: { jobs: 20, outageMs: 6_000 },
    mixed: { jobs: 20 },
    secrets: { jobs: 6 },
    duplicates: { jobs: 5 },
    // Five and a half minutes at both sizes: the point is the length of the outage, not the load.
    longOutage: { jobs: 6, outageMs: 330_000 },
  },
  full: {
    workers: 3,
    crash: { jobs: 50, maxKills: 24 },
    restart: { jobs: 50 },
    throttle: { jobs: 200, ratePerSec: 5, burst: 10 },
    outage: { jobs: 50, outageMs: 10_000 },
    mixed: { jobs: 200 },
    secrets: { jobs: 12 },
    duplicates: { jobs: 20 },
    longOutage: { jobs: 20, outageMs: 330_000 },
  },
};

function sizeFromEnv(): RunSize {
  const v = (process.env.RELIABILITY_SIZE ?? 'full').trim().toLowerCase();
  if (v !== 'quick' && v !== 'full') {
    throw new Error(`RELIABILITY_SIZE: expected 'quick' or 'full', got ${JSON.stringify(v)}`);
  }
  return v;
}

/** The size of this run. */
export const SIZE: RunSize = sizeFromEnv();
/** The plan of this run. */
export const PLAN: Plan = PLANS[SIZE];
/** The stack plan of this run. */
export const STACK_PLAN: StackPlan = STACK_PLANS[SIZE];
/** The seed of this run, as given. */
export const SEED_TEXT: string = process.env.RELIABILITY_SEED ?? 'aps-reliability';
/** The seed of this run. */
export const SEED: number = normalizeSeed(SEED_TEXT);

/** A seeded random source for one scenario (each scenario its own, so they do not shift each other). */
export function scenarioRandom(scenario: string): {
  next(): number;
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
} {
  const prng = new Prng(normalizeSeed(`${SEED}:${scenario}`));
  const next = (): number => prng.next();
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => {
      const item = items[Math.floor(next() * items.length)];
      if (item === undefined) throw new Error('pick from an empty list');
      return item;
    },
  };
}

/** The emulator seed of a scenario (its fault draws). */
export function emulatorSeed(scenario: string): number {
  return normalizeSeed(`${SEED}:${scenario}:emulator`);
}
