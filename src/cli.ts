#!/usr/bin/env node
/**
 * The command-line front door: `aps-jobs worker | start | status | cancel | run | supervise |
 * supervisor | jobs list | fleet reconcile | fleet status | schedule | emulator | demo`.
 * Errors are one clear line on stderr; exit 0 on success, 1 when a run failed or a call did not
 * go through, 2 on bad input or settings, or a start that clashes with a workflow already open.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { FailureTypes, jobWorkflowId, SCHEDULE_OVERLAPS, type ScheduleOverlap } from './api';
import type {
  FleetMode,
  FleetSelector,
  FleetSupervisorSettings,
  JobTarget,
  OnStopAction,
  ReconcileApsFleetInput,
  RunApsJobInput,
  RunApsJobStatus,
  SuperviseApsJobInput,
  SupervisorStatus,
} from './api';
import {
  ConflictingRunError,
  OrchestratorConflictError,
  cancelJobRun,
  cancelSupervisor,
  connectClient,
  describeJobRun,
  extendJobRunDeadline,
  hasWorkflowPoller,
  NoOpenRunError,
  noWorkerMessage,
  pauseSupervisor,
  resumeSupervisor,
  setJobRunDeadline,
  setJobRunOnCancel,
  setJobRunPollInterval,
  setSupervisorCheckInterval,
  startJobRun,
  startSupervisor,
  supervisorStatus,
  type ConnectOverrides,
} from './client';
import {
  JobScheduleNotFoundError,
  ScheduleExistsError,
  ScheduleSpecError,
  backfillJobSchedule,
  createJobSchedule,
  deleteJobSchedule,
  describeJobSchedule,
  listJobSchedules,
  normalizeJobSchedule,
  parseIsoTime,
  pauseJobSchedule,
  triggerJobSchedule,
  unpauseJobSchedule,
  type CreateJobScheduleInput,
} from './schedules';
import { alibabaConfigFrom, ConfigError, taskQueueFrom, regionFrom } from './config';
import { followJobRun, formatFailureReasons, jobFailedDetailsOf } from './follow';
import {
  normalizeReconcileInput,
  normalizeSuperviseInput,
  validateCheckInterval,
  validateExtendBy,
  validateSetDeadline,
  validateSetOnCancel,
  validateSetPollInterval,
} from './input';
import { normalizeRunInput } from './input';
import { describeValue, formatMs, InputValidationError } from './validation';

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

const RULES_FORM = 'give a JSON array, or @ and the path of a readable JSON file';

/** Why a file could not be read, in a few words. */
function fileProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    default:
      return code ?? (err instanceof Error ? err.message : String(err));
  }
}

function readRules(value: string): unknown {
  let text = value;
  if (value.startsWith('@')) {
    try {
      text = readFileSync(value.slice(1), 'utf8');
    } catch (err) {
      throw new CliError(`--retry-rules: cannot read ${value}: ${fileProblem(err)} (${RULES_FORM})`, 2);
    }
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`--retry-rules: expected a JSON array (or @file), ${(err as Error).message}`, 2);
  }
}

const SELECT_FORM = 'ids:<jobId>[,<jobId>…], prefix:<name prefix> or pattern:<regular expression>';

/** `--select ids:a,b | prefix:x | pattern:re` as a selector (validated later, with the input). */
export function parseSelectFlag(value: string | undefined): FleetSelector {
  const m = /^(ids|prefix|pattern):(.*)$/s.exec(value ?? '');
  if (!m) throw new InputValidationError('--select', SELECT_FORM, describeValue(value));
  const [, kind, rest = ''] = m;
  if (kind === 'ids')
    return {
      jobIds: rest
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    };
  return kind === 'prefix' ? { namePrefix: rest } : { namePattern: rest };
}

/** The supervisor settings given on the command line (only those given). */
function supervisorSettingsFrom(o: Record<string, string | undefined>): FleetSupervisorSettings {
  const n = o.maxRestartsPerWindow;
  const policy = {
    ...(n !== undefined ? { maxPerWindow: (/^\d+$/.test(n) ? Number(n) : n) as number } : {}),
    ...(o.window !== undefined ? { window: o.window } : {}),
    ...(o.backoff !== undefined ? { initialInterval: o.backoff } : {}),
  };
  return {
    ...(o.checkInterval !== undefined ? { checkInterval: o.checkInterval } : {}),
    ...(o.pollInterval !== undefined ? { pollInterval: o.pollInterval } : {}),
    ...(o.onCancel !== undefined ? { onCancel: o.onCancel as OnStopAction } : {}),
    ...(Object.keys(policy).length > 0 ? { restartPolicy: policy } : {}),
  };
}

