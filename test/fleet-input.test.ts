import { strict as assert } from 'node:assert';
import { parseSelectFlag } from '../src/cli';
import { normalizeFleetSelector, normalizeReconcileInput, selectorMatches } from '../src/input';
import { InputValidationError } from '../src/validation';

/** Asserts that `fn` throws an InputValidationError for `field` whose message matches `message`. */
function rejects(fn: () => unknown, field: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InputValidationError, `expected InputValidationError, got ${String(err)}`);
    assert.equal(err.field, field);
    assert.match(err.message, message);
    return true;
  });
}

describe('fleet input', () => {
  const base = { regionId: 'cn-hangzhou', selector: { namePrefix: 'etl-' } };

  it('accepts each selector form and applies the defaults', () => {
    const cfg = normalizeReconcileInput(base);
    assert.deepEqual(cfg.selector, { kind: 'namePrefix', namePrefix: 'etl-' });
    assert.equal(cfg.mode, 'report');
    assert.equal(cfg.endGone, false);
    assert.equal(cfg.maxAdoptionsPerRun, 25);
    assert.equal(cfg.activityTimeoutMs, 120_000);
    assert.deepEqual(normalizeFleetSelector({ jobIds: ['aps-a', 'aps-a', 'aps-b'] }), {
      kind: 'jobIds',
      jobIds: ['aps-a', 'aps-b'],
    });
    assert.deepEqual(normalizeFleetSelector({ namePattern: '^kafka-' }), {
      kind: 'namePattern',
      namePattern: '^kafka-',
    });
  });

  it('rejects an empty or ambiguous selector, naming it and the forms that do', () => {
    rejects(
      () => normalizeReconcileInput({ regionId: 'cn-hangzhou' }),
      'selector',
      /exactly one of \{ jobIds/,
    );
    rejects(() => normalizeFleetSelector({}), 'selector', /got an empty selector/);
    rejects(
      () => normalizeFleetSelector({ namePrefix: 'a', namePattern: 'b' }),
      'selector',
      /got fields namePrefix, namePattern/,
    );
    rejects(() => normalizeFleetSelector({ names: ['a'] }), 'selector', /--select ids:/);
    rejects(
      () => normalizeFleetSelector({ jobIds: [] }),
      'selector.jobIds',
      /a list of 1 to 1000 APS job IDs/,
    );
    rejects(() => normalizeFleetSelector({ jobIds: ['ok-1', 'bad id'] }), 'selector.jobIds[1]', /APS job ID/);
    rejects(() => normalizeFleetSelector({ namePrefix: '' }), 'selector.namePrefix', /non-empty name prefix/);
  });

  it('rejects a bad regular expression with the reason and the fix', () => {
    rejects(
      () => normalizeFleetSelector({ namePattern: 'etl-(' }),
      'selector.namePattern',
      /a valid JavaScript regular expression \(.+\); escape special characters .* or use namePrefix, got "etl-\("/,
    );
  });

  it('rejects an unknown mode, bad supervisor settings and unknown fields, naming each', () => {
    rejects(() => normalizeReconcileInput({ ...base, mode: 'fix' }), 'mode', /one of 'report', 'supervise'/);
    rejects(
      () => normalizeReconcileInput({ ...base, supervisor: { checkInterval: 'often' } }),
      'supervisor.checkInterval',
      /a duration/,
    );
    rejects(
      () => normalizeReconcileInput({ ...base, supervisor: { restartPolicy: { maxPerWindow: -1 } } }),
      'supervisor.restartPolicy.maxPerWindow',
      /an integer from 0 to 1000/,
    );
    rejects(
      () => normalizeReconcileInput({ ...base, supervisor: { apsJobId: 'aps-x' } }),
      'supervisor.apsJobId',
      /the reconciler sets it/,
    );
    rejects(
      () => normalizeReconcileInput({ ...base, maxAdoptionsPerRun: 0 }),
      'maxAdoptionsPerRun',
      /1 to 500/,
    );
    rejects(() => normalizeReconcileInput({ ...base, endGone: 'yes' }), 'endGone', /true or false/);
    rejects(() => normalizeReconcileInput({ ...base, selecter: {} }), 'selecter', /no such field/);
  });

  it('matches names by prefix or pattern, IDs exactly; a job without a name matches no name selector', () => {
    const job = { apsJobId: 'aps-1', apsJobName: 'etl-orders' };
    assert.equal(selectorMatches({ kind: 'namePrefix', namePrefix: 'etl-' }, job), true);
    assert.equal(selectorMatches({ kind: 'namePrefix', namePrefix: 'orders' }, job), false);
    assert.equal(selectorMatches({ kind: 'namePattern', namePattern: 'orders$' }, job), true);
    assert.equal(selectorMatches({ kind: 'namePattern', namePattern: '^orders' }, job), false);
    assert.equal(selectorMatches({ kind: 'jobIds', jobIds: ['aps-1'] }, job), true);
    assert.equal(selectorMatches({ kind: 'jobIds', jobIds: ['aps-10'] }, job), false);
    assert.equal(selectorMatches({ kind: 'namePattern', namePattern: '.*' }, { apsJobId: 'aps-2' }), false);
  });

  it('parses --select', () => {
    assert.deepEqual(parseSelectFlag('ids:aps-a, aps-b'), { jobIds: ['aps-a', 'aps-b'] });
    assert.deepEqual(parseSelectFlag('prefix:etl-'), { namePrefix: 'etl-' });
    assert.deepEqual(parseSelectFlag('pattern:^a:b$'), { namePattern: '^a:b$' });
    rejects(() => parseSelectFlag(undefined), '--select', /ids:<jobId>/);
    rejects(() => parseSelectFlag('etl-'), '--select', /prefix:<name prefix>/);
  });
});
