import { strict as assert } from 'node:assert';
import {
  DEFAULT_RETRY_RULE_INPUTS,
  DEFAULT_RETRY_RULES,
  defaultRulesMarkdownTable,
  describeRules,
  findRule,
  rulesMarkdownTable,
  validateRetryRules,
  type RetryClass,
} from '../../src/retry';
import { seededRandom, simulate } from './helpers';

/**
 * The rows of aps-api.md's "Error codes" table: each documented code (and an example for each
 * wildcard row) with the class the table gives it. `special` marks rows whose behaviour is keyed on
 * the code itself, so it must hold whatever class a classifier gives them.
 */
const DOC_CODES: { code: string; retryClass: RetryClass; rule: string; special?: boolean }[] = [
  // throttled
  ...['Throttling', 'Throttling.User', 'Throttling.Api', 'Throttling.Some.New'].map((code) => ({
    code,
    retryClass: 'throttled' as const,
    rule: 'throttling',
    special: true,
  })),
  // transient
  ...[
    'ServiceUnavailable',
    'ADBConsoleAPIError',
    'ADBConsoleAPITimeout',
    'InternalError',
    'InternalServerError',
    'InternalFailure',
    'AcsServerTimeOut',
    'SignatureNonceUsed',
    // network errors, timeouts, non-JSON bodies and other 5xx, as the normalizer names them
    'ECONNREFUSED',
    'ECONNRESET',
    'ENOTFOUND',
    'ETIMEDOUT',
    'ReadTimeout',
    'ConnectTimeout',
    'NonJsonResponse',
    'HttpStatus502',
  ].map((code) => ({ code, retryClass: 'transient' as const, rule: 'transient' })),
  // cluster not ready: the doc gives it no plain class
  { code: 'IncorrectDBInstanceState', retryClass: 'transient', rule: 'db-instance-state', special: true },
  // permanent
  ...[
    'InvalidInput',
    'InvalidParameter',
    'InvalidParameter.ApsJobId',
    'InvalidParameterValue',
    'MissingParameter',
    'MissingParameter.RegionId',
    'InvalidAction',
    'ApiVersionForbidden',
    'InvalidDBClusterId.NotFound',
    'InvalidDBCluster.NotFound',
    'InvalidApi.NotFound',
    'InvalidAccessKeyId.NotFound',
    'InvalidAccessKeyId.Inactive',
    'SignatureDoesNotMatch',
    'IncompleteSignature',
    'Unauthorized',
    'Forbidden',
    'Forbidden.RAM',
    'Forbidden.NoPermission',
    'InvalidTimeStamp.Expired',
    'InvalidTimeStamp.Format',
    'ADBClassNotSupport',
  ].map((code) => ({ code, retryClass: 'permanent' as const, rule: 'permanent' })),
  // expired STS token and kin
  ...['InvalidSecurityToken.Expired', 'InvalidSecurityToken.Malformed', 'InvalidSecurityToken'].map(
    (code) => ({
      code,
      retryClass: 'permanent' as const,
      rule: 'security-token',
      special: true,
    }),
  ),
  // "Unknown codes default to transient with a small budget"
  { code: 'SomethingNobodyDocumented', retryClass: 'unknown', rule: 'unknown' },
];

const CLASSES: RetryClass[] = ['throttled', 'transient', 'permanent', 'unknown'];
const MINUTE = 60_000;

