/**
 * Mocha root hooks: one real Temporal dev server for the whole run, stopped at the end.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { Runtime, DefaultLogger } from '@temporalio/worker';
import { resolveTemporalCli } from '../../src/dev/temporal-cli';
import { setTestEnv, clearTestEnv } from './env';

export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    // Building the CLI on a cold machine takes minutes; later runs find it cached.
    this.timeout(30 * 60_000);
    // Worker logs only on errors: activity failures are expected here and asserted on, not logged.
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    const cli = await resolveTemporalCli();
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: cli.executable,
        searchAttributes: [
          defineSearchAttributeKey('ApsJobId', SearchAttributeType.KEYWORD),
          defineSearchAttributeKey('ApsRegion', SearchAttributeType.KEYWORD),
          defineSearchAttributeKey('ApsPhase', SearchAttributeType.KEYWORD),
        ],
        log: { format: 'pretty', level: 'error' },
      },
    });
    setTestEnv(env, cli);
  },
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000);
    await clearTestEnv();
  },
};
