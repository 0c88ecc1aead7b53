import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import {
  jobScheduleId,
  jobWorkflowId,
  supervisorWorkflowId,
  type RunApsJobInput,
  type ScheduleOverlap,
} from '../src/api';
import {
  ConflictingRunError,
  JobScheduleNotFoundError,
  ScheduleExistsError,
  ScheduleSpecError,
  backfillJobSchedule,
  cancelJobRun,
  cancelSupervisor,
  createJobSchedule,
  deleteJobSchedule,
  describeJobSchedule,
  listJobSchedules,
  pauseJobSchedule,
  startJobRun,
  startSupervisor,
  triggerJobSchedule,
  unpauseJobSchedule,
  type JobScheduleView,
} from '../src/client';
import { InputValidationError } from '../src/validation';
import { scheduledApsJobRun } from '../src/workflows/scheduled-aps-job-run';
import { testEnv } from './support/env';
import { runCli } from './support/cli';
import { eventually, livePhase, startStack, type Stack } from './support/stack';
import { maybeRecordHistory } from './support/histories';

const region = 'cn-hangzhou';
const newJobId = (): string => `aps-sc-${randomUUID().slice(0, 10)}`;
// Never due during a test: actions come from trigger and backfill only.
const CRON = '0 2 1 1 *';

/** Every execution the server holds under the job's workflow ID, oldest first. */
async function jobRuns(
  client: Client,
  apsJobId: string,
): Promise<{ runId: string; status: string; start: number; close?: number }[]> {
  const out = [];
  for await (const w of client.workflow.list({
    query: `WorkflowId = "${jobWorkflowId(region, apsJobId)}"`,
  })) {
    out.push({
      runId: w.runId,
      status: w.status.name,
      start: w.startTime.getTime(),
      close: w.closeTime?.getTime(),
    });
  }
  return out.sort((a, b) => a.start - b.start);
}

/** Actions open now, as the recent actions' own workflows say. */
function openActions(v: JobScheduleView): number {
  return v.recent.filter((r) => r.status === 'RUNNING').length;
}

/**
 * Waits for the next wall-clock second: the server names an action's workflow after its time to
 * the second, so two triggers within one second would make one action.
 */
async function nextSecond(): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  await eventually(() => Math.floor(Date.now() / 1000) > now, 3_000, 'the next second');
}

/** Runs of the job never overlapped: each started after the one before it had closed. */
function assertOneAtATime(runs: { start: number; close?: number }[]): void {
  for (let i = 1; i < runs.length; i++) {
    const prev = runs[i - 1]!;
    assert.ok(
      prev.close !== undefined && prev.close <= runs[i]!.start,
      `runs overlap: ${JSON.stringify(runs)}`,
    );
  }
}

