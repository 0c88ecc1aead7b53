import { strict as assert } from 'node:assert';
import {
  findRule,
  matcherCovers,
  matcherMatches,
  parseMatcher,
  validateRetryRules,
  type RetryableError,
  type RetryClass,
} from '../../src/retry';

const err = (code: string, retryClass: RetryClass = 'unknown'): RetryableError => ({ code, retryClass });

describe('retry matchers', () => {
  it('parses each matcher form and rejects malformed ones', () => {
    assert.deepEqual(parseMatcher('*'), { kind: 'all' });
    assert.deepEqual(parseMatcher('@throttled'), { kind: 'class', retryClass: 'throttled' });
    assert.deepEqual(parseMatcher('Throttling.*'), { kind: 'prefix', stem: 'Throttling' });
    assert.deepEqual(parseMatcher('Forbidden.RAM.*'), { kind: 'prefix', stem: 'Forbidden.RAM' });
    assert.deepEqual(parseMatcher('InvalidDBClusterId.NotFound'), {
      kind: 'exact',
      code: 'InvalidDBClusterId.NotFound',
    });
    for (const bad of [
      '',
      '@Throttled',
      '@retryable',
      'Thr*',
      '*.*',
      '.*',
      'A..*',
      'A.',
      '.A',
      'a b',
      'A*B',
      '**',
    ]) {
      assert.equal(parseMatcher(bad), undefined, `${JSON.stringify(bad)} should not parse`);
    }
  });

  it('matches exact codes case-sensitively', () => {
    assert.equal(matcherMatches('Throttling.User', err('Throttling.User')), true);
    assert.equal(matcherMatches('Throttling.User', err('throttling.user')), false);
    assert.equal(matcherMatches('Throttling.User', err('Throttling.User.Extra')), false);
    assert.equal(matcherMatches('Throttling', err('Throttling.User')), false);
  });

  it('matches a prefix wildcard against the bare stem and every dotted extension, nothing else', () => {
    assert.equal(matcherMatches('Throttling.*', err('Throttling')), true);
    assert.equal(matcherMatches('Throttling.*', err('Throttling.User')), true);
    assert.equal(matcherMatches('Throttling.*', err('Throttling.Api.Burst')), true);
    assert.equal(matcherMatches('Throttling.*', err('ThrottlingX')), false);
    assert.equal(matcherMatches('Throttling.*', err('throttling.User')), false);
    assert.equal(matcherMatches('Throttling.*', err('X.Throttling.User')), false);
  });

  it('matches a class against the error’s retry class, not its code', () => {
    assert.equal(matcherMatches('@transient', err('Anything', 'transient')), true);
    assert.equal(matcherMatches('@transient', err('Anything', 'permanent')), false);
    assert.equal(matcherMatches('@permanent', err('@permanent', 'transient')), false);
  });

  it('matches * against everything and a malformed matcher against nothing', () => {
    for (const c of ['throttled', 'transient', 'permanent', 'unknown'] as const) {
      assert.equal(matcherMatches('*', err('X', c)), true);
      assert.equal(matcherMatches('@bogus', err('@bogus', c)), false);
    }
  });

  it('picks the first matching rule in list order', () => {
    const rules = validateRetryRules([
      { name: 'user', errorEquals: ['Throttling.User'], maxAttempts: 1 },
      { name: 'family', errorEquals: ['Throttling.*'], maxAttempts: 2 },
      { name: 'class', errorEquals: ['@throttled'], maxAttempts: 3 },
      { name: 'rest', errorEquals: ['*'], maxAttempts: 4 },
    ]);
    assert.equal(findRule(rules, err('Throttling.User', 'throttled'))?.name, 'user');
    assert.equal(findRule(rules, err('Throttling.Api', 'throttled'))?.name, 'family');
    assert.equal(findRule(rules, err('Throttling', 'unknown'))?.name, 'family');
    assert.equal(findRule(rules, err('QuotaExceeded', 'throttled'))?.name, 'class');
    assert.equal(findRule(rules, err('InvalidInput', 'permanent'))?.name, 'rest');
    assert.equal(findRule(rules.slice(0, 3), err('InvalidInput', 'permanent')), undefined);
  });

  it('knows which matcher text covers which', () => {
    assert.equal(matcherCovers('*', '@permanent'), true);
    assert.equal(matcherCovers('Throttling.*', 'Throttling'), true);
    assert.equal(matcherCovers('Throttling.*', 'Throttling.User'), true);
    assert.equal(matcherCovers('Throttling.*', 'Throttling.User.*'), true);
    assert.equal(matcherCovers('Throttling.User.*', 'Throttling.*'), false);
    assert.equal(matcherCovers('Throttling', 'Throttling.*'), false);
    assert.equal(matcherCovers('Throttling.*', 'ThrottlingX'), false);
    assert.equal(matcherCovers('@throttled', 'Throttling'), false);
    assert.equal(matcherCovers('@throttled', '@throttled'), true);
    assert.equal(matcherCovers('Throttling.*', '*'), false);
  });
});
