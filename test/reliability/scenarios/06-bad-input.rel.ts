/**
 * Bad input, through every front door: the workflow itself (started with the raw input, bypassing
 * the client's validation), the client helper `startJobRun`, and the `aps-jobs start` CLI as a child
 * process. Each case is rejected with a message naming the field; the workflow fails with a
 * non-retryable `InvalidWorkflowInput` whose details name it; the helper throws before any call;
 * the CLI exits 2 with one `error: …` line and no stack trace, before it connects (it is pointed at
 * an address where nothing listens). No API call reaches the emulator.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { FailureTypes, type RunApsJobInput } from '../../../src/api';
import { startJobRun } from '../../../src/client';
import { InputValidationError } from '../../../src/validation';
import { runApsJob } from '../../../src/workflows/run-aps-job';
import { suite } from '../support/hooks';
import { emulatorSeed } from '../support/plan';
import { record } from '../support/report';
import { mapLimit, REGION } from '../support/runs';
import { startStage, type Stage } from '../support/stage';

const ID = 'bad-input';
const ROOT = join(__dirname, '..', '..', '..');
/** Nothing listens here: a CLI that connected before validating would fail with exit code 1. */
const DEAD_ADDRESS = '127.0.0.1:1';

/** One bad input. */
interface Case {
  name: string;
  /** The workflow / helper input (absent: CLI only). */
  input?: unknown;
  /** The field the rejection must name. */
  field: string;
  /** CLI arguments after `start` (absent: not expressible on the command line). */
  cli?: string[];
  /** What the CLI's error line must name, when not `field`. */
  cliField?: string;
}

const base = { regionId: REGION, apsJobId: 'aps-valid-0001', pollInterval: '1s' };
const withField = (patch: Record<string, unknown>): unknown => ({ ...base, ...patch });
const withoutField = (name: string): unknown =>
  Object.fromEntries(Object.entries(base).filter(([k]) => k !== name));
const cliFor = (apsJobId: string, ...more: string[]): string[] => [apsJobId, '--region', REGION, ...more];
const rules = (value: unknown): string[] => cliFor(base.apsJobId, '--retry-rules', JSON.stringify(value));