describe('default retry rules', () => {
  it('are the validated form of their inputs, named, and frozen', () => {
    assert.deepEqual(DEFAULT_RETRY_RULES, validateRetryRules(DEFAULT_RETRY_RULE_INPUTS, 'default'));
    assert.deepEqual(
      DEFAULT_RETRY_RULES.map((r) => r.name),
      ['security-token', 'db-instance-state', 'throttling', 'transient', 'permanent', 'unknown'],
    );
    assert.ok(Object.isFrozen(DEFAULT_RETRY_RULES));
    assert.ok(DEFAULT_RETRY_RULES.every((r) => Object.isFrozen(r) && Object.isFrozen(r.errorEquals)));
    assert.ok(DEFAULT_RETRY_RULES.every((r) => (r.description ?? '').length > 20));
  });

  it('give every documented code the rule its row asks for', () => {
    for (const { code, retryClass, rule } of DOC_CODES) {
      assert.equal(findRule(DEFAULT_RETRY_RULES, { code, retryClass })?.name, rule, code);
    }
  });

  it('key throttling, STS token and cluster-state codes on the code, whatever class they were given', () => {
    for (const { code, rule } of DOC_CODES.filter((c) => c.special)) {
      for (const retryClass of CLASSES) {
        assert.equal(
          findRule(DEFAULT_RETRY_RULES, { code, retryClass })?.name,
          rule,
          `${code} as ${retryClass}`,
        );
      }
    }
  });

  it('leave no error unmatched', () => {
    for (const retryClass of CLASSES) {
      assert.ok(findRule(DEFAULT_RETRY_RULES, { code: 'Zz.Unseen', retryClass }), retryClass);
    }
  });

  it('throttled: long growing jittered delays, ended by the 30-minute time budget, not the count', () => {
    for (const seed of [1, 2, 3]) {
      const sim = simulate(
        DEFAULT_RETRY_RULES,
        { code: 'Throttling.User', retryClass: 'throttled' },
        {
          random: seededRandom(seed),
        },
      );
      const first = sim.failureTimes[0] ?? 0;
      const last = sim.failureTimes.at(-1) ?? 0;
      assert.equal(sim.final.stopReason, 'max-elapsed');
      assert.ok(sim.granted.length >= 20, `only ${sim.granted.length} retries`);
      assert.ok(last - first >= 30 * MINUTE && last - first <= 30 * MINUTE + 200, `${last - first} ms`);
      assert.ok(sim.granted.every((d) => (d.delayMs ?? 0) <= 2 * MINUTE));
    }
    const slowest = simulate(
      DEFAULT_RETRY_RULES,
      { code: 'Throttling', retryClass: 'unknown' },
      {
        random: () => 0.999,
      },
    );
    assert.deepEqual(
      slowest.granted.slice(0, 8).map((d) => d.delayMs),
      [1998, 3996, 7992, 15_984, 31_968, 63_936, 119_880, 119_880],
    );
  });

  it('InvalidSecurityToken.*: exactly one retry after 2s', () => {
    const sim = simulate(DEFAULT_RETRY_RULES, {
      code: 'InvalidSecurityToken.Expired',
      retryClass: 'permanent',
    });
    assert.deepEqual(
      sim.granted.map((d) => d.delayMs),
      [2000],
    );
    assert.equal(sim.final.stopReason, 'max-attempts');
  });

  it('IncorrectDBInstanceState: 10 slow retries from 30s ×1.5 up to 5m, or fewer when an hour has passed', () => {
    const error = { code: 'IncorrectDBInstanceState', retryClass: 'transient' as const };
    const sim = simulate(DEFAULT_RETRY_RULES, error);
    assert.deepEqual(
      sim.granted.map((d) => d.delayMs),
      [30_000, 45_000, 67_500, 101_250, 151_875, 227_813, 300_000, 300_000, 300_000, 300_000],
    );
    assert.equal(sim.final.stopReason, 'max-attempts');
    // Calls that each hang for 5 minutes before failing spend the hour first.
    const slow = simulate(DEFAULT_RETRY_RULES, error, { callMs: 5 * MINUTE });
    assert.equal(slow.final.stopReason, 'max-elapsed');
    assert.ok(slow.granted.length < 10);
  });

  it('transient: 8 retries, 1s ×2 up to 1m with full jitter', () => {
    const sim = simulate(
      DEFAULT_RETRY_RULES,
      { code: 'ECONNRESET', retryClass: 'transient' },
      { random: () => 0.999 },
    );
    assert.deepEqual(
      sim.granted.map((d) => d.delayMs),
      [999, 1998, 3996, 7992, 15_984, 31_968, 59_940, 59_940],
    );
    assert.equal(sim.final.stopReason, 'max-attempts');
    assert.equal(sim.final.ruleName, 'transient');
  });

  it('permanent: never retried', () => {
    for (const { code, retryClass } of DOC_CODES.filter((c) => c.rule === 'permanent')) {
      const sim = simulate(DEFAULT_RETRY_RULES, { code, retryClass });
      assert.equal(sim.granted.length, 0, code);
      assert.equal(sim.final.stopReason, 'no-retries', code);
    }
  });

  it('unknown: 3 retries, 2s ×2', () => {
    const sim = simulate(
      DEFAULT_RETRY_RULES,
      { code: 'Brand.New', retryClass: 'unknown' },
      { random: () => 0.999 },
    );
    assert.deepEqual(
      sim.granted.map((d) => d.delayMs),
      [1998, 3996, 7992],
    );
    assert.equal(sim.final.stopReason, 'max-attempts');
  });

  describe('documentation', () => {
    it('describes each rule on one line, in matching order', () => {
      assert.deepEqual(describeRules(DEFAULT_RETRY_RULES), [
        'security-token: InvalidSecurityToken.* → up to 1 retry, 2s, no jitter',
        'db-instance-state: IncorrectDBInstanceState → up to 10 retries, 30s ×1.5 up to 5m, no jitter, within 1h of the first failure',
        'throttling: Throttling.*, @throttled → up to 10000 retries, 2s ×2 up to 2m, full jitter, within 30m of the first failure',
        'transient: @transient → up to 8 retries, 1s ×2 up to 1m, full jitter',
        'permanent: @permanent → never retried',
        'unknown: @unknown → up to 3 retries, 2s ×2 up to 30s, full jitter',
      ]);
    });

    it('renders the defaults as a markdown table with one row per rule', () => {
      const lines = defaultRulesMarkdownTable().split('\n');
      assert.equal(lines[0], '| # | rule | matches | retries | delay | jitter | time budget | why |');
      assert.equal(lines.length, 2 + DEFAULT_RETRY_RULES.length);
      assert.ok(
        lines[4]?.startsWith(
          '| 3 | `throttling` | `Throttling.*`, `@throttled` | 10000 | 2s ×2 up to 2m | full | 30m | ',
        ),
        lines[4],
      );
      assert.ok(
        lines[6]?.startsWith('| 5 | `permanent` | `@permanent` | 0 (never) | – | – | – | '),
        lines[6],
      );
      // Every row has exactly the header's 9 unescaped pipes.
      for (const line of lines) assert.equal(line.replace(/\\\|/g, '').split('|').length - 1, 9, line);
    });

    it('escapes pipes and newlines inside cells', () => {
      const rules = validateRetryRules([
        { name: 'a|b', description: 'x | y\nz', errorEquals: ['A'], maxAttempts: 1 },
      ]);
      const row = rulesMarkdownTable(rules).split('\n')[2] ?? '';
      assert.ok(row.includes('`a\\|b`'), row);
      assert.ok(row.includes('x \\| y z'), row);
    });
  });
});
