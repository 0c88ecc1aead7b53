#!/usr/bin/env node
/**
 * The command-line front door: `aps-jobs worker | start | status | cancel | emulator | demo`.
 * Errors are one clear line on stderr; exit 0 on success, 1 when a run failed or a call did not
 * go through, 2 on bad input or settings.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { JobTarget, OnStopAction, RunApsJobInput } from './api';
import { cancelJobRun, connectClient, describeJobRun, startJobRun, type ConnectOverrides } from './client';
import { ConfigError, taskQueueFrom, regionFrom } from './config';
import { followJobRun } from './follow';
import { InputValidationError } from './validation';

/** A failure that maps to an exit code and a one-line message. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

interface GlobalOptions {
  address?: string;
  namespace?: string;
  taskQueue?: string;
  json?: boolean;
}

function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

function connectOverrides(g: GlobalOptions): ConnectOverrides {
  return { address: g.address, namespace: g.namespace };
}

async function withClient<T>(g: GlobalOptions, fn: (client: Client) => Promise<T>): Promise<T> {
  let client: Client;
  try {
    client = await connectClient(connectOverrides(g));
  } catch (err) {
    throw new CliError(
      `cannot reach Temporal${g.address ? ` at ${g.address}` : ''}: ${(err as Error).message} (set TEMPORAL_ADDRESS or --address)`,
      1,
    );
  }
  try {
    return await fn(client);
  } finally {
    await client.connection.close();
  }
}

function print(g: GlobalOptions, value: unknown, text: string): void {
  process.stdout.write(g.json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
}

function readRules(value: string): unknown {
  const text = value.startsWith('@') ? readFileSync(value.slice(1), 'utf8') : value;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`--retry-rules: expected a JSON array (or @file), ${(err as Error).message}`, 2);
  }
}

/** Builds the program; `run` parses argv and executes. */
export function buildProgram(): Command {
  const program = new Command('aps-jobs')
    .description('Run Alibaba Cloud AnalyticDB APS jobs durably on Temporal')
    .option('--address <host:port>', 'Temporal frontend address (env TEMPORAL_ADDRESS)')
    .option('--namespace <name>', 'Temporal namespace (env TEMPORAL_NAMESPACE)')
    .option('--task-queue <name>', 'task queue of the workers (env TEMPORAL_TASK_QUEUE, default aps-jobs)')
    .option('--json', 'machine-readable output')
    .showHelpAfterError()
    .exitOverride();

  const regionOption = () =>
    new Option('--region <id>', 'region of the job, e.g. cn-hangzhou (env ADB_REGION_ID)');

  program
    .command('worker')
    .description('run a worker (same settings as src/worker.ts; see the README configuration table)')
    .action(async () => {
      const { runWorkerFromEnv } = await import('./worker');
      await runWorkerFromEnv();
    });

  program
    .command('start')
    .description("start the job's workflow, or join the one already running for that job")
    .argument('<apsJobId>', 'the APS job ID, e.g. aps-bp1234567890')
    .addOption(regionOption())
    .addOption(
      new Option('--target <state>', 'state to reach').choices(['running', 'completed']).default('running'),
    )
    .option('--poll-interval <duration>', 'how often to read the job status', '30s')
    .option('--timeout <duration>', 'deadline from the start', '24h')
    .addOption(
      new Option('--on-cancel <action>', 'on cancellation').choices(['suspend', 'leave']).default('leave'),
    )
    .addOption(
      new Option('--on-timeout <action>', 'at the deadline').choices(['suspend', 'leave']).default('leave'),
    )
    .option('--retry-rules <json|@file>', 'retry rules placed before the defaults (JSON array)')
    .option('--wait', 'follow the run with live progress until it ends')
    .action(async (apsJobId: string, o: Record<string, string | boolean | undefined>, cmd: Command) => {
      const g = globals(cmd);
      const input: RunApsJobInput = {
        regionId: regionFrom(o.region as string | undefined),
        apsJobId,
        target: o.target as JobTarget,
        pollInterval: o.pollInterval as string,
        timeout: o.timeout as string,
        onCancel: o.onCancel as OnStopAction,
        onTimeout: o.onTimeout as OnStopAction,
        ...(o.retryRules
          ? { retryRules: readRules(o.retryRules as string) as RunApsJobInput['retryRules'] }
          : {}),
      };
      await withClient(g, async (client) => {
        const started = await startJobRun(client, input, { taskQueue: g.taskQueue ?? taskQueueFrom() });
        const info = { workflowId: started.workflowId, runId: started.handle.firstExecutionRunId };
        if (!o.wait) {
          print(g, info, `workflow ${info.workflowId} (run ${info.runId})`);
          return;
        }
        if (!g.json) process.stderr.write(`following ${info.workflowId}\n`);
        const outcome = await followJobRun(client, input.regionId, apsJobId, { quiet: g.json });
        if (outcome.ok) {
          const r = outcome.result;
          print(
            g,
            { ...info, ...r },
            `${r.apsJobId}: ${r.status} (${r.started ? 'started' : 'already running'}, ${r.polls} polls)`,
          );
        } else {
          if (g.json) print(g, { ...info, ...outcome }, '');
          throw new CliError(`${apsJobId}: ${outcome.reason}`, 1);
        }
      });
    });

  program
    .command('status')
    .description("show a job's run: phase, job status, attempt, last error")
    .argument('<apsJobId>', 'the APS job ID')
    .addOption(regionOption())
    .action(async (apsJobId: string, o: { region?: string }, cmd: Command) => {
      const g = globals(cmd);
      const regionId = regionFrom(o.region);
      await withClient(g, async (client) => {
        const view = await describeJobRun(client, regionId, apsJobId);
        const s = view.status;
        const lines = [
          `workflow   ${view.workflowId} (${view.executionStatus})`,
          `phase      ${s?.phase ?? '-'}`,
          `job status ${view.activity?.lastJobStatus ?? s?.lastStatus ?? '-'}`,
          `attempt    ${view.activity ? `${view.activity.attempt} (${view.activity.type})` : '-'}`,
          `last error ${view.activity?.lastFailureType ?? s?.lastErrorCode ?? view.failureType ?? '-'}`,
          `started    ${s?.startedAt ?? '-'}`,
          `reached    ${s?.reachedAt ?? '-'}`,
          `deadline   ${s?.deadline ?? '-'}`,
        ];
        print(g, view, lines.join('\n'));
      });
    });

  program
    .command('cancel')
    .description("cancel a job's run")
    .argument('<apsJobId>', 'the APS job ID')
    .addOption(regionOption())
    .option('--suspend', 'suspend the job on the way out, whatever --on-cancel said at start')
    .action(async (apsJobId: string, o: { region?: string; suspend?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const regionId = regionFrom(o.region);
      await withClient(g, async (client) => {
        await cancelJobRun(client, regionId, apsJobId, { suspend: o.suspend ? true : undefined });
        print(g, { cancelled: true, apsJobId, regionId }, `cancellation requested for ${apsJobId}`);
      });
    });

  program
    .command('emulator')
    .description('run the local APS emulator (signature-verifying, scriptable)')
    .allowUnknownOption()
    .helpOption(false)
    .argument('[args...]', 'emulator options: --port, --host, --config, --help')
    .action(async (args: string[]) => {
      const { runEmulatorCli } = await import('./emulator/cli');
      await runEmulatorCli(args);
    });

  program
    .command('demo')
    .description('run one job end to end on an embedded Temporal dev server and the emulator')
    .option('--keep', 'leave the server, emulator and worker up until Ctrl-C')
    .action(async (o: { keep?: boolean }, cmd: Command) => {
      const { runDemo } = await import('./demo');
      const g = globals(cmd);
      await runDemo({ keep: o.keep === true, json: g.json === true });
    });

  return program;
}

/** Runs the CLI; resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : 2;
    }
    const { message, code } = describeError(err);
    process.stderr.write(`error: ${message}\n`);
    return code;
  }
}

function describeError(err: unknown): { message: string; code: number } {
  if (err instanceof CliError) return { message: err.message, code: err.exitCode };
  if (err instanceof InputValidationError || err instanceof ConfigError)
    return { message: err.message, code: 2 };
  if (err instanceof WorkflowNotFoundError) {
    return { message: 'no run found for that job (check --region and the job ID)', code: 1 };
  }
  return {
    message: err instanceof Error ? (err.message.split('\n')[0] ?? String(err)) : String(err),
    code: 1,
  };
}

if (require.main === module) {
  void run(process.argv).then((code) => {
    process.exitCode = code;
  });
}
