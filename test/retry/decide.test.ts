import { strict as assert } from 'node:assert';
import {
  backoffDelayMs,
  decideRetry,
  JITTER_FLOOR_MS,
  parseRuleCounters,
  retryDelayMs,
  validateRetryRules,
  type RetryableError,
  type RetryDecision,
  type RetryRule,
  type RuleCounters,
} from '../../src/retry';
import { deepFreeze, jsonRoundTrip } from './helpers';

const T0 = 1_700_000_000_000;
const never = (): number => {
  throw new Error('random must not be called here');
};
const A: RetryableError = { code: 'A', retryClass: 'transient' };
const B: RetryableError = { code: 'B', retryClass: 'transient' };

function rule(fields: Record<string, unknown>): RetryRule {
  const [r] = validateRetryRules([{ name: 'r', errorEquals: ['A'], maxAttempts: 10, ...fields }]);
  assert.ok(r);
  return r;
}

describe('retry decision', () => {
  describe('delays', () => {
    it('grow by the coefficient and stop at the cap (jitter none)', () => {
      const r = rule({ initialInterval: 100, backoffCoefficient: 3, maximumInterval: 2000, jitter: 'none' });
      assert.deepEqual(
        [0, 1, 2, 3, 4, 50].map((n) => retryDelayMs(r, n, never)),
        [100, 300, 900, 2000, 2000, 2000],
      );
    });

    it('stay constant with coefficient 1 and never overflow to NaN or Infinity', () => {
      assert.equal(backoffDelayMs(rule({ initialInterval: '5s', backoffCoefficient: 1 }), 999), 5000);
      const steep = rule({ initialInterval: '1s', backoffCoefficient: 100, maximumInterval: '1h' });
      assert.equal(backoffDelayMs(steep, 1_000_000), 3_600_000);
    });

    it('are rounded to whole milliseconds', () => {
      const r = rule({
        initialInterval: '30s',
        backoffCoefficient: 1.5,
        maximumInterval: '5m',
        jitter: 'none',
      });
      assert.deepEqual(
        [0, 1, 2, 3, 4, 5, 6].map((n) => backoffDelayMs(r, n)),
        [30_000, 45_000, 67_500, 101_250, 151_875, 227_813, 300_000],
      );
    });

    it('with full jitter lie between the floor and the computed delay', () => {
      const r = rule({
        initialInterval: '1s',
        backoffCoefficient: 2,
        maximumInterval: '10s',
        jitter: 'full',
      });
      assert.equal(
        retryDelayMs(r, 0, () => 0),
        JITTER_FLOOR_MS,
      );
      assert.equal(
        retryDelayMs(r, 0, () => 0.5),
        500,
      );
      assert.equal(
        retryDelayMs(r, 0, () => 0.999),
        999,
      );
      assert.equal(
        retryDelayMs(r, 3, () => 0.5),
        4000,
      );
      assert.equal(
        retryDelayMs(r, 9, () => 0.25),
        2500,
      );
      assert.equal(
        retryDelayMs(r, 9, () => 0.999),
        9990,
      );
    });

    it('with full jitter never exceed a computed delay smaller than the floor, nor trust a broken random', () => {
      const tiny = rule({ initialInterval: 40, maximumInterval: 40, jitter: 'full' });
      assert.equal(
        retryDelayMs(tiny, 0, () => 0),
        40,
      );
      const r = rule({ initialInterval: '1s', jitter: 'full' });
      assert.equal(
        retryDelayMs(r, 0, () => NaN),
        1000,
      );
      assert.equal(
        retryDelayMs(r, 0, () => 7),
        1000,
      );
      assert.equal(
        retryDelayMs(r, 0, () => -1),
        JITTER_FLOOR_MS,
      );
    });
  });

  describe('budgets', () => {
    it('a rule with maxAttempts 3 grants exactly 3 retries, other rules interleaved, counters through JSON', () => {
      const rules = deepFreeze(
        validateRetryRules([
          { name: 'a', errorEquals: ['A'], maxAttempts: 3, initialInterval: '1s', jitter: 'none' },
          { name: 'b', errorEquals: ['B'], maxAttempts: 100, initialInterval: '1s', jitter: 'none' },
        ]),
      );
      const sequence = [A, B, B, A, B, A, B, B, A, B, A, B];
      let counters: RuleCounters = {};
      let now = T0;
      const outcome: string[] = [];
      for (const error of sequence) {
        const input = deepFreeze(jsonRoundTrip(counters));
        const d = decideRetry({ rules, error, counters: input, nowMs: now, random: never });
        outcome.push(`${error.code}:${d.retry ? 'retry' : d.stopReason}`);
        counters = d.counters;
        now += 5_000;
      }
      assert.deepEqual(outcome, [
        'A:retry',
        'B:retry',
        'B:retry',
        'A:retry',
        'B:retry',
        'A:retry',
        'B:retry',
        'B:retry',
        'A:max-attempts',
        'B:retry',
        'A:max-attempts',
        'B:retry',
      ]);
      assert.deepEqual(counters, {
        a: { retries: 3, firstFailureAt: T0 },
        b: { retries: 7, firstFailureAt: T0 + 5_000 },
      });
    });

    it('reports the use of the budget in the reason and the stop reason', () => {
      const rules = [rule({ maxAttempts: 1, jitter: 'none' })];
      const first = decideRetry({ rules, error: A, nowMs: T0, random: never });
      assert.equal(first.retry, true);
      assert.equal(first.stopReason, undefined);
      assert.match(first.reason, /rule r matched A: retry 1 of 1 in 1s/);
      const second = decideRetry({
        rules,
        error: A,
        counters: first.counters,
        nowMs: T0 + 2000,
        random: never,
      });
      assert.equal(second.retry, false);
      assert.equal(second.delayMs, undefined);
      assert.equal(second.ruleName, 'r');
      assert.equal(second.stopReason, 'max-attempts');
      assert.match(second.reason, /rule r matched A: 1 of 1 retries used/);
      assert.deepEqual(second.counters, first.counters);
    });

    it('maxAttempts 0 never retries, leaves the counters alone and draws no random number', () => {
      const rules = [rule({ maxAttempts: 0 })];
      const counters = deepFreeze({ other: { retries: 2, firstFailureAt: T0 } });
      const d = decideRetry({ rules, error: A, counters, nowMs: T0, random: never });
      assert.deepEqual(d, {
        retry: false,
        ruleName: 'r',
        reason: 'rule r matched A: the rule allows no retries',
        counters,
        stopReason: 'no-retries',
      } satisfies RetryDecision);
      assert.notEqual(d.counters, counters);
    });

    it('never retries an error no rule matches, and says so', () => {
      const rules = [rule({})];
      const d = decideRetry({
        rules,
        error: { code: 'Zzz', retryClass: 'permanent' },
        nowMs: T0,
        random: never,
      });
      assert.equal(d.retry, false);
      assert.equal(d.ruleName, undefined);
      assert.equal(d.stopReason, 'no-rule');
      assert.match(d.reason, /no retry rule matches Zzz \(class permanent\)/);
      assert.equal(decideRetry({ rules: [], error: A, nowMs: T0, random: never }).stopReason, 'no-rule');
    });

    it('maxElapsed: grants while now - first < budget, clamps the delay to its end, then stops exactly', () => {
      const rules = [
        rule({
          maxAttempts: 1000,
          initialInterval: '4s',
          backoffCoefficient: 1,
          jitter: 'none',
          maxElapsed: '10s',
        }),
      ];
      const at = (nowMs: number, counters?: RuleCounters): RetryDecision =>
        decideRetry({ rules, error: A, counters: counters && jsonRoundTrip(counters), nowMs, random: never });

      const d1 = at(T0);
      assert.equal(d1.delayMs, 4000);
      assert.deepEqual(d1.counters, { r: { retries: 1, firstFailureAt: T0 } });
      const d2 = at(T0 + 4100, d1.counters);
      assert.equal(d2.delayMs, 4000);
      const d3 = at(T0 + 8200, d2.counters);
      assert.equal(d3.retry, true);
      assert.equal(d3.delayMs, 1800, 'clamped so the retry runs at firstFailureAt + maxElapsed');
      assert.match(d3.reason, /clamped to the end of its 10s time budget/);
      // The retry at the very end of the budget fails: final.
      const d4 = at(T0 + 10_000, d3.counters);
      assert.equal(d4.retry, false);
      assert.equal(d4.stopReason, 'max-elapsed');
      assert.match(d4.reason, /time budget of 10s spent/);
      assert.deepEqual(d4.counters, d3.counters);
      // One millisecond earlier it is still granted, with a 1 ms delay.
      const d5 = at(T0 + 9_999, d3.counters);
      assert.equal(d5.retry, true);
      assert.equal(d5.delayMs, 1);
    });

    it('maxElapsed counts from the rule’s own first failure, not from other rules’ failures', () => {
      const rules = validateRetryRules([
        { name: 'a', errorEquals: ['A'], maxAttempts: 100, jitter: 'none', maxElapsed: '1m' },
        { name: 'b', errorEquals: ['B'], maxAttempts: 100, jitter: 'none' },
      ]);
      const b = decideRetry({ rules, error: B, nowMs: T0, random: never });
      const a = decideRetry({ rules, error: A, counters: b.counters, nowMs: T0 + 3_600_000, random: never });
      assert.equal(a.retry, true);
      assert.equal(a.counters.a?.firstFailureAt, T0 + 3_600_000);
    });

    it('a clock behind the recorded first failure still grants, with an unclamped delay', () => {
      const rules = [rule({ initialInterval: '2s', jitter: 'none', maxElapsed: '5s' })];
      const counters = { r: { retries: 1, firstFailureAt: T0 } };
      const d = decideRetry({ rules, error: A, counters, nowMs: T0 - 60_000, random: never });
      assert.equal(d.retry, true);
      assert.equal(d.delayMs, 4000);
    });

    it('stops at whichever of maxAttempts and maxElapsed runs out first', () => {
      const rules = [rule({ maxAttempts: 2, initialInterval: '1s', jitter: 'none', maxElapsed: '1h' })];
      let c = decideRetry({ rules, error: A, nowMs: T0, random: never }).counters;
      c = decideRetry({ rules, error: A, counters: c, nowMs: T0 + 1, random: never }).counters;
      assert.equal(
        decideRetry({ rules, error: A, counters: c, nowMs: T0 + 2, random: never }).stopReason,
        'max-attempts',
      );
    });
  });

  describe('counters', () => {
    it('are returned as a new object; other entries, even of unknown rules, are carried unchanged', () => {
      const rules = [rule({ jitter: 'none' })];
      const input = deepFreeze({
        gone: { retries: 4, firstFailureAt: 1 },
        r: { retries: 2, firstFailureAt: T0 },
      });
      const d = decideRetry({ rules, error: A, counters: input, nowMs: T0 + 10, random: never });
      assert.deepEqual(d.counters, {
        gone: { retries: 4, firstFailureAt: 1 },
        r: { retries: 3, firstFailureAt: T0 },
      });
      assert.deepEqual(input.r, { retries: 2, firstFailureAt: T0 });
    });

    it('draw exactly one random number per granted full-jitter retry', () => {
      const rules = [rule({ maxAttempts: 2, jitter: 'full' })];
      let calls = 0;
      const random = (): number => {
        calls++;
        return 0.5;
      };
      let c: RuleCounters = {};
      for (let i = 0; i < 4; i++)
        c = decideRetry({ rules, error: A, counters: c, nowMs: T0 + i, random }).counters;
      assert.equal(calls, 2);
    });

    it('work for rule names that are Object.prototype keys, through JSON', () => {
      for (const name of ['constructor', '__proto__', 'toString']) {
        const rules = validateRetryRules([{ name, errorEquals: ['A'], maxAttempts: 2, jitter: 'none' }]);
        const d1 = decideRetry({ rules, error: A, nowMs: T0, random: never });
        assert.equal(d1.retry, true, name);
        assert.deepEqual(Object.keys(d1.counters), [name]);
        const d2 = decideRetry({
          rules,
          error: A,
          counters: jsonRoundTrip(d1.counters),
          nowMs: T0,
          random: never,
        });
        assert.equal(d2.retry, true, name);
        const d3 = decideRetry({
          rules,
          error: A,
          counters: jsonRoundTrip(d2.counters),
          nowMs: T0,
          random: never,
        });
        assert.equal(d3.stopReason, 'max-attempts', name);
        assert.equal(Object.getPrototypeOf(d3.counters), Object.prototype);
      }
    });

    it('treat a malformed entry as absent, and parseRuleCounters drops it', () => {
      const rules = [rule({ maxAttempts: 1, jitter: 'none' })];
      const bad = { r: { retries: 'many', firstFailureAt: T0 } } as unknown as RuleCounters;
      assert.equal(decideRetry({ rules, error: A, counters: bad, nowMs: T0, random: never }).retry, true);
      assert.deepEqual(
        parseRuleCounters({
          ok: { retries: 1, firstFailureAt: T0, extra: true },
          neg: { retries: -1, firstFailureAt: T0 },
          frac: { retries: 1.5, firstFailureAt: T0 },
          nan: { retries: 1, firstFailureAt: null },
          str: 'x',
        }),
        { ok: { retries: 1, firstFailureAt: T0 } },
      );
      for (const junk of [undefined, null, 5, 'x', [{ retries: 1, firstFailureAt: 1 }]]) {
        assert.deepEqual(parseRuleCounters(junk), {});
      }
      const proto = parseRuleCounters(JSON.parse('{"__proto__": {"retries": 1, "firstFailureAt": 2}}'));
      assert.deepEqual(Object.keys(proto), ['__proto__']);
      assert.equal(Object.getPrototypeOf(proto), Object.prototype);
    });
  });

  it('rejects a clock that is not a number of milliseconds', () => {
    assert.throws(() => decideRetry({ rules: [rule({})], error: A, nowMs: NaN, random: never }), TypeError);
  });
});
