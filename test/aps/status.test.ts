import { strict as assert } from 'node:assert';
import { classifyStatus } from '../../src/aps/status';
import type { StatusClass } from '../../src/aps/types';

describe('classifyStatus', () => {
  const table: Array<[string, StatusClass]> = [
    ['Running', 'running'],
    ['RUNNING', 'running'],
    ['running', 'running'],
    ['COMPLETED', 'completed'],
    ['Finished', 'completed'],
    ['Succeeded', 'completed'],
    ['SUCCESS', 'completed'],
    ['Failed', 'failed'],
    ['FATAL', 'failed'],
    ['ERROR', 'failed'],
    ['Suspended', 'stopped'],
    ['Paused', 'stopped'],
    ['Stopped', 'stopped'],
    ['KILLED', 'stopped'],
    ['Starting', 'transitional'],
    ['SUBMITTED', 'transitional'],
    ['Creating', 'transitional'],
    ['Failing', 'transitional'],
    ['Succeeding', 'transitional'],
    ['-', 'transitional'],
  ];
  for (const [raw, cls] of table) {
    it(`classifies ${JSON.stringify(raw)} as ${cls} and keeps the raw value`, () => {
      assert.deepEqual(classifyStatus(raw), { raw, class: cls });
    });
  }

  // Substring matching used to read these as the class their fragment suggests.
  const lookAlikes = [
    'Finishing',
    'Failover',
    'Complete',
    'RunningFailed',
    'StartFailed',
    'CompletedWithError',
    'RunningToSuspend',
    'Unsuspended',
    '',
  ];
  for (const raw of lookAlikes) {
    it(`does not guess: ${JSON.stringify(raw)} is unknown`, () => {
      assert.deepEqual(classifyStatus(raw), { raw, class: 'unknown' });
    });
  }

  it('treats missing and non-string values as unknown, keeping them as text', () => {
    assert.deepEqual(classifyStatus(undefined), { raw: '', class: 'unknown' });
    assert.deepEqual(classifyStatus(null), { raw: '', class: 'unknown' });
    assert.deepEqual(classifyStatus(3), { raw: '3', class: 'unknown' });
    assert.deepEqual(classifyStatus(true), { raw: 'true', class: 'unknown' });
    assert.deepEqual(classifyStatus({ State: 'Running' }), {
      raw: '{"State":"Running"}',
      class: 'unknown',
    });
  });
});