const LONG_ID = `aps-${'x'.repeat(200)}`;
const CASES: Case[] = [
  { name: 'empty job ID', input: withField({ apsJobId: '' }), field: 'apsJobId', cli: cliFor('') },
  {
    name: 'oversized job ID',
    input: withField({ apsJobId: LONG_ID }),
    field: 'apsJobId',
    cli: cliFor(LONG_ID),
  },
  {
    name: 'job ID with a space',
    input: withField({ apsJobId: 'aps bad' }),
    field: 'apsJobId',
    cli: cliFor('aps bad'),
  },
  {
    name: 'job ID with a newline',
    input: withField({ apsJobId: 'aps-a\nb' }),
    field: 'apsJobId',
    cli: cliFor('aps-a\nb'),
  },
  {
    name: 'job ID with a BEL',
    input: withField({ apsJobId: 'aps-\u0007' }),
    field: 'apsJobId',
    cli: cliFor('aps-\u0007'),
  },
  {
    name: 'job ID with a zero-width space',
    input: withField({ apsJobId: 'aps-a\u200bb' }),
    field: 'apsJobId',
    cli: cliFor('aps-a\u200bb'),
  },
  { name: 'job ID of the wrong type', input: withField({ apsJobId: 12345 }), field: 'apsJobId' },
  { name: 'job ID missing', input: withoutField('apsJobId'), field: 'apsJobId' },
  {
    name: 'region in upper case',
    input: withField({ regionId: 'CN-HANGZHOU' }),
    field: 'regionId',
    cli: [base.apsJobId, '--region', 'CN-HANGZHOU'],
    cliField: '--region',
  },
  {
    name: 'region with an underscore',
    input: withField({ regionId: 'cn_hangzhou' }),
    field: 'regionId',
    cli: [base.apsJobId, '--region', 'cn_hangzhou'],
    cliField: '--region',
  },
  {
    name: 'region without a dash',
    input: withField({ regionId: 'hangzhou' }),
    field: 'regionId',
    cli: [base.apsJobId, '--region', 'hangzhou'],
    cliField: '--region',
  },
  {
    name: 'endpoint given as region',
    input: withField({ regionId: 'adb.cn-hangzhou.aliyuncs.com' }),
    field: 'regionId',
    cli: [base.apsJobId, '--region', 'adb.cn-hangzhou.aliyuncs.com'],
    cliField: '--region',
  },
  {
    name: 'empty region',
    input: withField({ regionId: '' }),
    field: 'regionId',
    cli: [base.apsJobId, '--region', ''],
    cliField: '--region',
  },
  { name: 'region null', input: withField({ regionId: null }), field: 'regionId' },
  {
    name: 'poll interval with a bad unit',
    input: withField({ pollInterval: '5x' }),
    field: 'pollInterval',
    cli: cliFor(base.apsJobId, '--poll-interval', '5x'),
  },
  {
    name: 'poll interval below the minimum',
    input: withField({ pollInterval: '100ms' }),
    field: 'pollInterval',
    cli: cliFor(base.apsJobId, '--poll-interval', '100ms'),
  },
  {
    name: 'poll interval of the wrong type',
    input: withField({ pollInterval: true }),
    field: 'pollInterval',
  },
  {
    name: 'negative timeout',
    input: withField({ timeout: '-5m' }),
    field: 'timeout',
    cli: cliFor(base.apsJobId, '--timeout=-5m'),
  },
  {
    name: 'zero timeout',
    input: withField({ timeout: '0s' }),
    field: 'timeout',
    cli: cliFor(base.apsJobId, '--timeout', '0s'),
  },
  {
    name: 'activity timeout as a word',
    input: withField({ activityTimeout: 'forever' }),
    field: 'activityTimeout',
  },
  { name: 'negative stopped grace', input: withField({ stoppedGrace: -1 }), field: 'stoppedGrace' },
  {
    name: 'retry rules not an array',
    input: withField({ retryRules: {} }),
    field: 'retryRules',
    cli: rules({}),
  },
  {
    name: 'retry rules not JSON',
    field: 'retryRules',
    cli: cliFor(base.apsJobId, '--retry-rules', '[{'),
    cliField: '--retry-rules',
  },
  {
    name: 'retry rule without errorEquals',
    input: withField({ retryRules: [{ name: 'x', maxAttempts: 3 }] }),
    field: 'retryRules[0] (name "x").errorEquals',
    cli: rules([{ name: 'x', maxAttempts: 3 }]),
  },
  {
    name: 'retry rule with negative maxAttempts',
    input: withField({ retryRules: [{ errorEquals: ['Throttling.*'], maxAttempts: -1 }] }),
    field: 'retryRules[0].maxAttempts',
    cli: rules([{ errorEquals: ['Throttling.*'], maxAttempts: -1 }]),
  },
  {
    name: 'retry rule with a bad interval',
    input: withField({ retryRules: [{ errorEquals: ['X'], maxAttempts: 3, initialInterval: 'soon' }] }),
    field: 'retryRules[0].initialInterval',
    cli: rules([{ errorEquals: ['X'], maxAttempts: 3, initialInterval: 'soon' }]),
  },
  {
    name: 'retry rule with an unknown class',
    input: withField({ retryRules: [{ errorEquals: ['@nope'], maxAttempts: 1 }] }),
    field: 'retryRules[0].errorEquals[0]',
    cli: rules([{ errorEquals: ['@nope'], maxAttempts: 1 }]),
  },
  {
    name: 'retry rule as a string',
    input: withField({ retryRules: ['Throttling'] }),
    field: 'retryRules[0]',
  },
  {
    name: 'unknown target',
    input: withField({ target: 'stopped' }),
    field: 'target',
    cli: cliFor(base.apsJobId, '--target', 'stopped'),
    cliField: '--target',
  },
  {
    name: 'unknown onCancel',
    input: withField({ onCancel: 'delete' }),
    field: 'onCancel',
    cli: cliFor(base.apsJobId, '--on-cancel', 'delete'),
    cliField: '--on-cancel',
  },
  { name: 'misspelt field', input: withField({ pollIntervall: '1s' }), field: 'pollIntervall' },
  { name: 'input null', input: null, field: 'input' },
  { name: 'input an array', input: [base], field: 'input' },
  { name: 'input a string', input: 'aps-valid-0001', field: 'input' },
];

