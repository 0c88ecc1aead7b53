/**
 * A rolling restart: each worker host in turn gets SIGTERM (it drains: waits held in process are
 * handed back to the server) and a new process, while the runs go on.
 */
import { strict as assert } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { STACK_PLAN } from '../support/plan';
import { runStackScenario } from '../support/stack-scenario';

const ID = 'stack-rolling-restart';

describe('reliability (stack): rolling restart of the workers', function () {
  const plan = STACK_PLAN.rolling;

  it(`[${ID}] ${plan.jobs} jobs while every worker is restarted in turn: all complete`, async () => {
    await runStackScenario({
      id: ID,
      jobs: plan.jobs,
      ratePerSec: 8,
      job: (apsJobId, rnd) => ({ apsJobId, kind: 'streaming', startingPolls: rnd.int(3, 10) }),
      async fault({ stage, started, until }) {
        assert.ok(
          await until(() => started() >= plan.jobs / 5, 180_000),
          'a fifth of the jobs never started',
        );
        const restarts: { slot: number; ms: number; startedAt: number }[] = [];
        for (let slot = 0; slot < stage.pool.size; slot++) {
          const t0 = Date.now();
          assert.ok(await stage.pool.restart(slot, 90_000), `worker ${slot} was not up`);
          restarts.push({ slot, ms: Date.now() - t0, startedAt: started() });
          await sleep(2_000);
        }
        return {
          notes: `${restarts.length} workers restarted in turn (${restarts.map((r) => `${(r.ms / 1000).toFixed(1)} s`).join(', ')} each, SIGTERM to polling again)`,
          details: { restarts },
        };
      },
      check({ stage }) {
        assert.equal(stage.pool.stats.restarts, stage.pool.size);
        assert.equal(
          stage.pool.stats.unexpectedExits,
          0,
          `workers exited on their own:\n${stage.pool.tail(20)}`,
        );
      },
    });
  });
});
