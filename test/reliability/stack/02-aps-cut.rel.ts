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

  it(`[${ID}] ${plan.jobs} jobs; host 0 loses the APS endpoint for ${plan.cutMs / 1000} s: all complete`, async () => {
    let window = { from: 0, to: 0 };
    await runStackScenario({
      id: ID,
      jobs: plan.jobs,
      ratePerSec: 4,
      // Long enough waits that host 0 holds some when the cut comes.
      job: (apsJobId, rnd) => ({ apsJobId, kind: 'streaming', startingPolls: rnd.int(15, 25) }),
      async fault({ stage, started, until }) {
        const { stack } = stackSuite();
        const host0Reads = (): number =>
          stage.emulator
            .requests({ action: 'DescribeApsJobDetail' })
            .filter((r) => stage.slotOf(r.accessKeyId) === 0).length;
        assert.ok(
          await until(() => started() >= plan.jobs / 2 && host0Reads() > 0, 120_000),
          'host 0 never waited',
        );
        window = { from: Date.now(), to: 0 };
        await stack.cut(stage.hosts[0] as string, 'aps', 'drop');
        await sleep(plan.cutMs);
        await stack.heal(stage.hosts[0] as string, 'aps');
        window.to = Date.now();
        return {
          notes: `host 0 cut off from the APS endpoint for ${((window.to - window.from) / 1000).toFixed(1)} s while ${started()} jobs were started`,
          details: { cutMs: window.to - window.from },
        };
      },
      check({ stage, details }) {
        const byHost0 = stage.emulator.requests().filter((r) => stage.slotOf(r.accessKeyId) === 0);
        const during = byHost0.filter(
          (r) => Date.parse(r.time) > window.from + 1_000 && Date.parse(r.time) < window.to,
        );
        const after = byHost0.filter((r) => Date.parse(r.time) > window.to);
        details.host0CallsDuringCut = during.length;
        details.host0CallsAfterHeal = after.length;
        // Nothing of host 0 got through while cut, and it worked again after.
        assert.equal(during.length, 0, 'host 0 reached the APS endpoint through a cut link');
        assert.ok(after.length > 0, 'host 0 made no call after the link healed');
      },
    });
  });
});
