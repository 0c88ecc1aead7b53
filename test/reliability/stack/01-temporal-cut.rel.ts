/**
 * A worker host cut off from Temporal in the middle of a start: its link to the frontend drops
 * every byte (a partition, not a refusal) right after its pre-start status read, so the
 * StartApsJob that follows reaches the job but its result never reaches the server. The attempt
 * times out on its heartbeat and a later attempt (on whichever host polls for it) takes the run
 * over, reads the job as started and does not start it again; the link heals afterwards.
 */
import { strict as assert } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RequestLogEntry } from '../../../src/emulator';
import { STACK_PLAN } from '../support/plan';
import { runStackScenario } from '../support/stack-scenario';
import { stackSuite } from '../support/stack-hooks';

const ID = 'stack-temporal-cut';

describe('reliability (stack): worker cut off from Temporal during a start', function () {
  const plan = STACK_PLAN.temporalCut;

  it(`[${ID}] ${plan.jobs} jobs; host 0 loses Temporal mid-start for ${plan.cutMs / 1000} s: started once, taken over by a later attempt`, async () => {
    let onRequest: (e: RequestLogEntry) => void = () => undefined;
    let cut: { apsJobId: string; at: number; healedAt?: number } | undefined;
    await runStackScenario({
      id: ID,
      jobs: plan.jobs,
      ratePerSec: 2,
      // Every start is held a moment: the cut lands while the call is in flight.
      emulator: {
        faults: [{ kind: 'latency', action: 'StartApsJob', latencyMs: 1_500, times: 'unlimited' }],
        onRequest: (e) => onRequest(e),
      },
      async fault({ stage, until }) {
        const { stack } = stackSuite();
        onRequest = (e) => {
          if (cut || e.action !== 'DescribeApsJobDetail' || e.code !== 'OK' || !e.apsJobId) return;
          if (stage.slotOf(e.accessKeyId) !== 0) return;
          if (stage.emulator.effectiveStarts(e.apsJobId) > 0) return;
          if (stage.emulator.job(e.apsJobId)?.status !== 'Suspended') return;
          // Host 0's pre-start read: its StartApsJob follows at once.
          cut = { apsJobId: e.apsJobId, at: Date.now() };
          void stack.cut(stage.hosts[0] as string, 'temporal', 'drop');
        };
        assert.ok(await until(() => cut !== undefined, 120_000), 'host 0 never read a job before its start');
        const c = cut as unknown as { apsJobId: string; at: number; healedAt?: number };
        await sleep(plan.cutMs);
        await stack.heal(stage.hosts[0] as string, 'temporal');
        c.healedAt = Date.now();
        return {
          notes: `host 0 cut off from Temporal for ${((c.healedAt - c.at) / 1000).toFixed(1)} s right after its pre-start read of ${c.apsJobId}`,
          details: { cutJob: c.apsJobId, cutMs: c.healedAt - c.at },
        };
      },
      check({ stage, outcomes, details }) {
        const c = cut as unknown as { apsJobId: string; at: number };
        const log = stage.emulator.requests({ apsJobId: c.apsJobId });
        const startSlots = log
          .filter((r) => r.action === 'StartApsJob')
          .map((r) => stage.slotOf(r.accessKeyId));
        // The reads after the cut, by host: the retry lands on whichever host gets it (host 0 too,
        // once healed: a CI run saw host 0 finish the run).
        details.startCallsByHost = startSlots;
        details.readsAfterCutByHost = log
          .filter((r) => r.action === 'DescribeApsJobDetail' && Date.parse(r.time) > c.at)
          .map((r) => stage.slotOf(r.accessKeyId));
        const outcome = outcomes.find((o) => o.run.apsJobId === c.apsJobId);
        assert.deepEqual(
          startSlots,
          [0],
          `StartApsJob calls of ${c.apsJobId} by host: ${startSlots.join(', ')}`,
        );
        // The cut-off attempt started the job and its result never reached the server (the cut
        // outlasts the 30 s heartbeat timeout): a later attempt found the job started and finished
        // the run without starting it again.
        assert.equal(
          outcome?.result?.started,
          false,
          `the run of ${c.apsJobId} was not taken over by a later attempt`,
        );
      },
    });
  });
});