/** Runs `aps-jobs start …` (tsx src/cli.ts, as `npx tsx src/cli.ts`) and returns what it did. */
function runCli(
  args: string[],
  taskQueue: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      join(ROOT, 'node_modules', '.bin', 'tsx'),
      [join(ROOT, 'src', 'cli.ts'), '--address', DEAD_ADDRESS, '--task-queue', taskQueue, 'start', ...args],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('reliability: bad input', function () {
  this.timeout(10 * 60_000);
  let stage: Stage | undefined;
  after(async () => {
    await stage?.stop();
  });

  it(`[${ID}] ${CASES.length} bad inputs via the workflow, startJobRun and the CLI: rejected, field named, no API call`, async () => {
    const t0 = Date.now();
    const { client } = suite();
    stage = await startStage({
      id: ID,
      workers: 2,
      emulator: { seed: emulatorSeed(ID), autoCreateJobs: true },
    });
    const { emulator, taskQueue } = stage;
    const helperQueue = `${ID}-helper-${randomUUID().slice(0, 8)}`;
    const cliQueue = `${ID}-cli-${randomUUID().slice(0, 8)}`;
    const problems: string[] = [];
    const names = (c: Case, what: string, text: string, field: string): void => {
      if (!text.includes(field))
        problems.push(`${c.name} (${what}): ${JSON.stringify(text)} does not name ${field}`);
    };

    // 1. The workflow, given the raw input.
    const workflowCases = CASES.filter((c) => 'input' in c);
    let workflowRejected = 0;
    const ended: Record<string, number> = {};
    await mapLimit(workflowCases, 8, async (c) => {
      const handle = await client.workflow.start(runApsJob, {
        taskQueue,
        workflowId: `${ID}-${randomUUID()}`,
        args: [c.input as RunApsJobInput],
        workflowExecutionTimeout: '2m',
      });
      const err = await handle.result().then(
        () => undefined,
        (e: unknown) => e,
      );
      const how =
        err === undefined
          ? 'completed'
          : err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure
            ? (err.cause.type ?? 'ApplicationFailure')
            : 'other';
      ended[how] = (ended[how] ?? 0) + 1;
      if (!(err instanceof WorkflowFailedError) || !(err.cause instanceof ApplicationFailure)) {
        problems.push(`${c.name} (workflow): ended with ${String(err)}`);
        return;
      }
      const f = err.cause;
      const field = (f.details?.[0] as { field?: string } | undefined)?.field;
      if (f.type !== FailureTypes.InvalidWorkflowInput || f.nonRetryable !== true || field !== c.field) {
        problems.push(
          `${c.name} (workflow): ${f.type} nonRetryable=${f.nonRetryable} field=${field}: ${f.message}`,
        );
        return;
      }
      names(c, 'workflow', f.message, c.field);
      workflowRejected += 1;
    });

    // 2. The client helper: throws before any call.
    let helperRejected = 0;
    for (const c of workflowCases) {
      const err = await startJobRun(client, c.input as RunApsJobInput, { taskQueue: helperQueue }).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (!(err instanceof InputValidationError) || err.field !== c.field) {
        problems.push(`${c.name} (startJobRun): ${String(err)}`);
        continue;
      }
      names(c, 'startJobRun', err.message, c.field);
      helperRejected += 1;
    }

    // 3. The CLI, as a child process.
    const cliCases = CASES.filter((c) => c.cli !== undefined);
    let cliRejected = 0;
    let helpAfterError = 0;
    await mapLimit(cliCases, 3, async (c) => {
      const r = await runCli(c.cli as string[], cliQueue);
      const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
      const errorLines = lines.filter((l) => l.startsWith('error:'));
      const field = c.cliField ?? c.field;
      if (r.code !== 2)
        problems.push(`${c.name} (CLI): exit ${r.code}, stderr ${JSON.stringify(r.stderr.slice(0, 300))}`);
      else if (errorLines.length !== 1 || lines[0] !== errorLines[0]) {
        problems.push(
          `${c.name} (CLI): expected one leading 'error:' line, got ${JSON.stringify(r.stderr.slice(0, 300))}`,
        );
      } else if (/^\s+at\s/m.test(r.stderr)) problems.push(`${c.name} (CLI): stack trace on stderr`);
      else if (r.stdout !== '')
        problems.push(`${c.name} (CLI): printed ${JSON.stringify(r.stdout.slice(0, 200))}`);
      else {
        names(c, 'CLI', errorLines[0] ?? '', field);
        cliRejected += 1;
        if (lines.length > 1) helpAfterError += 1;
      }
    });

    const created = {
      helper: (await client.workflow.count(`TaskQueue = "${helperQueue}"`)).count,
      cli: (await client.workflow.count(`TaskQueue = "${cliQueue}"`)).count,
    };
    const apiCalls = emulator.counters().requests;
    const duplicateStartCalls = Object.values(emulator.counters().duplicateStartCalls).reduce(
      (a, b) => a + b,
      0,
    );
    record({
      id: ID,
      jobs: workflowCases.length,
      completed: ended.completed ?? 0,
      failed: Object.fromEntries(Object.entries(ended).filter(([k]) => k !== 'completed')),
      stuck: 0,
      doubleStarts: 0,
      duplicateStartCalls,
      apiCalls,
      wallMs: Date.now() - t0,
      notes:
        `${CASES.length} cases rejected naming the field: workflow ${workflowRejected}/${workflowCases.length}, ` +
        `startJobRun ${helperRejected}/${workflowCases.length}, CLI ${cliRejected}/${cliCases.length} ` +
        `(exit 2, one error line, no stack, before connecting); workflows created by helper/CLI ${created.helper + created.cli}`,
      details: {
        cases: CASES.map((c) => ({ name: c.name, field: c.field, cli: c.cli !== undefined })),
        workflowRejected,
        helperRejected,
        cliRejected,
        cliUsagePrintedAfterError: helpAfterError,
        workflowsCreatedByHelperOrCli: created,
        problems,
      },
    });

    assert.ok(CASES.length >= 20);
    assert.deepEqual(problems, [], 'inputs not rejected as they should be');
    assert.equal(apiCalls, 0, 'bad input reached the APS API');
    assert.equal(duplicateStartCalls, 0, 'bad input sent a start to a running job');
    assert.deepEqual(created, { helper: 0, cli: 0 }, 'rejected input still started workflows');
  });
});
