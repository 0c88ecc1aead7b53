import { strict as assert } from 'node:assert';
import { decideRetry, DEFAULT_RETRY_RULES, resolveRules, validateRetryRules } from '../../src/retry';
import { deepFreeze } from './helpers';

const T0 = 1_700_000_000_000;
const throttled = { code: 'Throttling.User', retryClass: 'throttled' as const };

describe('resolveRules', () => {
  it('without user rules is a copy of the defaults', () => {
    const rules = resolveRules();
    assert.deepEqual(rules, DEFAULT_RETRY_RULES);
    assert.notEqual(rules[0], DEFAULT_RETRY_RULES[0]);
    rules[0]?.errorEquals.push('Mutated');
    assert.ok(!DEFAULT_RETRY_RULES[0]?.errorEquals.includes('Mutated'));
  });

  it('puts workflow rules before worker rules before defaults: the first match wins', () => {
    const workflowRules = validateRetryRules([
      { name: 'wf', errorEquals: ['Throttling.User'], maxAttempts: 0 },
    ]);
    const workerRules = validateRetryRules(
      [{ name: 'wk', errorEquals: ['Throttling.*'], maxAttempts: 2 }],
      'APS_RETRY_RULES',
    );
    const rules = resolveRules({ workflowRules, workerRules });
    assert.deepEqual(
      rules.map((r) => r.name),
      ['wf', 'wk', ...DEFAULT_RETRY_RULES.map((r) => r.name)],
    );
    const decide = (code: string) =>
      decideRetry({ rules, error: { code, retryClass: 'throttled' }, nowMs: T0, random: () => 0.5 }).ruleName;
    assert.equal(decide('Throttling.User'), 'wf');
    assert.equal(decide('Throttling.Api'), 'wk');
    assert.equal(decide('QuotaExceeded'), 'throttling');
    // Without the workflow rule the worker rule decides; without both, the default.
    assert.equal(
      decideRetry({ rules: resolveRules({ workerRules }), error: throttled, nowMs: T0, random: () => 0.5 })
        .ruleName,
      'wk',
    );
    assert.equal(
      decideRetry({ rules: resolveRules({}), error: throttled, nowMs: T0, random: () => 0.5 }).ruleName,
      'throttling',
    );
  });

  it('prefixes a clashing name with its source; earlier lists keep theirs', () => {
    const workflowRules = deepFreeze(
      validateRetryRules([
        { name: 'throttling', errorEquals: ['Throttling.User'], maxAttempts: 1 },
        { name: 'worker:slow', errorEquals: ['C'], maxAttempts: 1 },
        { name: 'slow', errorEquals: ['B'], maxAttempts: 1 },
      ]),
    );
    const workerRules = deepFreeze(
      validateRetryRules(
        [
          { name: 'slow', errorEquals: ['D'], maxAttempts: 1 },
          { name: 'transient', errorEquals: ['E'], maxAttempts: 1 },
        ],
        'APS_RETRY_RULES',
      ),
    );
    const names = resolveRules({ workflowRules, workerRules }).map((r) => r.name);
    assert.deepEqual(names, [
      'throttling',
      'worker:slow',
      'slow',
      'worker:slow#2',
      'transient',
      'security-token',
      'db-instance-state',
      'default:throttling',
      'default:transient',
      'permanent',
      'unknown',
    ]);
    assert.equal(new Set(names).size, names.length);
    // The inputs keep their own names.
    assert.equal(workerRules[0]?.name, 'slow');
  });

  it('default names of different sources never clash', () => {
    const workflowRules = validateRetryRules([{ errorEquals: ['A'], maxAttempts: 1 }]);
    const workerRules = validateRetryRules([{ errorEquals: ['A'], maxAttempts: 1 }], 'APS_RETRY_RULES');
    assert.deepEqual(
      resolveRules({ workflowRules, workerRules, defaults: [] }).map((r) => r.name),
      ['retryRules[0]', 'APS_RETRY_RULES[0]'],
    );
  });

  it('keys counters by the final names, so a user rule and a default keep separate budgets', () => {
    const workerRules = validateRetryRules(
      [{ name: 'throttling', errorEquals: ['Throttling.User'], maxAttempts: 1, jitter: 'none' }],
      'APS_RETRY_RULES',
    );
    const rules = resolveRules({ workerRules });
    const user = decideRetry({ rules, error: throttled, nowMs: T0, random: () => 0.5 });
    const def = decideRetry({
      rules,
      error: { code: 'Throttling.Api', retryClass: 'throttled' },
      counters: user.counters,
      nowMs: T0,
      random: () => 0.5,
    });
    assert.equal(def.ruleName, 'default:throttling');
    assert.deepEqual(def.counters, {
      throttling: { retries: 1, firstFailureAt: T0 },
      'default:throttling': { retries: 1, firstFailureAt: T0 },
    });
    assert.equal(
      decideRetry({ rules, error: throttled, counters: def.counters, nowMs: T0 + 1, random: () => 0.5 })
        .stopReason,
      'max-attempts',
    );
  });
});
