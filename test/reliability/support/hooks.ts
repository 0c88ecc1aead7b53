/**
 * Mocha root hooks of the reliability suite (loaded by test/reliability/.mocharc.cjs only, never
 * together with the unit suite's root hooks): its own dev server on a persistent SQLite file, one
 * workflow bundle for every worker process, one client, and the report at the end.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, Runtime } from '@temporalio/worker';
import { resolveTemporalCli } from '../../../src/dev/temporal-cli';
import { SEED_TEXT, SIZE } from './plan';
import { markdownTable, markEndedTest, quietLogger, writeReport } from './report';
import { DevServer } from './server';

/** What every scenario shares. */
export interface SuiteContext {
  /** The dev server. */
  server: DevServer;
  /** A client whose connection outlives server restarts (gRPC reconnects). */
  client: Client;
  /** The workflow bundle every worker process loads (`APS_WORKFLOW_BUNDLE`). */
  bundlePath: string;
  /** Scratch directory of this run. */
  dir: string;
}

let context: SuiteContext | undefined;
let cliVersion: string | undefined;
const startedAt = new Date();

/** The shared context (root hooks loaded). */
export function suite(): SuiteContext {
  if (!context)
    throw new Error('the reliability root hooks are not loaded (use test/reliability/.mocharc.cjs)');
  return context;
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    this.timeout(30 * 60_000);
    Runtime.install({ logger: new DefaultLogger('WARN') });
    const cli = await resolveTemporalCli();
    cliVersion = cli.version;
    const dir = mkdtempSync(join(tmpdir(), 'aps-reliability-'));
    const server = await DevServer.start(cli, dir);
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve('../../../src/workflows'),
      logger: quietLogger,
    });
    const bundlePath = join(dir, 'workflow-bundle.js');
    writeFileSync(bundlePath, code);
    const connection = await Connection.connect({ address: server.address, connectTimeout: '10s' });
    context = { server, client: new Client({ connection, namespace: 'default' }), bundlePath, dir };
    process.stdout.write(
      `reliability: size ${SIZE}, seed ${SEED_TEXT}, dev server ${server.address} on ${server.dbFilename}\n`,
    );
  },

  afterEach: markEndedTest,

  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(120_000);
    const file = await writeReport({ size: SIZE, seed: SEED_TEXT, startedAt, temporalCli: cliVersion });
    process.stdout.write(`\nreliability report (${SIZE}): ${file}\n\n${markdownTable()}\n\n`);
    const ctx = context;
    context = undefined;
    if (!ctx) return;
    await ctx.client.connection.close();
    await ctx.server.stop();
    rmSync(ctx.dir, { recursive: true, force: true });
  },
};
