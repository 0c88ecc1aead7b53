import { strict as assert } from 'node:assert';
import { InputValidationError } from '../../src/validation';
import {
  decideRetry,
  JITTER_FLOOR_MS,
  validateRetryRules,
  type RetryableError,
  type RetryClass,
  type RetryRule,
  type RetryRuleInput,
  type RuleCounters,
} from '../../src/retry';
import { deepFreeze, jsonRoundTrip, seededRandom } from './helpers';

const CODES = ['A', 'A.x', 'A.y', 'A.x.z', 'AB', 'B', 'B.q', 'C', 'D'];
const MATCHERS = [
  ...CODES.slice(0, -1),
  'A.*',
  'A.x.*',
  'B.*',
  '@throttled',
  '@transient',
  '@permanent',
  '@unknown',
  '*',
];
const CLASSES: RetryClass[] = ['throttled', 'transient', 'permanent', 'unknown'];

// An independent reading of the matcher semantics, to check the implementation against.
function refMatches(m: string, e: RetryableError): boolean {
  if (m === '*') return true;
  if (m.startsWith('@')) return e.retryClass === m.slice(1);
  if (m.endsWith('.*')) {
    const stem = m.slice(0, -2);
    return e.code === stem || e.code.startsWith(`${stem}.`);
  }
  return e.code === m;
}

function pick<T>(rnd: () => number, items: readonly T[]): T {
  const item = items[Math.floor(rnd() * items.length)];
  if (item === undefined) throw new Error('empty');
  return item;
}

function randomRules(rnd: () => number): RetryRuleInput[] {
  return Array.from({ length: 1 + Math.floor(rnd() * 5) }, () => {
    const initial = 1 + Math.floor(rnd() * 5000);
    const rule: RetryRuleInput = {
      errorEquals: [...new Set(Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => pick(rnd, MATCHERS)))],
      maxAttempts: pick(rnd, [0, 1, 2, 3, 5, 10, 50]),
      initialInterval: initial,
      backoffCoefficient: pick(rnd, [1, 1.5, 2, 3]),
      maximumInterval: initial * pick(rnd, [1, 2, 10, 100]),
      jitter: pick(rnd, ['full', 'none'] as const),
    };
    if (rnd() < 0.5) rule.maxElapsed = 1 + Math.floor(rnd() * 60_000);
    return rule;
  });
}

describe('retry decision, property-based (seeded)', () => {
  it('over many random rule lists and failure sequences, budgets are exact and delays bounded', () => {
    let lists = 0;
    let granted = 0;
    const stops = new Set<string>();
    for (let seed = 1; seed <= 600; seed++) {
      const rnd = seededRandom(seed);
      let rules: RetryRule[];
      try {
        rules = deepFreeze(validateRetryRules(randomRules(rnd)));
      } catch (err) {
        // Random lists often shadow themselves (a later matcher caught by an earlier one).
        assert.ok(err instanceof InputValidationError, String(err));
        continue;
      }
      lists++;
      const ref = new Map<string, { retries: number; first: number }>();
      let counters: RuleCounters = {};
      let now = 1_700_000_000_000;
      for (let step = 0; step < 80; step++) {
        const ctx = `seed ${seed} step ${step}`;
        const error: RetryableError = { code: pick(rnd, CODES), retryClass: pick(rnd, CLASSES) };
        const input = deepFreeze(jsonRoundTrip(counters));
        let drawn: number | undefined;
        const d = decideRetry({
          rules,
          error,
          counters: input,
          nowMs: now,
          random: () => {
            assert.equal(drawn, undefined, `${ctx}: random drawn twice`);
            drawn = rnd();
            return drawn;
          },
        });
        const rule = rules.find((r) => r.errorEquals.some((m) => refMatches(m, error)));
        assert.equal(d.ruleName, rule?.name, ctx);
        const state = rule && ref.get(rule.name);
        let expectedStop: string | undefined;
        if (!rule) expectedStop = 'no-rule';
        else if (rule.maxAttempts === 0) expectedStop = 'no-retries';
        else if ((state?.retries ?? 0) >= rule.maxAttempts) expectedStop = 'max-attempts';
        else if (rule.maxElapsedMs !== undefined && state && now - state.first >= rule.maxElapsedMs)
          expectedStop = 'max-elapsed';
        assert.equal(d.stopReason, expectedStop, `${ctx}: ${d.reason}`);
        assert.equal(d.retry, expectedStop === undefined, ctx);

        if (d.retry && rule) {
          granted++;
          const n = state?.retries ?? 0;
          const first = state?.first ?? now;
          const base = Math.max(
            1,
            Math.round(
              Math.min(rule.maximumIntervalMs, rule.initialIntervalMs * rule.backoffCoefficient ** n),
            ),
          );
          const delay = d.delayMs ?? -1;
          assert.ok(
            Number.isInteger(delay) && delay >= 1 && delay <= base,
            `${ctx}: delay ${delay} of ${base}`,
          );
          assert.equal(drawn !== undefined, rule.jitter === 'full', `${ctx}: random drawn iff full jitter`);
          const deadline = rule.maxElapsedMs === undefined ? Infinity : first + rule.maxElapsedMs;
          assert.ok(now + delay <= deadline, `${ctx}: retry after the time budget ends`);
          const clamped = now + base > deadline;
          if (!clamped && rule.jitter === 'none') assert.equal(delay, base, ctx);
          if (!clamped && rule.jitter === 'full') {
            assert.ok(delay >= Math.min(JITTER_FLOOR_MS, base), `${ctx}: below the jitter floor`);
            assert.ok(
              Math.abs(delay - Math.max(Math.min(JITTER_FLOOR_MS, base), (drawn ?? 0) * base)) <= 0.5,
              ctx,
            );
          }
          ref.set(rule.name, { retries: n + 1, first });
        } else {
          assert.equal(drawn, undefined, `${ctx}: random drawn for a final decision`);
          assert.deepEqual(d.counters, input, `${ctx}: counters changed by a final decision`);
          stops.add(d.stopReason ?? '');
        }
        // The counters equal the reference model's, entry by entry.
        assert.deepEqual(
          d.counters,
          Object.fromEntries(
            [...ref].map(([name, s]) => [name, { retries: s.retries, firstFailureAt: s.first }]),
          ),
          ctx,
        );
        counters = d.counters;
        now += pick(rnd, [0, 1, 50, 500, 5_000, 20_000]);
      }
    }
    // The generator must actually exercise the interesting paths, or the test proves little.
    assert.ok(lists >= 150, `only ${lists} valid rule lists`);
    assert.ok(granted >= 1_000, `only ${granted} retries granted`);
    assert.deepEqual([...stops].sort(), ['max-attempts', 'max-elapsed', 'no-retries', 'no-rule']);
  });
});
