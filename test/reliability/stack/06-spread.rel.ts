/**
 * Many jobs across the worker hosts: the work spreads roughly evenly (each host makes at least half
 * its fair share of the API calls and of the starts).
 */
import { strict as assert } from 'node:assert';
import { STACK_PLAN } from '../support/plan';
import { runStackScenario } from '../support/stack-scenario';

const ID = 'stack-spread';

describe('reliability (stack): jobs spread over the worker hosts', function () {
  const plan = STACK_PLAN.spread;

  it(`[${ID}] ${plan.jobs} jobs over ${STACK_PLAN.workers} workers: each takes a fair part`, async () => {
    await runStackScenario({
      id: ID,
      jobs: plan.jobs,
      ratePerSec: 20,
      fault: () => Promise.resolve({ notes: 'no fault', details: {} }),
      check({ stage, details }) {
        const share = (action?: string): number[] => {
          const counts = stage.hosts.map(() => 0);
          for (const r of stage.emulator.requests(action ? { action } : undefined)) {
            const slot = stage.slotOf(r.accessKeyId);
            if (slot !== undefined) counts[slot] = (counts[slot] ?? 0) + 1;
          }
          return counts;
        };
        const calls = share();
        const starts = share('StartApsJob');
        details.callsByHost = calls;
        details.startsByHost = starts;
        for (const [what, counts] of [
          ['API calls', calls],
          ['StartApsJob calls', starts],
        ] as const) {
          const total = counts.reduce((a, b) => a + b, 0);
          const floor = total / counts.length / 2;
          assert.ok(
            counts.every((c) => c >= floor),
            `${what} by host ${counts.join(' / ')}: one host took less than half its share (${floor.toFixed(0)})`,
          );
        }
      },
    });
  });
});
