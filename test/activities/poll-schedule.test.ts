import { strict as assert } from 'node:assert';
import { pollDelayMs } from '../../src/activities';
import { ADAPTIVE, readsWithin } from '../../bench/adaptive';
import { normalizePollInterval, normalizeRunInput } from '../../src/input';
import { InputValidationError } from '../../src/validation';
import { waitHeartbeatTimeoutMs } from '../../src/workflows/common';

describe('poll schedule: fixed and adaptive delays between reads', () => {
  it('a fixed interval is the same after every read', () => {
    assert.deepEqual(
      [1, 2, 10, 1000].map((n) => pollDelayMs(8000, undefined, n)),
      [8000, 8000, 8000, 8000],
    );
  });

  it('an adaptive interval grows by the coefficient per read up to the maximum', () => {
    const schedule = { initialMs: 5000, maxMs: 120_000, coefficient: 1.25 };
    const delays = Array.from({ length: 20 }, (_, i) => pollDelayMs(5000, schedule, i + 1));
    assert.deepEqual(delays.slice(0, 5), [5000, 6250, 7813, 9766, 12207]);
    // 5 s × 1.25^14 = 113.7 s, × 1.25^15 = 142.1 s → capped from the 16th read on.
    assert.equal(delays[14], 113687);
    assert.deepEqual(delays.slice(15), [120_000, 120_000, 120_000, 120_000, 120_000]);
    for (let i = 1; i < delays.length; i++) assert.ok(delays[i]! >= delays[i - 1]!, `never shrinks at ${i}`);
  });

  it('a coefficient of 1 keeps the initial delay', () => {
    const schedule = { initialMs: 2000, maxMs: 60_000, coefficient: 1 };
    assert.deepEqual(
      [1, 5, 50].map((n) => pollDelayMs(2000, schedule, n)),
      [2000, 2000, 2000],
    );
  });

  it('runApsJob accepts pollInterval as { initial, max, coefficient }, with defaults 5s, 2m, 1.25', () => {
    assert.deepEqual(normalizePollInterval({}), {
      pollIntervalMs: 5000,
      pollSchedule: { initialMs: 5000, maxMs: 120_000, coefficient: 1.25 },
    });
    const cfg = normalizeRunInput({
      regionId: 'cn-hangzhou',
      apsJobId: 'aps-1',
      pollInterval: { initial: '1s', max: '30s', coefficient: 2 },
    });
    assert.equal(cfg.pollIntervalMs, 1000);
    assert.deepEqual(cfg.pollSchedule, { initialMs: 1000, maxMs: 30_000, coefficient: 2 });
    assert.equal(normalizeRunInput({ regionId: 'cn-hangzhou', apsJobId: 'aps-1' }).pollSchedule, undefined);
  });

  it('runApsJob takes heartbeatTimeout from 10 s to 10 min, and derives it from the interval without it', () => {
    const base = { regionId: 'cn-hangzhou', apsJobId: 'aps-1' };
    assert.equal(normalizeRunInput({ ...base, heartbeatTimeout: '2m' }).heartbeatTimeoutMs, 120_000);
    assert.equal(normalizeRunInput(base).heartbeatTimeoutMs, undefined);
    // Without it: three times the longest delay between reads (at most 1 min of it), at least 30 s.
    assert.equal(waitHeartbeatTimeoutMs(1000), 30_000);
    assert.equal(waitHeartbeatTimeoutMs(30_000), 90_000);
    assert.equal(waitHeartbeatTimeoutMs(120_000), 180_000);
    assert.equal(waitHeartbeatTimeoutMs(1000, 10_000), 10_000);
    assert.throws(() => normalizeRunInput({ ...base, heartbeatTimeout: '9s' }), /heartbeatTimeout/);
    assert.throws(() => normalizeRunInput({ ...base, heartbeatTimeout: '11m' }), /heartbeatTimeout/);
  });

  it('counts the reads of a wait that never ends: the first one interval after the start', () => {
    // Fixed intervals: one read per interval.
    assert.equal(readsWithin(3_600_000, 30_000), 120);
    assert.equal(readsWithin(3_600_000, 5000), 720);
    // Adaptive: read n comes at initial + the sum of the delays after reads 1 … n − 1.
    const reads = readsWithin(3_600_000, ADAPTIVE.initialMs, ADAPTIVE);
    let at = ADAPTIVE.initialMs;
    for (let n = 1; n < reads; n++) at += pollDelayMs(0, ADAPTIVE, n);
    assert.ok(at <= 3_600_000, `read ${reads} at ${at} ms is within the hour`);
    assert.ok(at + pollDelayMs(0, ADAPTIVE, reads) > 3_600_000, 'the next read is past the hour');
    assert.ok(reads < 120 / 2, `adaptive ${reads} reads, under half of the fixed 30s`);
  });

  const bad: [string, unknown, string][] = [
    ['a maximum below the initial delay', { initial: '10s', max: '5s' }, 'pollInterval.max'],
    ['a coefficient below 1', { coefficient: 0.5 }, 'pollInterval.coefficient'],
    ['a coefficient that is not a number', { coefficient: '2' }, 'pollInterval.coefficient'],
    ['an initial delay under 1s', { initial: '100ms' }, 'pollInterval.initial'],
    ['an unknown field', { intial: '5s' }, 'pollInterval'],
  ];
  for (const [name, value, field] of bad) {
    it(`rejects ${name}, naming ${field}`, () => {
      assert.throws(
        () => normalizePollInterval(value),
        (err: unknown) => err instanceof InputValidationError && err.field.startsWith(field),
      );
    });
  }
});