describe('schedules (real dev server, real worker, emulator)', function () {
  this.timeout(120_000);
  let stack: Stack;
  let client: Client;
  const schedules: string[] = [];
  const jobs: string[] = [];
  before(async () => {
    stack = await startStack({ emulator: { seed: 77 } });
    client = testEnv().client;
  });
  after(async () => {
    for (const id of schedules) await deleteJobSchedule(client, id).catch(() => undefined);
    for (const apsJobId of jobs) {
      for (const id of [jobWorkflowId(region, apsJobId), supervisorWorkflowId(region, apsJobId)]) {
        const h = client.workflow.getHandle(id);
        if ((await h.describe().catch(() => undefined))?.status.name === 'RUNNING')
          await h.terminate('test over');
      }
    }
    for await (const w of client.workflow.list({
      query: `ExecutionStatus = "Running" AND TaskQueue = "${stack.taskQueue}"`,
    })) {
      await client.workflow
        .getHandle(w.workflowId, w.runId)
        .terminate('test over')
        .catch(() => undefined);
    }
    await stack?.stop();
  });

  /** A batch job that runs until the test sets it COMPLETED (or for `polls` reads). */
  function batchJob(polls = 1_000_000): string {
    const apsJobId = newJobId();
    stack.emulator.addJob({ apsJobId, regionId: region, kind: 'batch', runningPollsToComplete: polls });
    jobs.push(apsJobId);
    return apsJobId;
  }

  function runInput(apsJobId: string): RunApsJobInput {
    return { regionId: region, apsJobId, target: 'completed', pollInterval: '1s' };
  }

  async function schedule(apsJobId: string, overlap: ScheduleOverlap): Promise<string> {
    const created = await createJobSchedule(
      client,
      { run: runInput(apsJobId), cron: CRON, overlap },
      { taskQueue: stack.taskQueue },
    );
    schedules.push(created.scheduleId);
    return created.scheduleId;
  }

  /** The schedule once `check` holds for its description. */
  function scheduleWhen(
    id: string,
    what: string,
    check: (v: JobScheduleView) => boolean,
    timeoutMs = 60_000,
  ): Promise<JobScheduleView> {
    let last: JobScheduleView | undefined;
    return eventually(
      async () => {
        last = await describeJobSchedule(client, id);
        return check(last) ? last : undefined;
      },
      timeoutMs,
      what,
    ).then(
      (v) => v!,
      (e: Error) => {
        throw new Error(
          `${e.message}; last: ${JSON.stringify(last?.recent)} running ${JSON.stringify(last?.running)}`,
        );
      },
    );
  }

  /**
   * The job's run once it is open and waiting on the job (started or attached): a status set on
   * the job from then on is the run's to see.
   */
  function openRun(apsJobId: string): Promise<string> {
    return eventually(
      async () => {
        const handle = client.workflow.getHandle(jobWorkflowId(region, apsJobId));
        const d = await handle.describe();
        return d.status.name === 'RUNNING' && (await livePhase(handle)) === 'waiting' ? d.runId : undefined;
      },
      30_000,
      `the run of ${apsJobId} waiting`,
    ).then((v) => v!);
  }

  it('creates a schedule with the default ID and next runs; refuses bad input naming the field, a taken ID, a bad cron', async () => {
    const apsJobId = batchJob();
    const created = await createJobSchedule(
      client,
      {
        run: runInput(apsJobId),
        cron: '0 2 * * *',
        timezone: 'Asia/Shanghai',
        overlap: 'buffer-one',
        catchupWindow: '1h',
      },
      { taskQueue: stack.taskQueue },
    );
    schedules.push(created.scheduleId);
    assert.equal(created.scheduleId, jobScheduleId(region, apsJobId));
    assert.equal(created.nextRuns.length, 5);
    // 02:00 in Shanghai is 18:00 UTC.
    for (const t of created.nextRuns) assert.equal(t.toISOString().slice(11), '18:00:00.000Z');

    const view = await describeJobSchedule(client, created.scheduleId);
    assert.deepEqual(view.schedule, {
      regionId: region,
      apsJobId,
      cron: '0 2 * * *',
      timezone: 'Asia/Shanghai',
      overlap: 'buffer-one',
    });
    assert.equal(view.catchupWindowMs, 3_600_000);
    assert.equal(view.paused, false);
    assert.deepEqual(view.recent, []);
    assert.ok((await listJobSchedules(client)).some((s) => s.scheduleId === created.scheduleId));

    const taken = await createJobSchedule(
      client,
      { run: runInput(apsJobId), cron: CRON },
      { taskQueue: stack.taskQueue },
    ).then(
      () => assert.fail('a second schedule under the same ID'),
      (e: unknown) => e,
    );
    assert.ok(taken instanceof ScheduleExistsError, String(taken));
    assert.match(taken.message, new RegExp(`schedule ${created.scheduleId} already exists`));

    const other = newJobId();
    const bad: [Parameters<typeof createJobSchedule>[1], RegExp][] = [
      [{ run: { ...runInput(other), pollInterval: 'often' }, cron: CRON }, /^Invalid pollInterval: /],
      [
        { run: runInput(other), cron: CRON, timezone: 'Mars/Base' },
        /^Invalid timezone: expected an IANA time zone/,
      ],
      [{ run: runInput(other), cron: CRON, overlap: 'sometimes' as ScheduleOverlap }, /^Invalid overlap: /],
      [{ run: runInput(other), cron: CRON, catchupWindow: '5s' }, /^Invalid catchupWindow: .*at least 10s/],
      [{ run: runInput(other), cron: '' }, /^Invalid cron: /],
    ];
    for (const [input, message] of bad) {
      const err = await createJobSchedule(client, input, { taskQueue: stack.taskQueue }).then(
        () => assert.fail(`expected ${JSON.stringify(input)} to be refused`),
        (e: unknown) => e,
      );
      assert.ok(err instanceof InputValidationError, String(err));
      assert.match(err.message, message);
    }
    const cron = await createJobSchedule(
      client,
      { run: runInput(other), cron: '61 * * * *' },
      { taskQueue: stack.taskQueue },
    ).then(
      () => assert.fail('a bad cron'),
      (e: unknown) => e,
    );
    assert.ok(cron instanceof ScheduleSpecError, String(cron));
    assert.equal(cron.message.split('\n').length, 1);
    assert.match(cron.message, /^Invalid cron: the server refused "61 \* \* \* \*": /);
    const none = await describeJobSchedule(client, jobScheduleId(region, other)).catch((e: unknown) => e);
    assert.ok(none instanceof JobScheduleNotFoundError, String(none));
  });

  it('skip: an action that finds a manual run open skips it; one that finds its own previous action open is skipped by the schedule', async () => {
    const apsJobId = batchJob();
    const manual = await startJobRun(client, runInput(apsJobId), { taskQueue: stack.taskQueue });
    const id = await schedule(apsJobId, 'skip');
    await nextSecond();
    await triggerJobSchedule(client, id);
    const first = await scheduleWhen(id, 'the first action done', (v) => v.recent[0]?.status === 'COMPLETED');
    assert.equal(first.recent[0]?.action, 'skipped');
    assert.equal(first.recent[0]?.jobRunId, manual.handle.firstExecutionRunId);
    assert.match(first.recent[0]?.reason ?? '', /open \(overlap skip\)/);

    // The manual run ends (the job is left running); the next action starts the job's run, which
    // finds the job running and attaches to it.
    await cancelJobRun(client, region, apsJobId);
    await manual.handle.result().catch(() => undefined);
    await nextSecond();
    await triggerJobSchedule(client, id);
    const scheduledRun = await openRun(apsJobId);
    await scheduleWhen(id, 'one action running', (v) => openActions(v) === 1);
    await nextSecond();
    await triggerJobSchedule(client, id);
    const skipped = await scheduleWhen(
      id,
      'an action skipped by the schedule',
      (v) => v.skippedOverlap === 1,
    );
    assert.equal(skipped.actionsTaken, 2);
    assert.equal(openActions(skipped), 1);

    stack.emulator.setJobStatus(apsJobId, 'COMPLETED');
    const done = await scheduleWhen(
      id,
      'the second action done',
      (v) => openActions(v) === 0 && v.recent[0]?.status === 'COMPLETED',
    );
    assert.equal(done.recent[0]?.action, 'started');
    assert.equal(done.recent[0]?.jobRunId, scheduledRun);
    const runs = await jobRuns(client, apsJobId);
    assert.equal(runs.length, 2);
    assertOneAtATime(runs);
    assert.equal(stack.emulator.effectiveStarts(apsJobId), 1);
  });

  it('buffer-one: an action waits for an open manual run to close, then starts; a second action waits for the first', async () => {
    const apsJobId = batchJob();
    const manual = await startJobRun(client, runInput(apsJobId), { taskQueue: stack.taskQueue });
    const id = await schedule(apsJobId, 'buffer-one');
    await nextSecond();
    await triggerJobSchedule(client, id);
    await scheduleWhen(id, 'the action waiting', (v) => openActions(v) === 1);
    assert.equal((await jobRuns(client, apsJobId)).length, 1);
    await cancelJobRun(client, region, apsJobId);
    await manual.handle.result().catch(() => undefined);
    const scheduledRun = await openRun(apsJobId);
    assert.notEqual(scheduledRun, manual.handle.firstExecutionRunId);
    stack.emulator.setJobStatus(apsJobId, 'COMPLETED');
    const done = await scheduleWhen(id, 'the action done', (v) => v.recent[0]?.status === 'COMPLETED');
    assert.equal(done.recent[0]?.action, 'started');
    assert.equal(done.recent[0]?.jobRunId, scheduledRun);
    const action = client.workflow.getHandle<typeof scheduledApsJobRun>(done.recent[0]?.workflowId ?? '');
    const result = await action.result();
    await maybeRecordHistory(action, 'scheduled-run-buffer-one');
    assert.deepEqual(result.waitedFor, [
      { runId: manual.handle.firstExecutionRunId, status: 'CANCELLED', cancelled: false },
    ]);
    assertOneAtATime(await jobRuns(client, apsJobId));
    assert.equal(stack.emulator.effectiveStarts(apsJobId), 1);

    // Between its own actions: the second is buffered by the schedule until the first is done.
    const quick = batchJob(3);
    const id2 = await schedule(quick, 'buffer-one');
    await nextSecond();
    await triggerJobSchedule(client, id2);
    await scheduleWhen(id2, 'the first action running', (v) => openActions(v) === 1);
    await nextSecond();
    await triggerJobSchedule(client, id2);
    const both = await scheduleWhen(
      id2,
      'both actions done',
      (v) => v.recent.length === 2 && v.recent.every((r) => r.status === 'COMPLETED'),
    );
    assert.deepEqual(
      both.recent.map((r) => r.action),
      ['started', 'started'],
    );
    const runs = await jobRuns(client, quick);
    assert.equal(runs.length, 2);
    assertOneAtATime(runs);
    // Run twice, one after the other: the batch job was started once per run.
    assert.equal(stack.emulator.effectiveStarts(quick), 2);
  });

  it('cancel-other: an action cancels an open manual run before it starts; the next action cancels the previous one', async () => {
    const apsJobId = batchJob();
    const manual = await startJobRun(client, runInput(apsJobId), { taskQueue: stack.taskQueue });
    const id = await schedule(apsJobId, 'cancel-other');
    await nextSecond();
    await triggerJobSchedule(client, id);
    await manual.handle.result().catch(() => undefined);
    assert.equal((await manual.handle.describe()).status.name, 'CANCELLED');
    const firstScheduled = await openRun(apsJobId);
    assert.notEqual(firstScheduled, manual.handle.firstExecutionRunId);

    await scheduleWhen(id, 'the first action running', (v) => openActions(v) === 1);
    await nextSecond();
    await triggerJobSchedule(client, id);
    const second = await eventually(
      async () => {
        const runs = await jobRuns(client, apsJobId);
        return runs.length === 3 && runs[2]?.status === 'RUNNING' ? runs : undefined;
      },
      60_000,
      'the third run open',
    ).then((v) => v!);
    assert.equal(second[1]?.runId, firstScheduled);
    assert.equal(second[1]?.status, 'CANCELLED');
    assert.equal(await openRun(apsJobId), second[2]?.runId);
    stack.emulator.setJobStatus(apsJobId, 'COMPLETED');
    const done = await scheduleWhen(
      id,
      'both actions closed',
      (v) => openActions(v) === 0 && v.recent.length === 2 && v.recent[0]?.status === 'COMPLETED',
    );
    assert.equal(done.recent[1]?.status, 'CANCELLED');
    assert.equal(done.recent[0]?.action, 'started');
    // The schedule started the second action only once the first (and its run) had closed.
    const result = await client.workflow
      .getHandle<typeof scheduledApsJobRun>(done.recent[0]?.workflowId ?? '')
      .result();
    assert.equal(result.waitedFor, undefined);
    assertOneAtATime(await jobRuns(client, apsJobId));
    // Each cancel left the job running (onCancel leave): every later run attached to it.
    assert.equal(stack.emulator.effectiveStarts(apsJobId), 1);
  });

  it('allow-all: actions join the open run (manual or scheduled) and never start the job twice; a manual start with the same input joins a scheduled run', async () => {
    const apsJobId = batchJob();
    const id = await schedule(apsJobId, 'allow-all');
    await nextSecond();
    await triggerJobSchedule(client, id);
    const scheduledRun = await openRun(apsJobId);
    // The scheduled run carries the input hash: a manual start with the same input joins it, one
    // with different input is refused.
    const joined = await startJobRun(client, runInput(apsJobId), { taskQueue: stack.taskQueue });
    assert.equal(joined.handle.firstExecutionRunId, scheduledRun);
    const conflict = await startJobRun(
      client,
      { ...runInput(apsJobId), pollInterval: '2s' },
      { taskQueue: stack.taskQueue },
    ).then(
      () => assert.fail('a different input'),
      (e: unknown) => e,
    );
    assert.ok(conflict instanceof ConflictingRunError, String(conflict));

    await nextSecond();
    await triggerJobSchedule(client, id);
    await nextSecond();
    await triggerJobSchedule(client, id);
    await scheduleWhen(id, 'three actions open', (v) => openActions(v) === 3);
    assert.equal((await jobRuns(client, apsJobId)).length, 1);
    stack.emulator.setJobStatus(apsJobId, 'COMPLETED');
    const done = await scheduleWhen(
      id,
      'three actions done',
      (v) => v.recent.length === 3 && v.recent.every((r) => r.status === 'COMPLETED'),
    );
    assert.deepEqual(done.recent.map((r) => r.action).sort(), ['joined', 'joined', 'started']);
    for (const r of done.recent) assert.equal(r.jobRunId, scheduledRun);
    assert.equal((await jobRuns(client, apsJobId)).length, 1);
    assert.equal(stack.emulator.effectiveStarts(apsJobId), 1);

    // A manual run open: an action joins it.
    const other = batchJob();
    const manual = await startJobRun(client, runInput(other), { taskQueue: stack.taskQueue });
    const id2 = await schedule(other, 'allow-all');
    await nextSecond();
    await triggerJobSchedule(client, id2);
    await scheduleWhen(id2, 'the action open', (v) => openActions(v) === 1);
    await openRun(other);
    stack.emulator.setJobStatus(other, 'COMPLETED');
    const joinedManual = await scheduleWhen(
      id2,
      'the action done',
      (v) => v.recent[0]?.status === 'COMPLETED',
    );
    assert.equal(joinedManual.recent[0]?.action, 'joined');
    assert.equal(joinedManual.recent[0]?.jobRunId, manual.handle.firstExecutionRunId);
    assert.equal((await jobRuns(client, other)).length, 1);
    assert.equal(stack.emulator.effectiveStarts(other), 1);
  });

  it('every policy: an action fails with OrchestratorConflict while the job has a supervisor, and starts nothing', async () => {
    const apsJobId = newJobId();
    jobs.push(apsJobId);
    stack.emulator.addJob({ apsJobId, regionId: region, kind: 'streaming' });
    await startSupervisor(
      client,
      { regionId: region, apsJobId, checkInterval: '1h', pollInterval: '1s' },
      { taskQueue: stack.taskQueue },
    );
    // The supervisor starts the job once; nothing after that.
    await eventually(
      () => stack.emulator.effectiveStarts(apsJobId) === 1,
      30_000,
      'the supervisor starting the job',
    );
    for (const overlap of ['skip', 'buffer-one', 'cancel-other', 'allow-all'] as const) {
      const created = await createJobSchedule(
        client,
        {
          run: runInput(apsJobId),
          cron: CRON,
          overlap,
          scheduleId: `aps-schedule-test:${overlap}:${apsJobId}`,
        },
        { taskQueue: stack.taskQueue },
      );
      schedules.push(created.scheduleId);
      await triggerJobSchedule(client, created.scheduleId);
      const v = await scheduleWhen(
        created.scheduleId,
        `${overlap}: the action failed`,
        (x) => x.recent[0]?.status === 'FAILED',
      );
      assert.match(
        v.recent[0]?.reason ?? '',
        new RegExp(`^OrchestratorConflict: .*supervisor ${supervisorWorkflowId(region, apsJobId)} is open`),
      );
    }
    const runs = await jobRuns(client, apsJobId);
    assert.equal(runs.length, 0, JSON.stringify(runs));
    assert.equal(stack.emulator.effectiveStarts(apsJobId), 1);
    await cancelSupervisor(client, region, apsJobId);
  });

  it('backfill takes the actions of a past window under the overlap policy; pause and unpause', async () => {
    const apsJobId = batchJob(1);
    const created = await createJobSchedule(
      client,
      { run: runInput(apsJobId), cron: '* * * * *', overlap: 'skip', paused: true },
      { taskQueue: stack.taskQueue },
    );
    schedules.push(created.scheduleId);
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    // Three minute marks: minute − 3m, − 2m, − 1m.
    const from = new Date(minute - 3 * 60_000 - 30_000).toISOString();
    const to = new Date(minute - 30_000).toISOString();
    await backfillJobSchedule(client, created.scheduleId, { from, to });
    const v = await scheduleWhen(
      created.scheduleId,
      'the backfill done',
      (x) =>
        x.actionsTaken + x.skippedOverlap === 3 &&
        openActions(x) === 0 &&
        x.recent.every((r) => r.status === 'COMPLETED'),
    );
    assert.ok(v.actionsTaken >= 1, JSON.stringify(v));
    assert.deepEqual(
      v.recent.map((r) => r.scheduledAt.getTime()).sort(),
      v.recent
        .map((r) => r.scheduledAt.getTime())
        .sort()
        .filter((t) => t >= minute - 3 * 60_000 && t < minute),
    );
    assertOneAtATime(await jobRuns(client, apsJobId));
    assert.ok(stack.emulator.effectiveStarts(apsJobId) <= v.actionsTaken);

    assert.equal(v.paused, true);
    await unpauseJobSchedule(client, created.scheduleId, 'go');
    assert.equal((await describeJobSchedule(client, created.scheduleId)).paused, false);
    await pauseJobSchedule(client, created.scheduleId, 'hold');
    const paused = await describeJobSchedule(client, created.scheduleId);
    assert.equal(paused.paused, true);
    assert.equal(paused.note, 'hold');

    const bad = await backfillJobSchedule(client, created.scheduleId, { from: 'yesterday', to }).catch(
      (e: unknown) => e,
    );
    assert.ok(bad instanceof InputValidationError, String(bad));
    assert.match(bad.message, /^Invalid from: expected an ISO-8601 time/);
    const reversed = await backfillJobSchedule(client, created.scheduleId, { from: to, to: from }).catch(
      (e: unknown) => e,
    );
    assert.ok(reversed instanceof InputValidationError, String(reversed));
    await deleteJobSchedule(client, created.scheduleId);
    const gone = await triggerJobSchedule(client, created.scheduleId).catch((e: unknown) => e);
    assert.ok(gone instanceof JobScheduleNotFoundError, String(gone));
  });

  it('CLI: schedule create, describe, trigger, backfill, pause, unpause, list, delete; bad flags exit 2 with one line naming the flag', async () => {
    const apsJobId = batchJob(1);
    const env = {
      TEMPORAL_ADDRESS: testEnv().address,
      TEMPORAL_TASK_QUEUE: stack.taskQueue,
      ADB_REGION_ID: region,
    };
    const base = [
      'schedule',
      'create',
      apsJobId,
      '--target',
      'completed',
      '--poll-interval',
      '1s',
      '--cron',
      '0 2 * * *',
    ];
    const bad: [string[], RegExp][] = [
      [['--cron', '61 * * * *'], /^error: --cron: Invalid cron: the server refused "61 \* \* \* \*": .+/],
      [['--timezone', 'Mars/Base'], /^error: --timezone: Invalid timezone: expected an IANA time zone/],
      [['--catchup-window', '5s'], /^error: --catchup-window: Invalid catchupWindow: .*at least 10s/],
      [['--poll-interval', 'often'], /^error: Invalid pollInterval: /],
      [['--overlap', 'never'], /--overlap/],
    ];
    for (const [extra, message] of bad) {
      const run = await runCli([...base, ...extra], env);
      assert.equal(run.code, 2, `${extra.join(' ')}: ${run.stdout}${run.stderr}`);
      assert.match(run.stderr, message);
      if (extra[0] !== '--overlap') assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    }
    const id = jobScheduleId(region, apsJobId);
    schedules.push(id);
    const created = await runCli([...base, '--timezone', 'Asia/Shanghai'], env);
    assert.equal(created.code, 0, created.stderr);
    const out = created.stdout.trim().split('\n');
    assert.equal(out[0], `schedule ${id} created`);
    assert.equal(out.length, 6);
    assert.match(out[1] ?? '', /^next runs \d{4}-\d{2}-\d{2}T18:00:00\.000Z$/);
    const again = await runCli([...base], env);
    assert.equal(again.code, 2);
    assert.match(again.stderr, new RegExp(`^error: schedule ${id} already exists`));

    assert.equal((await runCli(['schedule', 'trigger', id], env)).code, 0);
    await scheduleWhen(id, 'the triggered action done', (v) => v.recent[0]?.status === 'COMPLETED');
    const text = await runCli(['schedule', 'describe', id], env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^job +${apsJobId} in ${region}$`, 'm'));
    assert.match(text.stdout, /^cron +0 2 \* \* \* \(Asia\/Shanghai\)$/m);
    assert.match(text.stdout, /^overlap +skip, catchup window 1m$/m);
    assert.equal(text.stdout.match(/T18:00:00\.000Z$/gm)?.length, 5);
    assert.match(
      text.stdout,
      new RegExp(
        `^recent +\\S+ COMPLETED started aps-scheduled:${region}:${apsJobId}-\\S+ \\(job run \\S+\\)$`,
        'm',
      ),
    );

    // One 02:00 Shanghai time (18:00 UTC) in the window: one action.
    const day = Math.floor(Date.now() / 86_400_000) * 86_400_000;
    const from = new Date(day - 2 * 86_400_000).toISOString();
    const to = new Date(day - 86_400_000).toISOString();
    const badFrom = await runCli(['schedule', 'backfill', id, '--from', 'last week', '--to', to], env);
    assert.equal(badFrom.code, 2);
    assert.match(badFrom.stderr, /^error: --from: Invalid from: expected an ISO-8601 time/);
    const backfill = await runCli(['schedule', 'backfill', id, '--from', from, '--to', to], env);
    assert.equal(backfill.code, 0, backfill.stderr);
    const v = await scheduleWhen(
      id,
      'the backfilled action done',
      (x) => x.recent.length === 2 && x.recent.every((r) => r.status === 'COMPLETED'),
    );
    assert.ok(
      v.recent.some(
        (r) => r.scheduledAt.toISOString() === new Date(day - 2 * 86_400_000 + 18 * 3_600_000).toISOString(),
      ),
      JSON.stringify(v.recent),
    );
    assert.equal(stack.emulator.effectiveStarts(apsJobId), 2);

    assert.equal((await runCli(['schedule', 'pause', id, '--note', 'maintenance'], env)).code, 0);
    const paused = await runCli(['schedule', 'describe', id, '--json'], env);
    assert.equal((JSON.parse(paused.stdout) as { paused: boolean; note: string }).paused, true);
    assert.match(
      (await runCli(['schedule', 'describe', id], env)).stdout,
      new RegExp(`^schedule +${id} \\(paused: maintenance\\)$`, 'm'),
    );
    assert.equal((await runCli(['schedule', 'unpause', id], env)).code, 0);
    const list = await runCli(['schedule', 'list', '--json'], env);
    const entry = (JSON.parse(list.stdout) as { scheduleId: string; paused: boolean }[]).find(
      (s) => s.scheduleId === id,
    );
    assert.equal(entry?.paused, false);

    assert.equal((await runCli(['schedule', 'delete', id], env)).code, 0);
    const gone = await runCli(['schedule', 'describe', id], env);
    assert.equal(gone.code, 1);
    assert.equal(gone.stderr, `error: no job schedule ${id} (aps-jobs schedule list shows them)\n`);
  });
});