/** The APS client of the CLI, from the same environment as the worker's. */
async function cliApsApi() {
  const settings = alibabaConfigFrom(process.env);
  const { createApsApi } = await import('./aps/client');
  return createApsApi(settings);
}

/** The options of a run (runApsJob's input), shared by `start` and `schedule create`. */
function addRunOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--target <state>', 'state to reach').choices(['running', 'completed']).default('running'),
    )
    .option(
      '--poll-interval <duration>',
      'how often to read the job status (adaptive: the first delay)',
      '30s',
    )
    .option(
      '--poll-max <duration>',
      'make the interval adaptive: it grows from --poll-interval by --poll-coefficient per read up to this',
    )
    .option('--poll-coefficient <n>', 'growth per read of an adaptive interval (with --poll-max)', '1.25')
    .option('--timeout <duration>', 'deadline from the start', '24h')
    .addOption(
      new Option('--on-cancel <action>', 'on cancellation').choices(['suspend', 'leave']).default('leave'),
    )
    .addOption(
      new Option('--on-timeout <action>', 'at the deadline').choices(['suspend', 'leave']).default('leave'),
    )
    .option(
      '--heartbeat-timeout <duration>',
      "how soon another worker takes over a dead worker's wait, 10s to 10m (default: 3 poll intervals, 30s to 3m)",
    )
    .option('--retry-rules <json|@file>', 'retry rules placed before the defaults (JSON array)');
}

/** runApsJob's input from the options of {@link addRunOptions}. */
function runInputFrom(apsJobId: string, o: Record<string, string | boolean | undefined>): RunApsJobInput {
  return {
    regionId: regionFrom(o.region as string | undefined),
    apsJobId,
    target: o.target as JobTarget,
    pollInterval:
      o.pollMax !== undefined
        ? {
            initial: o.pollInterval as string,
            max: o.pollMax as string,
            coefficient: Number(o.pollCoefficient),
          }
        : (o.pollInterval as string),
    timeout: o.timeout as string,
    onCancel: o.onCancel as OnStopAction,
    onTimeout: o.onTimeout as OnStopAction,
    ...(o.heartbeatTimeout !== undefined ? { heartbeatTimeout: o.heartbeatTimeout as string } : {}),
    ...(o.retryRules
      ? { retryRules: readRules(o.retryRules as string) as RunApsJobInput['retryRules'] }
      : {}),
  };
}

/** The CLI flags of a schedule's own fields, for error lines that name what to fix. */
const SCHEDULE_FLAGS: Record<string, string> = {
  cron: '--cron',
  timezone: '--timezone',
  overlap: '--overlap',
  catchupWindow: '--catchup-window',
  scheduleId: '--id',
  from: '--from',
  to: '--to',
};

