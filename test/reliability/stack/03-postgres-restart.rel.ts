/**
 * PostgreSQL restarted under load: `pg_ctl restart -m fast` once a third of the jobs started, and a
 * SIGKILL of the postmaster (crash recovery on start) at two thirds. The server's persistence
 * calls fail meanwhile and are retried; every run completes, each job started once.
 */
import { strict as assert } from 'node:assert';
import { STACK_PLAN } from '../support/plan';
import { runStackScenario } from '../support/stack-scenario';
import { stackSuite } from '../support/stack-hooks';

const ID = 'stack-postgres-restart';

describe('reliability (stack): PostgreSQL restart and crash', function () {
  const plan = STACK_PLAN.postgres;

  it(`[${ID}] ${plan.jobs} jobs across pg_ctl restart and a kill -9 of the postmaster: all complete`, async () => {
    await runStackScenario({
      id: ID,
      jobs: plan.jobs,
      ratePerSec: 10,
      async fault({ started, until }) {
        const { stack } = stackSuite();
        assert.ok(
          await until(() => started() >= plan.jobs / 3, 180_000),
          'a third of the jobs never started',
        );
        const atRestart = started();
        const r0 = Date.now();
        await stack.restartPostgres();
        const restartMs = Date.now() - r0;
        assert.ok(await until(() => started() >= (2 * plan.jobs) / 3, 180_000), 'two thirds never started');
        const atCrash = started();
        const pidBefore = stack.postgres.pid();
        const c0 = Date.now();
        await stack.crashPostgres(2_000);
        const crashMs = Date.now() - c0;
        return {
          notes:
            `pg_ctl restart (${(restartMs / 1000).toFixed(1)} s) at ${atRestart} jobs started; ` +
            `postmaster ${pidBefore} SIGKILLed and started again after ${(crashMs / 1000).toFixed(1)} s at ${atCrash}`,
          details: { startedAtRestart: atRestart, restartMs, startedAtCrash: atCrash, crashDownMs: crashMs },
        };
      },
    });
  });
});
