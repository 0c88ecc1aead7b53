/**
 * Mocha root hooks of the reliability suite's stack mode (`npm run test:reliability -- --stack`,
 * loaded by test/reliability/.mocharc.stack.cjs): the local production stack (PostgreSQL, a
 * 4-shard Temporal server, Toxiproxy) without workers of its own (each scenario brings its
 * worker hosts), one workflow bundle, one client, and the report at the end.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, Runtime } from '@temporalio/worker';
import { Stack } from '../../../src/dev/stack';
import { SEED_TEXT, SIZE, STACK_SCENARIO_IDS } from './plan';
import { markdownTable, markEndedTest, quietLogger, writeReport } from './report';

/** What every stack scenario shares. */
export interface StackSuiteContext {
  /** The stack. */
  stack: Stack;
  /** A client straight to the frontend (no proxy), outliving server restarts. */
  client: Client;
  /** The workflow bundle every worker process loads. */
  bundlePath: string;
}

let context: StackSuiteContext | undefined;
const startedAt = new Date();

/** The shared context (stack root hooks loaded). */
export function stackSuite(): StackSuiteContext {
  if (!context)
    throw new Error('the stack root hooks are not loaded (use test/reliability/.mocharc.stack.cjs)');
  return context;
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    this.timeout(30 * 60_000);
    Runtime.install({ logger: new DefaultLogger('WARN') });
    const dir = mkdtempSync(join(tmpdir(), 'aps-reliability-stack-'));
    const stack = await Stack.up({ dir, workers: 0, log: (line) => process.stdout.write(`${line}\n`) });
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve('../../../src/workflows'),
      logger: quietLogger,
    });
    const bundlePath = join(dir, 'workflow-bundle.js');
    writeFileSync(bundlePath, code);
    const connection = await Connection.connect({ address: stack.address, connectTimeout: '10s' });
    context = { stack, client: new Client({ connection, namespace: 'default' }), bundlePath };
    process.stdout.write(
      `reliability (stack): size ${SIZE}, seed ${SEED_TEXT}, Temporal ${stack.address} on PostgreSQL ${stack.state().postgres.address}\n`,
    );
  },

  afterEach: markEndedTest,

  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(180_000);
    const ctx = context;
    context = undefined;
    const state = ctx?.stack.state();
    const file = await writeReport({
      size: SIZE,
      seed: SEED_TEXT,
      startedAt,
      stack: {
        ids: STACK_SCENARIO_IDS,
        server: {
          temporalServer: state?.server.version,
          historyShards: state?.server.shards,
          persistence: 'PostgreSQL (temporal, temporal_visibility)',
          workerHosts: 'worker processes behind their own Toxiproxy links',
        },
      },
    });
    process.stdout.write(`\nreliability report (stack, ${SIZE}): ${file}\n\n${markdownTable()}\n\n`);
    if (!ctx) return;
    await ctx.client.connection.close();
    await ctx.stack.down();
  },
};