/** Runs `fn`; a bad schedule field becomes one error line that starts with its flag (exit 2). */
function withFlagNames<T>(fn: () => T): T {
  const named = (err: unknown): never => {
    const field =
      err instanceof InputValidationError ? err.field : err instanceof ScheduleSpecError ? 'cron' : undefined;
    const flag = field !== undefined ? SCHEDULE_FLAGS[field] : undefined;
    if (flag && err instanceof Error) throw new CliError(`${flag}: ${err.message}`, 2);
    throw err;
  };
  try {
    const r = fn();
    return (r instanceof Promise ? r.catch(named) : r) as T;
  } catch (err) {
    return named(err);
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
      // As `node lib/worker.js`: the heap defaults first, and the SDK loaded only where the worker runs.
      const { runWithWorkerHeapDefaults } = await import('./worker-heap');
      await runWithWorkerHeapDefaults(async () => {
        const { runWorkerFromEnv } = await import('./run-worker');
        await runWorkerFromEnv();
      }, 'aps-jobs worker');
    });

  addRunOptions(
    program
      .command('start')
      .description("start the job's workflow, or join the one already open for that job with the same input")
      .argument('<apsJobId>', 'the APS job ID, e.g. aps-bp1234567890')
      .addOption(regionOption()),
  )
    .option('--wait', 'follow the run with live progress until it ends')
    .action(async (apsJobId: string, o: Record<string, string | boolean | undefined>, cmd: Command) => {
      const g = globals(cmd);
      const input = runInputFrom(apsJobId, o);
      // Bad input is exit 2 before any connection, whether or not Temporal is reachable.
      normalizeRunInput(input);
      await withClient(g, async (client) => {
        const taskQueue = g.taskQueue ?? taskQueueFrom();
        // A run on a queue that no worker polls waits silently: say so at once.
        if ((await hasWorkflowPoller(client, taskQueue).catch(() => undefined)) === false) {
          process.stderr.write(`${noWorkerMessage(taskQueue)}\n`);
        }
        if (!o.wait) {
          const started = await startJobRun(client, input, { taskQueue });
          const info = { workflowId: started.workflowId, runId: started.handle.firstExecutionRunId };
          print(g, info, `workflow ${info.workflowId} (run ${info.runId})`);
          return;
        }
        // One Update-with-Start starts or joins the run and returns when it has ended; progress
        // comes from the server's description of the run meanwhile.
        const running = startJobRun(client, input, { taskQueue, waitFor: 'target' });
        if (!g.json) process.stderr.write(`following ${jobWorkflowId(input.regionId, apsJobId)}\n`);
        const outcome = await followJobRun(client, input.regionId, apsJobId, {
          quiet: g.json,
          until: running,
        });
        const started = await running;
        const info = { workflowId: started.workflowId, runId: started.handle.firstExecutionRunId };
        if (outcome.ok) {
          const r = outcome.result;
          print(
            g,
            { ...info, ...r },
            `${r.apsJobId}: ${r.status} (${r.started ? 'started' : 'already running'}, ${r.polls} polls)`,
          );
        } else {
          if (g.json) print(g, { ...info, ...outcome }, '');
          else {
            // A failed job's own reasons (its newest ERROR lines, the console link) on stdout; the
            // error stays one line on stderr.
            const reasons = formatFailureReasons(jobFailedDetailsOf(outcome));
            if (reasons.length > 0) print(g, undefined, reasons.join('\n'));
          }
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
        if (view.workerPolling === false && view.taskQueue) {
          process.stderr.write(`${noWorkerMessage(view.taskQueue)}\n`);
        }
        const s = view.status;
        const recorded = view.searchPhase
          ? `${view.searchPhase} (as last recorded; no worker answered)`
          : '-';
        const lines = [
          `workflow   ${view.workflowId} (${view.executionStatus})`,
          `phase      ${s?.phase ?? recorded}`,
          `job status ${view.activity?.lastJobStatus ?? s?.lastStatus ?? '-'}`,
          `attempts   ${s?.attempts || view.activity?.attempt || '-'}${view.activity ? ` (${view.activity.type})` : ''}`,
          `last error ${view.activity?.lastFailureType ?? s?.lastErrorCode ?? view.failureType ?? '-'}`,
          ...formatFailureReasons(view.jobFailure),
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

  const steer = program
    .command('run')
    .description(
      "steer a job's open run: set-poll-interval | set-deadline | extend-deadline | set-on-cancel " +
        '(a wait in flight is re-scheduled; a start in flight is never cancelled)',
    );
  const runCommand = (
    name: string,
    description: string,
    extra: [string, string],
    check: (value: string, o: Record<string, string | undefined>) => void,
    act: (
      client: Client,
      regionId: string,
      apsJobId: string,
      value: string,
      o: Record<string, string | undefined>,
    ) => Promise<RunApsJobStatus>,
  ): Command =>
    steer
      .command(name)
      .description(description)
      .argument('<apsJobId>', 'the APS job ID')
      .argument(...extra)
      .addOption(regionOption())
      .action(
        async (apsJobId: string, value: string, o: Record<string, string | undefined>, cmd: Command) => {
          const g = globals(cmd);
          const regionId = regionFrom(o.region);
          // A bad value is exit 2 before any connection.
          check(value, o);
          await withClient(g, async (client) => {
            const s = await act(client, regionId, apsJobId, value, o);
            const every =
              s.pollSchedule !== undefined
                ? `${formatMs(s.pollSchedule.initialMs)} growing ×${s.pollSchedule.coefficient} to ${formatMs(s.pollSchedule.maxMs)}`
                : s.pollIntervalMs !== undefined
                  ? formatMs(s.pollIntervalMs)
                  : '-';
            const lines = [
              `phase      ${s.phase}`,
              `job status ${s.lastStatus ?? '-'}`,
              `poll every ${every}`,
              `deadline   ${s.deadline}`,
              `on cancel  ${s.onCancel ?? '-'}`,
            ];
            print(g, s, lines.join('\n'));
          });
        },
      );
  const pollIntervalOf = (value: string, o: Record<string, string | undefined>) =>
    o.pollMax !== undefined
      ? { initial: value, max: o.pollMax, coefficient: Number(o.pollCoefficient) }
      : value;
  runCommand(
    'set-poll-interval',
    'change how often the open run reads the job status (1s to 24h); its wait in flight is re-scheduled with it',
    ['<duration>', 'the new interval, e.g. 30s (with --poll-max: the first delay)'],
    (value, o) => void validateSetPollInterval({ pollInterval: pollIntervalOf(value, o) }),
    (c, r, j, value, o) => setJobRunPollInterval(c, r, j, pollIntervalOf(value, o)),
  )
    .option('--poll-max <duration>', 'make the interval adaptive: it grows per read up to this')
    .option('--poll-coefficient <n>', 'growth per read of an adaptive interval (with --poll-max)', '1.25');
  runCommand(
    'set-deadline',
    "move the open run's deadline to a time, earlier or later but not before now; its wait in flight is re-scheduled under it",
    ['<time>', 'an ISO-8601 time with its offset, e.g. 2025-01-31T02:00:00Z'],
    (value) => void validateSetDeadline({ deadline: value }, Date.now()),
    (c, r, j, value) => setJobRunDeadline(c, r, j, value),
  );
  runCommand(
    'extend-deadline',
    "move the open run's deadline later by a duration; its wait in flight is re-scheduled under it",
    ['<duration>', 'how much later, e.g. 30m or 2h'],
    (value) => void validateExtendBy(value),
    (c, r, j, value) => extendJobRunDeadline(c, r, j, value),
  );
  runCommand(
    'set-on-cancel',
    'set what the open run does with the job when it is cancelled',
    ['<action>', 'suspend (suspend the job) or leave (leave it as it is)'],
    (value) => void validateSetOnCancel({ onCancel: value }),
    (c, r, j, value) => setJobRunOnCancel(c, r, j, value as OnStopAction),
  );

  program
    .command('supervise')
    .description(
      "start the job's supervisor (keeps a streaming job running), or join the open one with the same input",
    )
    .argument('<apsJobId>', 'the APS job ID, e.g. aps-bp1234567890')
    .addOption(regionOption())
    .option('--check-interval <duration>', 'how often to check the running job', '5m')
    .option('--poll-interval <duration>', 'how often to read the status while starting the job', '30s')
    .option('--max-restarts-per-window <n>', 'restarts allowed within the window', '5')
    .option('--window <duration>', 'the sliding window of the restart budget', '1h')
    .option('--backoff <duration>', 'backoff before the first restart in a window (doubles after)', '10s')
    .addOption(
      new Option('--on-cancel <action>', 'when the supervisor is cancelled')
        .choices(['suspend', 'leave'])
        .default('leave'),
    )
    .option('--retry-rules <json|@file>', 'retry rules placed before the defaults (JSON array)')
    .action(async (apsJobId: string, o: Record<string, string | undefined>, cmd: Command) => {
      const g = globals(cmd);
      // A non-number goes through as given, so that validation names it.
      const n = o.maxRestartsPerWindow ?? '';
      const input: SuperviseApsJobInput = {
        regionId: regionFrom(o.region),
        apsJobId,
        checkInterval: o.checkInterval,
        pollInterval: o.pollInterval,
        onCancel: o.onCancel as OnStopAction,
        restartPolicy: {
          maxPerWindow: (/^\d+$/.test(n) ? Number(n) : n) as number,
          window: o.window,
          initialInterval: o.backoff,
        },
        ...(o.retryRules
          ? { retryRules: readRules(o.retryRules) as SuperviseApsJobInput['retryRules'] }
          : {}),
      };
      normalizeSuperviseInput(input); // bad input exits 2 before any connection
      await withClient(g, async (client) => {
        const started = await startSupervisor(client, input, { taskQueue: g.taskQueue ?? taskQueueFrom() });
        const info = { workflowId: started.workflowId, runId: started.handle.firstExecutionRunId };
        print(g, info, `supervisor ${info.workflowId} (run ${info.runId})`);
      });
    });

  const supervisor = program
    .command('supervisor')
    .description("steer a job's supervisor: status | pause | resume | set-interval | stop");
  const supervisorCommand = (
    name: string,
    description: string,
    act: (
      client: Client,
      regionId: string,
      apsJobId: string,
      extra: string[],
    ) => Promise<SupervisorStatus | void>,
    extraArgs: [string, string][] = [],
  ) => {
    const c = supervisor.command(name).description(description).argument('<apsJobId>', 'the APS job ID');
    for (const [arg, what] of extraArgs) c.argument(arg, what);
    c.addOption(regionOption()).action(async (apsJobId: string, ...rest: unknown[]) => {
      const cmd = rest.at(-1) as Command;
      const o = rest.at(-2) as { region?: string };
      const extra = rest.slice(0, -2) as string[];
      const g = globals(cmd);
      const regionId = regionFrom(o.region);
      if (name === 'set-interval') validateCheckInterval(extra[0]);
      await withClient(g, async (client) => {
        const s = await act(client, regionId, apsJobId, extra);
        if (!s) {
          print(g, { ok: true, apsJobId, regionId }, `${name}: done for ${apsJobId}`);
          return;
        }
        const f = s.lastFailure;
        const lines = [
          `phase         ${s.phase}${s.paused ? ' (paused)' : ''}`,
          `job status    ${s.lastStatus ?? '-'}`,
          `running since ${s.runningSince ?? '-'}${s.uptimeMs !== undefined ? ` (${Math.round(s.uptimeMs / 1000)}s)` : ''}`,
          `restarts      ${s.restartsInWindow}/${s.maxRestartsPerWindow} in the window, ${s.totalRestarts} in all`,
          `last failure  ${f ? `${f.status}${f.errMessage ? `: ${f.errMessage}` : ''} at ${f.at}` : '-'}`,
          `next check    ${s.nextCheckAt ?? '-'} (every ${s.checkIntervalMs} ms)`,
        ];
        print(g, s, lines.join('\n'));
      });
    });
  };
  supervisorCommand(
    'status',
    'show phase, uptime, restarts in the window, last failure, next check',
    (c, r, j) => supervisorStatus(c, r, j),
  );
  supervisorCommand('pause', 'suspend the job and stop checking it', (c, r, j) => pauseSupervisor(c, r, j));
  supervisorCommand('resume', 'start the job again and go back to checking', (c, r, j) =>
    resumeSupervisor(c, r, j),
  );
  supervisorCommand(
    'set-interval',
    'change the check interval (100ms to 24h)',
    (c, r, j, [interval]) => setSupervisorCheckInterval(c, r, j, interval as string),
    [['<duration>', 'the new interval, e.g. 10m']],
  );
  supervisor
    .command('stop')
    .description('cancel the supervisor')
    .argument('<apsJobId>', 'the APS job ID')
    .addOption(regionOption())
    .option('--suspend', 'suspend the job on the way out, whatever --on-cancel said at start')
    .action(async (apsJobId: string, o: { region?: string; suspend?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const regionId = regionFrom(o.region);
      await withClient(g, async (client) => {
        await cancelSupervisor(client, regionId, apsJobId, { suspend: o.suspend ? true : undefined });
        print(
          g,
          { cancelled: true, apsJobId, regionId },
          `cancellation requested for the supervisor of ${apsJobId}`,
        );
      });
    });

  const jobs = program.command('jobs').description("the region's APS jobs: list");
  jobs
    .command('list')
    .description(
      'list every job of the region (DescribeApsJobs, all pages) with the orchestration on it: none, run, supervisor or paused',
    )
    .addOption(regionOption())
    .option(
      '--status <list>',
      'keep only these statuses or status classes, comma-separated (e.g. failed,stopped or Running)',
    )
    .action(async (o: { region?: string; status?: string }, cmd: Command) => {
      const g = globals(cmd);
      const regionId = regionFrom(o.region);
      const aps = await cliApsApi();
      const { filterByStatus, formatFleet, listFleet } = await import('./fleet');
      await withClient(g, async (client) => {
        const view = await listFleet(client, aps, regionId);
        const shown = filterByStatus(view.jobs, (o.status ?? '').split(','));
        const gone = view.goneSupervisors.map(
          (s) => `supervisor ${s.workflowId} is open, but its job ${s.apsJobId} is not in the listing`,
        );
        print(
          g,
          { regionId, jobs: shown, goneSupervisors: view.goneSupervisors },
          [formatFleet(shown), `${shown.length} of ${view.jobs.length} jobs`, ...gone].join('\n'),
        );
      });
    });

  const fleet = program.command('fleet').description("the region's reconciler: reconcile | status");
  fleet
    .command('reconcile')
    .description(
      "create or update the region's reconciler schedule (reconcileApsFleet): adopts matched jobs that have no supervisor",
    )
    .addOption(regionOption())
    .option('--select <selector>', `the jobs to look after: ${SELECT_FORM}`)
    .addOption(
      new Option('--mode <mode>', 'report only, or start supervisors')
        .choices(['report', 'supervise'])
        .default('report'),
    )
    .option('--every <duration>', 'how often the schedule runs (1m to 7d)', '10m')
    .option('--end-gone', 'in supervise mode, cancel supervisors whose job no longer exists')
    .option('--max-adoptions <n>', 'most supervisors started per run (more continue as new)')
    .option('--now', 'also run once now')
    .option('--check-interval <duration>', "the supervisors' check interval")
    .option('--poll-interval <duration>', "the supervisors' poll interval while starting a job")
    .option('--max-restarts-per-window <n>', "the supervisors' restart budget")
    .option('--window <duration>', "the supervisors' restart window")
    .option('--backoff <duration>', "the supervisors' first backoff")
    .addOption(
      new Option('--on-cancel <action>', 'when a supervisor is cancelled').choices(['suspend', 'leave']),
    )
    .action(async (o: Record<string, string | boolean | undefined>, cmd: Command) => {
      const g = globals(cmd);
      const max = o.maxAdoptions as string | undefined;
      const input: ReconcileApsFleetInput = {
        regionId: regionFrom(o.region as string | undefined),
        selector: parseSelectFlag(o.select as string | undefined),
        mode: o.mode as FleetMode,
        ...(o.endGone ? { endGone: true } : {}),
        ...(max !== undefined
          ? { maxAdoptionsPerRun: (/^\d+$/.test(max) ? Number(max) : max) as number }
          : {}),
        supervisor: supervisorSettingsFrom(o as Record<string, string | undefined>),
      };
      normalizeReconcileInput(input); // bad input exits 2 before any connection
      const { upsertFleetSchedule } = await import('./fleet-schedule');
      await withClient(g, async (client) => {
        const r = await upsertFleetSchedule(client, input, {
          taskQueue: g.taskQueue ?? taskQueueFrom(),
          every: o.every as string,
          runNow: o.now === true,
        });
        print(
          g,
          { ...r, input },
          `schedule ${r.scheduleId} ${r.action}: every ${o.every as string}, mode ${input.mode}` +
            `${r.nextRuns[0] ? `, next run ${r.nextRuns[0].toISOString()}` : ''}${o.now ? ' (and one now)' : ''}`,
        );
      });
    });
  fleet
    .command('status')
    .description("the region's reconciler schedule and its last result")
    .addOption(regionOption())
    .action(async (o: { region?: string }, cmd: Command) => {
      const g = globals(cmd);
      const regionId = regionFrom(o.region);
      const { fleetScheduleStatus, formatFleetSummary } = await import('./fleet-schedule');
      const { ScheduleNotFoundError } = await import('@temporalio/client');
      await withClient(g, async (client) => {
        const view = await fleetScheduleStatus(client, regionId).catch((err: unknown) => {
          if (err instanceof ScheduleNotFoundError) {
            throw new CliError(
              `no fleet schedule for ${regionId}: create it with aps-jobs fleet reconcile --region ${regionId} --select …`,
              1,
            );
          }
          throw err;
        });
        const last = view.last;
        const lines = [
          `schedule ${view.scheduleId}${view.paused ? ' (paused)' : ''}, next run ${view.nextRuns[0]?.toISOString() ?? '-'}`,
          last
            ? `last run ${last.workflowId} started ${last.startedAt.toISOString()}: ${last.executionStatus}`
            : 'no run yet',
          ...(last?.summary ? [formatFleetSummary(last.summary)] : []),
          ...(last?.failure ? [`failure: ${last.failure}`] : []),
        ];
        print(g, view, lines.join('\n'));
      });
    });

  const schedule = program
    .command('schedule')
    .description(
      "schedules of a job's runs: create | list | describe | pause | unpause | trigger | backfill | delete",
    );
  addRunOptions(
    schedule
      .command('create')
      .description(
        "create a schedule that starts the job's run at each cron time (one run per job: see --overlap)",
      )
      .argument('<apsJobId>', 'the APS job ID, e.g. aps-bp1234567890')
      .addOption(regionOption())
      .requiredOption(
        '--cron <expression>',
        "when, e.g. '0 2 * * *' (minute hour day-of-month month day-of-week)",
      ),
  )
    .option('--timezone <iana>', 'time zone of the cron expression, e.g. Asia/Shanghai (default UTC)')
    .addOption(
      new Option('--overlap <policy>', "what an action does when the job's run is open")
        .choices([...SCHEDULE_OVERLAPS])
        .default('skip'),
    )
    .option('--catchup-window <duration>', 'how late a missed action is still taken (at least 10s)', '1m')
    .option('--id <scheduleId>', 'the schedule ID (default aps-schedule:<region>:<apsJobId>)')
    .option('--paused', 'create it paused')
    .option('--note <text>', 'a note kept with the schedule')
    .action(async (apsJobId: string, o: Record<string, string | boolean | undefined>, cmd: Command) => {
      const g = globals(cmd);
      const input: CreateJobScheduleInput = {
        run: runInputFrom(apsJobId, o),
        cron: o.cron as string,
        ...(o.timezone !== undefined ? { timezone: o.timezone as string } : {}),
        overlap: o.overlap as ScheduleOverlap,
        catchupWindow: o.catchupWindow as string,
        ...(o.id !== undefined ? { scheduleId: o.id as string } : {}),
        ...(o.paused ? { paused: true } : {}),
        ...(o.note !== undefined ? { note: o.note as string } : {}),
      };
      withFlagNames(() => normalizeJobSchedule(input)); // bad input exits 2 before any connection
      await withClient(g, async (client) => {
        const created = await withFlagNames(() =>
          createJobSchedule(client, input, { taskQueue: g.taskQueue ?? taskQueueFrom() }),
        );
        print(
          g,
          created,
          [
            `schedule ${created.scheduleId} created${input.paused ? ' (paused)' : ''}`,
            ...created.nextRuns.map((t, i) => `${i === 0 ? 'next runs ' : '          '}${t.toISOString()}`),
          ].join('\n'),
        );
      });
    });

  schedule
    .command('list')
    .description('list the job schedules')
    .action(async (_o: unknown, cmd: Command) => {
      const g = globals(cmd);
      await withClient(g, async (client) => {
        const list = await listJobSchedules(client);
        const lines = list.map((s) => {
          const m = s.schedule;
          return [
            s.scheduleId,
            m ? `${m.cron}${m.timezone ? ` (${m.timezone})` : ''}` : '-',
            m ? `overlap ${m.overlap}` : '-',
            s.paused ? 'paused' : `next ${s.nextRun?.toISOString() ?? '-'}`,
          ].join('  ');
        });
        print(g, list, lines.length > 0 ? lines.join('\n') : 'no job schedules');
      });
    });

  schedule
    .command('describe')
    .description(
      'show a schedule: cron, overlap, state, the next 5 runs and the recent actions with their outcome',
    )
    .argument('<scheduleId>', 'the schedule ID, e.g. aps-schedule:cn-hangzhou:aps-bp1234567890')
    .action(async (scheduleId: string, _o: unknown, cmd: Command) => {
      const g = globals(cmd);
      await withClient(g, async (client) => {
        const v = await describeJobSchedule(client, scheduleId);
        const m = v.schedule;
        const lines = [
          `schedule   ${v.scheduleId}${v.paused ? ` (paused${v.note ? `: ${v.note}` : ''})` : ''}`,
          `job        ${m ? `${m.apsJobId} in ${m.regionId}` : '-'}`,
          `cron       ${m ? `${m.cron} (${m.timezone ?? 'UTC'})` : '-'}`,
          `overlap    ${m?.overlap ?? '-'}, catchup window ${formatMs(v.catchupWindowMs)}`,
          `actions    ${v.actionsTaken} taken, ${v.skippedOverlap} skipped by the schedule (overlap), ` +
            `${v.missedCatchupWindow} missed (catchup window)`,
          ...(v.nextRuns.length > 0
            ? v.nextRuns.map((t, i) => `${i === 0 ? 'next runs' : '         '}  ${t.toISOString()}`)
            : ['next runs  -']),
          ...(v.recent.length > 0
            ? v.recent.map(
                (r, i) =>
                  `${i === 0 ? 'recent   ' : '         '}  ${r.scheduledAt.toISOString()} ${r.status}` +
                  `${r.action ? ` ${r.action}` : ''} ${r.workflowId}` +
                  `${r.jobRunId ? ` (job run ${r.jobRunId})` : ''}${r.reason ? `: ${r.reason}` : ''}`,
              )
            : ['recent     -']),
        ];
        print(g, v, lines.join('\n'));
      });
    });

  const scheduleCommand = (
    name: string,
    description: string,
    act: (client: Client, scheduleId: string, o: { note?: string }) => Promise<unknown>,
    done: string,
    withNote = false,
  ) => {
    const c = schedule
      .command(name)
      .description(description)
      .argument('<scheduleId>', 'the schedule ID, e.g. aps-schedule:cn-hangzhou:aps-bp1234567890');
    if (withNote) c.option('--note <text>', 'why (kept with the schedule)');
    c.action(async (scheduleId: string, o: { note?: string }, cmd: Command) => {
      const g = globals(cmd);
      await withClient(g, async (client) => {
        await act(client, scheduleId, o);
        print(g, { ok: true, scheduleId }, `${done} ${scheduleId}`);
      });
    });
  };
  scheduleCommand(
    'pause',
    'pause the schedule (no actions until unpaused)',
    (c, id, o) => pauseJobSchedule(c, id, o.note),
    'paused',
    true,
  );
  scheduleCommand(
    'unpause',
    'unpause the schedule',
    (c, id, o) => unpauseJobSchedule(c, id, o.note),
    'unpaused',
    true,
  );
  scheduleCommand(
    'trigger',
    "take one action now, under the schedule's overlap policy",
    (c, id) => triggerJobSchedule(c, id),
    'triggered',
  );
  scheduleCommand(
    'delete',
    'delete the schedule (open actions and the runs they started go on)',
    (c, id) => deleteJobSchedule(c, id),
    'deleted',
  );

  schedule
    .command('backfill')
    .description('take the actions the schedule would have taken between two times, under its overlap policy')
    .argument('<scheduleId>', 'the schedule ID, e.g. aps-schedule:cn-hangzhou:aps-bp1234567890')
    .requiredOption(
      '--from <time>',
      'start, ISO-8601 (e.g. 2025-01-31T00:00:00Z or 2025-01-31T08:00:00+08:00)',
    )
    .requiredOption('--to <time>', 'end, ISO-8601')
    .action(async (scheduleId: string, o: { from: string; to: string }, cmd: Command) => {
      const g = globals(cmd);
      const from = withFlagNames(() => parseIsoTime(o.from, 'from'));
      const to = withFlagNames(() => parseIsoTime(o.to, 'to'));
      await withClient(g, async (client) => {
        const r = await withFlagNames(() => backfillJobSchedule(client, scheduleId, { from, to }));
        print(
          g,
          { scheduleId, from: r.from, to: r.to },
          `backfill of ${scheduleId} from ${r.from.toISOString()} to ${r.to.toISOString()} requested`,
        );
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
  // The caller asked for something that clashes with what is open: fix the request, not a retry.
  if (
    err instanceof ConflictingRunError ||
    err instanceof OrchestratorConflictError ||
    err instanceof ScheduleExistsError ||
    err instanceof ScheduleSpecError
  )
    return { message: err.message, code: 2 };
  if (err instanceof JobScheduleNotFoundError || err instanceof NoOpenRunError)
    return { message: err.message, code: 1 };
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
    // The run refused the change: a bad value is the caller's to fix (2), a run ending is not (1).
    const bad = err.cause.type === FailureTypes.InvalidWorkflowInput;
    return { message: err.cause.message, code: bad ? 2 : 1 };
  }
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
