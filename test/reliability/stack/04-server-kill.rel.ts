/**
 * The Temporal server SIGKILLed (no shutdown) in the middle of the runs and started again on the
 * same PostgreSQL database: the runs resume from what the database holds.
 */
import { strict as assert } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { STACK_PLAN } from '../support/plan';
import { runStackScenario } from '../support/stack-scenario';
import { stackSuite } from '../support/stack-hooks';

const ID = 'stack-server-kill';

describe('reliability (stack): Temporal server SIGKILL on PostgreSQL', function () {
  const plan = STACK_PLAN.serverKill;

  it(`[${ID}] ${plan.jobs} jobs across a SIGKILL of the server and a restart: all resume and complete`, async () => {
    await runStackScenario({
      id: ID,
      jobs: plan.jobs,
      ratePerSec: 5,
      async fault({ started, until }) {
        const { stack } = stackSuite();
        assert.ok(
          await until(() => started() >= plan.jobs / 3, 180_000),
          'a third of the jobs never started',
        );
        const atKill = started();
        const pid = stack.serverPid;
        const t0 = Date.now();
        await stack.killServer();
        await sleep(plan.downMs);
        await stack.startServer();
        const downMs = Date.now() - t0;
        return {
          notes: `server pid ${pid} SIGKILLed at ${atKill} jobs started; serving again after ${(downMs / 1000).toFixed(1)} s`,
          details: { startedAtKill: atKill, downMs },
        };
      },
    });
  });
});
