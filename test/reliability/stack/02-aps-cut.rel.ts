/**
 * A worker host cut off from the APS endpoint only, while it holds waits: its reads go nowhere
 * (a partition) until the link heals. It still talks to Temporal, so its waits stay with it and
 * pick up again; runs slow down, none is lost.
 */
import { strict as assert } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { STACK_PLAN } from '../support/plan';
import { runStackScenario } from '../support/stack-scenario';
import { stackSuite } from '../support/stack-hooks';

const ID = 'stack-aps-cut';

describe('reliability (stack): worker cut off from the APS endpoint while waiting', function () {
  const plan = STACK_PLAN.apsCut;

  it(`[${ID}] ${plan.jobs} jobs; the busiest host loses the APS endpoint for ${plan.cutMs / 1000} s: all complete`, async () => {
    let window = { from: 0, to: 0 };
    // The host cut off: the one that has read the most by then (the server gives tasks to whichever
    // host polls, so at 12 jobs a given host may hold none).
    let cutSlot = 0;
    await runStackScenario({
      id: ID,
      jobs: plan.jobs,
      ratePerSec: 4,
      // Long enough waits that the cut host holds some when the cut comes.
      job: (apsJobId, rnd) => ({ apsJobId, kind: 'streaming', startingPolls: rnd.int(15, 25) }),
      async fault({ stage, started, until }) {
        const { stack } = stackSuite();
        const readsBy = (): number[] => {
          const counts = stage.hosts.map(() => 0);
          for (const r of stage.emulator.requests({ action: 'DescribeApsJobDetail' })) {
            const slot = stage.slotOf(r.accessKeyId);
            if (slot !== undefined) counts[slot] = (counts[slot] ?? 0) + 1;
          }
          return counts;
        };
        assert.ok(
          await until(() => started() >= plan.jobs / 2 && readsBy().some((n) => n > 0), 120_000),
          'no host waited',
        );
        const reads = readsBy();
        cutSlot = reads.indexOf(Math.max(...reads));
        const host = stage.hosts[cutSlot] as string;
        window = { from: Date.now(), to: 0 };
        await stack.cut(host, 'aps', 'drop');
        await sleep(plan.cutMs);
        await stack.heal(host, 'aps');
        window.to = Date.now();
        return {
          notes: `host ${cutSlot} cut off from the APS endpoint for ${((window.to - window.from) / 1000).toFixed(1)} s while ${started()} jobs were started`,
          details: { cutSlot, cutMs: window.to - window.from },
        };
      },
      check({ stage, details }) {
        const byCutHost = stage.emulator.requests().filter((r) => stage.slotOf(r.accessKeyId) === cutSlot);
        const during = byCutHost.filter(
          (r) => Date.parse(r.time) > window.from + 1_000 && Date.parse(r.time) < window.to,
        );
        const after = byCutHost.filter((r) => Date.parse(r.time) > window.to);
        details.cutHostCallsDuringCut = during.length;
        details.cutHostCallsAfterHeal = after.length;
        // Nothing of the cut host got through while cut, and it worked again after.
        assert.equal(during.length, 0, `host ${cutSlot} reached the APS endpoint through a cut link`);
        assert.ok(after.length > 0, `host ${cutSlot} made no call after the link healed`);
      },
    });
  });
});
