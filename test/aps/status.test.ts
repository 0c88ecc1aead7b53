import { strict as assert } from 'node:assert';
import { classifyStatus } from '../../src/aps/status';
import type { StatusClass } from '../../src/aps/types';

describe('classifyStatus', () => {
  const table: Array<[string, StatusClass]> = [
    ['Running', 'running'],
    ['RUNNING', 'running'],
    ['running', 'running'],
    ['COMPLETED', 'completed'],
    ['Complete', 'completed'],
    ['Finished', 'completed'],
    ['Succeeded', 'completed'],
    ['SUCCESS', 'completed'],
    ['Failed', 'failed'],
    ['ERROR', 'failed'],
    ['Suspended', 'stopped'],
    ['Paused', 'stopped'],
    ['Stopped', 'stopped'],
    ['Starting', 'transitional'],
    ['Creating', 'transitional'],
    ['-', 'transitional'],
    ['', 'transitional'],
  ];
  for (const [raw, cls] of table) {
    it(`classifies ${JSON.stringify(raw)} as ${cls} and keeps the raw value`, () => {
      assert.deepEqual(classifyStatus(raw), { raw, class: cls });
    });
  }

  const precedence: Array<[string, StatusClass]> = [
    ['RunningFailed', 'failed'],
    ['StartFailed', 'failed'],
    ['SuspendFailed', 'failed'],
    ['CompletedWithError', 'failed'],
    ['FinishedStopped', 'completed'],
    ['RunningToSuspend', 'stopped'],
  ];
  for (const [raw, cls] of precedence) {
    it(`resolves the compound ${raw} as ${cls} (failed > completed > stopped > running)`, () => {
      assert.equal(classifyStatus(raw).class, cls);
    });
  }

  it('treats missing and non-string values as transitional, keeping them as text', () => {
    assert.deepEqual(classifyStatus(undefined), { raw: '', class: 'transitional' });
    assert.deepEqual(classifyStatus(null), { raw: '', class: 'transitional' });
    assert.deepEqual(classifyStatus(3), { raw: '3', class: 'transitional' });
    assert.deepEqual(classifyStatus(true), { raw: 'true', class: 'transitional' });
    assert.deepEqual(classifyStatus({ State: 'Running' }), {
      raw: '{"State":"Running"}',
      class: 'transitional',
    });
  });
});
