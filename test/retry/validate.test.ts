import { strict as assert } from 'node:assert';
import { InputValidationError } from '../../src/validation';
import { validateRetryRules, type RetryRule } from '../../src/retry';
import { deepFreeze } from './helpers';

/** Asserts that validation fails on `field`, that the message names it, and matches `expected`. */
function expectInvalid(value: unknown, field: string, expected: RegExp, source = 'retryRules'): void {
  assert.throws(
    () => validateRetryRules(value, source),
    (err: unknown) => {
      assert.ok(err instanceof InputValidationError, `not an InputValidationError: ${String(err)}`);
      assert.equal(err.field, field);
      assert.ok(err.message.startsWith(`Invalid ${field}: expected `), err.message);
      assert.match(err.expected, expected);
      return true;
    },
  );
}

const ok = { errorEquals: ['A'], maxAttempts: 1 };
/** A list whose rule at index 2 is `rule`, after two good ones. */
const third = (rule: unknown): unknown[] => [
  { ...ok, errorEquals: ['X'] },
  { ...ok, errorEquals: ['Y'] },
  rule,
];

describe('retry rule validation', () => {
  it('fills in defaults, converts durations and names unnamed rules after their source', () => {
    const input = deepFreeze([
      { errorEquals: ['A'], maxAttempts: 3 },
      {
        name: 'slow',
        description: 'why',
        errorEquals: ['B.*', '@transient'],
        maxAttempts: 0,
        initialInterval: '1.5s',
        backoffCoefficient: 1.5,
        maximumInterval: '2m',
        jitter: 'none',
        maxElapsed: '1h',
      },
      { errorEquals: ['*'], maxAttempts: 2, initialInterval: 250.4, maximumInterval: 1000 },
    ]);
    assert.deepEqual(validateRetryRules(input, 'APS_RETRY_RULES'), [
      {
        name: 'APS_RETRY_RULES[0]',
        errorEquals: ['A'],
        maxAttempts: 3,
        initialIntervalMs: 1000,
        backoffCoefficient: 2,
        maximumIntervalMs: 100_000,
        jitter: 'full',
      },
      {
        name: 'slow',
        description: 'why',
        errorEquals: ['B.*', '@transient'],
        maxAttempts: 0,
        initialIntervalMs: 1500,
        backoffCoefficient: 1.5,
        maximumIntervalMs: 120_000,
        jitter: 'none',
        maxElapsedMs: 3_600_000,
      },
      {
        name: 'APS_RETRY_RULES[2]',
        errorEquals: ['*'],
        maxAttempts: 2,
        initialIntervalMs: 250,
        backoffCoefficient: 2,
        maximumIntervalMs: 1000,
        jitter: 'full',
      },
    ] satisfies RetryRule[]);
  });

  it('caps the default maximumInterval at 24h and accepts an empty list', () => {
    const [r] = validateRetryRules([{ errorEquals: ['A'], maxAttempts: 1, initialInterval: '1h' }]);
    assert.equal(r?.maximumIntervalMs, 24 * 3_600_000);
    assert.deepEqual(validateRetryRules([]), []);
  });

  it('returns fresh arrays, not the caller’s', () => {
    const errorEquals = ['A'];
    const [r] = validateRetryRules([{ errorEquals, maxAttempts: 1 }]);
    assert.notEqual(r?.errorEquals, errorEquals);
  });

  it('rejects a list that is not an array, or too long', () => {
    expectInvalid({ errorEquals: ['A'], maxAttempts: 1 }, 'retryRules', /JSON array of retry rules/);
    expectInvalid('[]', 'APS_RETRY_RULES', /JSON array/, 'APS_RETRY_RULES');
    expectInvalid(
      Array.from({ length: 101 }, (_, i) => ({ errorEquals: [`C${i}`], maxAttempts: 1 })),
      'retryRules',
      /at most 100 rules/,
    );
  });

  it('rejects a rule that is not an object', () => {
    for (const bad of [null, 'rule', 3, [ok]])
      expectInvalid(third(bad), 'retryRules[2]', /retry rule object/);
  });

  it('rejects unknown fields by name and suggests the intended one', () => {
    expectInvalid(third({ ...ok, maxAttempt: 3 }), 'retryRules[2].maxAttempt', /did you mean maxAttempts\?/);
    expectInvalid(
      third({ ...ok, name: 'slow-cluster', backoffcoefficient: 2 }),
      'retryRules[2] (name "slow-cluster").backoffcoefficient',
      /did you mean backoffCoefficient\?/,
    );
    expectInvalid(
      third({ ...ok, IntervalSeconds: 3 }),
      'retryRules[2].IntervalSeconds',
      /did you mean initialInterval/,
    );
    expectInvalid(
      third({ ...ok, maximumAttempts: 3 }),
      'retryRules[2].maximumAttempts',
      /maxAttempts \(which counts retries, not calls\)/,
    );
    expectInvalid(third({ ...ok, color: 'red' }), 'retryRules[2].color', /^one of the known fields [^(]*$/);
  });

  it('rejects bad names and duplicate names, including a clash with a default name', () => {
    for (const bad of ['', ' padded', 'tab\tname', 5, 'x'.repeat(101)]) {
      expectInvalid(third({ ...ok, name: bad }), 'retryRules[2].name', /rule name of 1 to 100 characters/);
    }
    expectInvalid(
      [
        { ...ok, name: 'dup' },
        { ...ok, name: 'dup', errorEquals: ['B'] },
      ],
      'retryRules[1].name',
      /retryRules\[0\] \(name "dup"\) is already named "dup"/,
    );
    expectInvalid(
      [
        { ...ok, name: 'retryRules[1]' },
        { ...ok, errorEquals: ['B'] },
      ],
      'retryRules[1].name',
      /already named "retryRules\[1\]"/,
    );
  });

  it('rejects a bad description', () => {
    expectInvalid(third({ ...ok, description: 7 }), 'retryRules[2].description', /text of at most 500/);
  });

  it('rejects a missing, empty or malformed errorEquals', () => {
    expectInvalid(third({ maxAttempts: 1 }), 'retryRules[2].errorEquals', /non-empty array of matchers/);
    expectInvalid(third({ ...ok, errorEquals: [] }), 'retryRules[2].errorEquals', /non-empty array/);
    expectInvalid(third({ ...ok, errorEquals: 'A' }), 'retryRules[2].errorEquals', /non-empty array/);
    expectInvalid(third({ ...ok, errorEquals: ['B', 7] }), 'retryRules[2].errorEquals[1]', /an error code/);
    expectInvalid(third({ ...ok, errorEquals: [''] }), 'retryRules[2].errorEquals[0]', /an error code/);
    expectInvalid(
      third({ ...ok, errorEquals: ['has space'] }),
      'retryRules[2].errorEquals[0]',
      /an error code/,
    );
    expectInvalid(
      third({ ...ok, name: 'cls', errorEquals: ['@Throttled'] }),
      'retryRules[2] (name "cls").errorEquals[0]',
      /known retry class: '@throttled', '@transient', '@permanent', '@unknown'/,
    );
    for (const w of ['Throttling*', '*.User', 'A.*.B', '.*']) {
      expectInvalid(third({ ...ok, errorEquals: [w] }), 'retryRules[2].errorEquals[0]', /trailing '\.\*'/);
    }
    expectInvalid(third({ ...ok, errorEquals: ['B', '*'] }), 'retryRules[2].errorEquals', /'\*' alone/);
    expectInvalid(
      third({ ...ok, errorEquals: Array.from({ length: 101 }, (_, i) => `C${i}`) }),
      'retryRules[2].errorEquals',
      /at most 100/,
    );
  });

  it('rejects matchers that an earlier matcher already catches (first match wins)', () => {
    expectInvalid(
      [
        { name: 'family', errorEquals: ['Throttling.*'], maxAttempts: 1 },
        { name: 'user', errorEquals: ['Throttling.User'], maxAttempts: 5 },
      ],
      'retryRules[1] (name "user").errorEquals[0]',
      /retryRules\[0\] \(name "family"\) matches everything "Throttling.User" does via "Throttling.\*".*more specific rule first/,
    );
    expectInvalid(
      [
        { errorEquals: ['@transient'], maxAttempts: 1 },
        { errorEquals: ['B', '@transient'], maxAttempts: 5 },
      ],
      'retryRules[1].errorEquals[1]',
      /retryRules\[0\] matches everything "@transient" does/,
    );
    expectInvalid(
      third({ ...ok, errorEquals: ['Z.*', 'Z.Q'] }),
      'retryRules[2].errorEquals[1]',
      /not already covered in this rule \(errorEquals\[0\] "Z.\*"/,
    );
    // The specific rule first is the right way round, and a class does not shadow a code.
    assert.equal(
      validateRetryRules([
        { errorEquals: ['Throttling.User'], maxAttempts: 5 },
        { errorEquals: ['Throttling.*'], maxAttempts: 1 },
        { errorEquals: ['@throttled'], maxAttempts: 1 },
        { errorEquals: ['ThrottlingX', 'Throttle'], maxAttempts: 1 },
      ]).length,
      4,
    );
  });

  it('rejects any rule after the catch-all *', () => {
    expectInvalid(
      [
        { name: 'all', errorEquals: ['*'], maxAttempts: 1 },
        { name: 'late', errorEquals: ['@permanent'], maxAttempts: 0 },
      ],
      'retryRules[1] (name "late").errorEquals[0]',
      /no rule after the catch-all '\*' of retryRules\[0\] \(name "all"\).*put '\*' in the last rule/,
    );
    expectInvalid(
      [
        { errorEquals: ['*'], maxAttempts: 1 },
        { errorEquals: ['*'], maxAttempts: 1 },
      ],
      'retryRules[1].errorEquals[0]',
      /catch-all/,
    );
  });

  it('rejects a bad maxAttempts', () => {
    for (const bad of [undefined, -1, 1.5, '3', NaN, 1_000_001, Infinity]) {
      const rule: Record<string, unknown> = { errorEquals: ['A'], maxAttempts: bad };
      expectInvalid(third(rule), 'retryRules[2].maxAttempts', /integer from 0 \(never retry\) to 1000000/);
    }
    assert.equal(
      validateRetryRules([{ errorEquals: ['A'], maxAttempts: 1_000_000 }])[0]?.maxAttempts,
      1_000_000,
    );
  });

  it('rejects bad durations with their bounds', () => {
    expectInvalid(third({ ...ok, initialInterval: 0 }), 'retryRules[2].initialInterval', /at least 1ms/);
    expectInvalid(third({ ...ok, initialInterval: '25h' }), 'retryRules[2].initialInterval', /at most 1d/);
    expectInvalid(
      third({ ...ok, initialInterval: 'soon' }),
      'retryRules[2].initialInterval',
      /duration such as/,
    );
    expectInvalid(
      third({ ...ok, name: 'slow-cluster', initialInterval: '10s', maximumInterval: '5s' }),
      'retryRules[2] (name "slow-cluster").maximumInterval',
      /at least initialInterval \(10s\)/,
    );
    expectInvalid(third({ ...ok, maximumInterval: '2d' }), 'retryRules[2].maximumInterval', /at most 1d/);
    expectInvalid(third({ ...ok, maxElapsed: 0 }), 'retryRules[2].maxElapsed', /at least 1ms/);
    expectInvalid(third({ ...ok, maxElapsed: '31d' }), 'retryRules[2].maxElapsed', /at most 30d/);
    expectInvalid(third({ ...ok, maxElapsed: true }), 'retryRules[2].maxElapsed', /duration such as/);
  });

  it('rejects a bad backoffCoefficient', () => {
    for (const bad of [0.5, 101, NaN, '2', null]) {
      expectInvalid(
        third({ ...ok, name: 'slow-cluster', backoffCoefficient: bad }),
        'retryRules[2] (name "slow-cluster").backoffCoefficient',
        /number from 1 \(constant delay\) to 100/,
      );
    }
  });

  it('rejects a bad jitter', () => {
    expectInvalid(third({ ...ok, jitter: 'equal' }), 'retryRules[2].jitter', /one of 'full', 'none'/);
  });
});
