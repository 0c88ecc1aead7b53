/**
 * Helpers shared by the retry rule tests: a seeded PRNG, a deep freeze, a JSON round trip (as
 * counters travel in heartbeat details) and a simulator that feeds one error to decideRetry until
 * the answer is final.
 */
import { decideRetry } from '../../src/retry';
import type { RetryableError, RetryDecision, RetryRule, RuleCounters } from '../../src/retry';

/** mulberry32: a small seeded PRNG, so a failing property run can be reproduced from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Freezes a value and everything in it, so that any mutation by the code under test throws. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** What a heartbeat does to counters. */
export function jsonRoundTrip<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** The outcome of retrying one error until the rules say stop. */
export interface Simulation {
  /** Granted decisions, in order. */
  granted: RetryDecision[];
  /** The final decision. */
  final: RetryDecision;
  /** Epoch ms of each failure. */
  failureTimes: number[];
}

/** Feeds the same error to decideRetry until it is final; each call fails `callMs` after it starts. */
export function simulate(
  rules: readonly RetryRule[],
  error: RetryableError,
  opts: { random?: () => number; callMs?: number; startMs?: number; limit?: number } = {},
): Simulation {
  const random = opts.random ?? (() => 0.5);
  const callMs = opts.callMs ?? 200;
  let now = (opts.startMs ?? 1_700_000_000_000) + callMs;
  let counters: RuleCounters = {};
  const granted: RetryDecision[] = [];
  const failureTimes: number[] = [];
  for (let i = 0; i < (opts.limit ?? 100_000); i++) {
    failureTimes.push(now);
    const d = decideRetry({ rules, error, counters: jsonRoundTrip(counters), nowMs: now, random });
    if (!d.retry) return { granted, final: d, failureTimes };
    granted.push(d);
    counters = d.counters;
    now += (d.delayMs ?? 0) + callMs;
  }
  throw new Error(`no final decision after ${opts.limit ?? 100_000} failures`);
}
