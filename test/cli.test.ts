import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jobWorkflowId, supervisorWorkflowId } from '../src/api';
import { testEnv } from './support/env';
import { runCli } from './support/cli';
import { eventually, startStack, type Stack } from './support/stack';

describe('aps-jobs CLI', function () {
  this.timeout(120_000);
  let stack: Stack;
  let env: Record<string, string>;
  before(async () => {
    stack = await startStack({ emulator: { seed: 5 } });
    env = {
      TEMPORAL_ADDRESS: testEnv().address,
      TEMPORAL_TASK_QUEUE: stack.taskQueue,
      ADB_REGION_ID: 'cn-hangzhou',
    };
  });
  after(async () => {
    await stack?.stop();
  });

  it('prints help for every command and exits 0', async () => {
    for (const args of [
      ['--help'],
      ['start', '--help'],
      ['status', '--help'],
      ['cancel', '--help'],
      ['run', '--help'],
      ['run', 'set-poll-interval', '--help'],
      ['run', 'set-deadline', '--help'],
      ['run', 'extend-deadline', '--help'],
      ['run', 'set-on-cancel', '--help'],
      ['demo', '--help'],
      ['jobs', 'list', '--help'],
      ['fleet', 'reconcile', '--help'],
      ['fleet', 'status', '--help'],
      ['schedule', 'create', '--help'],
      ['schedule', 'backfill', '--help'],
    ]) {
      const run = await runCli(args);
      assert.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stdout, /Usage: aps-jobs/);
    }
  });

  it('rejects a bad job ID with one clear line naming the field, exit 2, nothing started', async () => {
    const before = stack.emulator.counters().requests;
    const run = await runCli(['start', 'bad id', '--region', 'cn-hangzhou'], env);
    assert.equal(run.code, 2);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.match(run.stderr, /^error: Invalid apsJobId: expected an APS job ID/);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
    assert.equal(stack.emulator.counters().requests, before);
  });

  it('rejects a bad region and a bad duration, naming the flag or field', async () => {
    const region = await runCli(['start', 'aps-x1', '--region', 'Hangzhou'], env);
    assert.equal(region.code, 2);
    assert.match(region.stderr, /--region/);
    const duration = await runCli(
      ['start', 'aps-x1', '--region', 'cn-hangzhou', '--poll-interval', 'often'],
      env,
    );
    assert.equal(duration.code, 2);
    assert.match(duration.stderr, /pollInterval/);
    const adaptive = await runCli(
      ['start', 'aps-x1', '--region', 'cn-hangzhou', '--poll-interval', '10s', '--poll-max', '5s'],
      env,
    );
    assert.equal(adaptive.code, 2);
    assert.match(adaptive.stderr, /pollInterval\.max/);
    const heartbeat = await runCli(
      ['start', 'aps-x1', '--region', 'cn-hangzhou', '--heartbeat-timeout', '5s'],
      env,
    );
    assert.equal(heartbeat.code, 2);
    assert.match(heartbeat.stderr, /heartbeatTimeout/);
    const coefficient = await runCli(
      ['start', 'aps-x1', '--region', 'cn-hangzhou', '--poll-max', '2m', '--poll-coefficient', 'fast'],
      env,
    );
    assert.equal(coefficient.code, 2);
    assert.match(coefficient.stderr, /pollInterval\.coefficient/);
    const choice = await runCli(['start', 'aps-x1', '--region', 'cn-hangzhou', '--target', 'done'], env);
    assert.equal(choice.code, 2);
    assert.match(choice.stderr, /--target/);
  });

  it('says clearly when Temporal cannot be reached', async () => {
    const run = await runCli(
      ['status', 'aps-x1', '--region', 'cn-hangzhou', '--address', '127.0.0.1:1'],
      {},
      60_000,
    );
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^error: cannot reach Temporal at 127\.0\.0\.1:1/);
  });

  it('start --wait follows a job to running (plain lines when not a TTY) and exits 0; status and --json report it', async () => {
    const apsJobId = `aps-cli-${randomUUID().slice(0, 8)}`;
    stack.emulator.addJob({ apsJobId, regionId: 'cn-hangzhou', kind: 'streaming', startingPolls: 2 });
    stack.emulator.injectFault({
      kind: 'error',
      code: 'Throttling.User',
      action: 'StartApsJob',
      apsJobId,
      times: 1,
    });
    const run = await runCli(['start', apsJobId, '--poll-interval', '1s', '--wait'], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^${apsJobId}: Running \\(started, \\d+ polls\\)`));
    assert.match(run.stderr, /phase=(starting|waiting)/);
    assert.equal(stack.emulator.effectiveStarts(apsJobId), 1);
    // The run was started and waited on by one Update-with-Start: its update is in the history.
    const history = await testEnv()
      .client.workflow.getHandle(jobWorkflowId('cn-hangzhou', apsJobId))
      .fetchHistory();
    const updates = (history.events ?? []).flatMap(
      (e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name ?? [],
    );
    assert.deepEqual(updates, ['awaitRun']);

    const status = await runCli(['status', apsJobId, '--json'], env);
    assert.equal(status.code, 0, status.stderr);
    const view = JSON.parse(status.stdout) as {
      executionStatus: string;
      status: { phase: string; lastStatus: string };
    };
    assert.equal(view.executionStatus, 'COMPLETED');
    assert.equal(view.status.phase, 'done');
    assert.equal(view.status.lastStatus, 'Running');
  });

  it('start --wait exits 1 with a one-line reason when the job fails', async () => {
    const apsJobId = `aps-cli-${randomUUID().slice(0, 8)}`;
    stack.emulator.addJob({
      apsJobId,
      regionId: 'cn-hangzhou',
      kind: 'failing',
      failAfterPolls: 0,
      errMessage: 'no such topic',
    });
    const run = await runCli(
      ['start', apsJobId, '--target', 'completed', '--poll-interval', '1s', '--wait'],
      env,
    );
    assert.equal(run.code, 1);
    assert.match(run.stderr, new RegExp(`error: ${apsJobId}: ApsJobFailed: .*no such topic`));
  });

  it('start --wait and status print a failed job’s newest ERROR lines and the console link', async () => {
    const apsJobId = `aps-cli-${randomUUID().slice(0, 8)}`;
    stack.emulator.addJob({
      apsJobId,
      regionId: 'cn-hangzhou',
      kind: 'failing',
      failAfterPolls: 0,
      errMessage: 'no such topic',
      destinationInstanceId: 'amv-cli1',
      actionLogs: [
        ...Array.from({ length: 6 }, (_, i) => ({ context: `older error ${i}` })),
        { context: 'consumer failed:\n  UNKNOWN_TOPIC_OR_PARTITION' },
      ],
    });
    const url = 'https://adb.console.aliyun.com/adb/cn-hangzhou/mysql/cluster/amv-cli1/basicInfo';
    const run = await runCli(
      ['start', apsJobId, '--target', 'completed', '--poll-interval', '1s', '--wait'],
      env,
    );
    assert.equal(run.code, 1);
    assert.equal(run.stderr.trim().split('\n').at(-1)?.startsWith(`error: ${apsJobId}: ApsJobFailed`), true);
    const out = run.stdout.trim().split('\n');
    // Newest first, one line each (the newline in the text is folded), five shown, then the link.
    assert.match(
      out[0] ?? '',
      /^reasons +\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z ERROR IncrementalSync: consumer failed: UNKNOWN_TOPIC_OR_PARTITION$/,
    );
    assert.match(out[1] ?? '', /: older error 5$/);
    assert.match(out[4] ?? '', /: older error 2$/);
    assert.match(out[5] ?? '', /\(5 of 7 lines shown; all kept in --json\)/);
    assert.equal(out[6], `console    ${url}`);

    const status = await runCli(['status', apsJobId], env);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^last error ApsJobFailed$/m);
    assert.match(
      status.stdout,
      /^reasons +\S+ ERROR IncrementalSync: consumer failed: UNKNOWN_TOPIC_OR_PARTITION$/m,
    );
    assert.match(status.stdout, new RegExp(`^console +${url.replace(/[.]/g, '\\.')}$`, 'm'));
    const json = await runCli(['status', apsJobId, '--json'], env);
    const view = JSON.parse(json.stdout) as {
      jobFailure?: { errMessage?: string; actionLogs?: unknown[]; consoleUrl?: string };
    };
    assert.equal(view.jobFailure?.errMessage, 'no such topic');
    assert.equal(view.jobFailure?.actionLogs?.length, 7);
    assert.equal(view.jobFailure?.consoleUrl, url);
  });

  it('start joins the running workflow for the same job; cancel --suspend suspends the job', async () => {
    const apsJobId = `aps-cli-${randomUUID().slice(0, 8)}`;
    stack.emulator.addJob({
      apsJobId,
      regionId: 'cn-hangzhou',
      kind: 'batch',
      runningPollsToComplete: 1_000_000,
    });
    const args = ['start', apsJobId, '--target', 'completed', '--poll-interval', '1s', '--json'];
    const [a, b] = await Promise.all([runCli(args, env), runCli(args, env)]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.ok(!a.stderr.includes('no worker polls'), a.stderr);
    const ra = JSON.parse(a.stdout) as { workflowId: string; runId: string };
    const rb = JSON.parse(b.stdout) as { workflowId: string; runId: string };
    assert.equal(ra.workflowId, `aps-job:cn-hangzhou:${apsJobId}`);
    assert.equal(ra.runId, rb.runId);

    const cancel = await runCli(['cancel', apsJobId, '--suspend'], env);
    assert.equal(cancel.code, 0, cancel.stderr);
    const handle = testEnv().client.workflow.getHandle(ra.workflowId);
    await handle.result().then(
      () => assert.fail('expected a cancelled run'),
      () => undefined,
    );
    assert.equal((await handle.describe()).status.name, 'CANCELLED');
    assert.equal(stack.emulator.job(apsJobId)?.status, 'Suspended');
    assert.equal(stack.emulator.effectiveStarts(apsJobId), 1);
  });
  it('with no worker on the task queue, start and status say so in one line; status answers from the server', async () => {
    const apsJobId = `aps-cli-${randomUUID().slice(0, 8)}`;
    const lonely = `no-worker-${randomUUID().slice(0, 8)}`;
    const e = { ...env, TEMPORAL_TASK_QUEUE: lonely };
    const start = await runCli(['start', apsJobId], e);
    assert.equal(start.code, 0, start.stderr);
    const line = `no worker polls task queue ${lonely}; the run waits until one does; start one with \`aps-jobs worker\``;
    assert.equal(start.stderr.trim(), line);
    try {
      const status = await runCli(['status', apsJobId], e);
      assert.equal(status.code, 0, status.stderr);
      assert.equal(status.stderr.trim(), line);
      assert.match(status.stdout, /^phase +starting \(as last recorded; no worker answered\)$/m);
      assert.match(status.stdout, /^workflow +aps-job:cn-hangzhou:aps-cli-\S+ \(RUNNING\)$/m);
    } finally {
      await testEnv()
        .client.workflow.getHandle(jobWorkflowId('cn-hangzhou', apsJobId))
        .terminate('test over');
    }
  });

  it('--retry-rules @file that cannot be read exits 2 with one line naming the option and the path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aps-cli-'));
    const form = 'give a JSON array, or @ and the path of a readable JSON file';
    try {
      const missing = join(dir, 'rules.json');
      for (const command of ['start', 'supervise']) {
        const run = await runCli([command, 'aps-x1', '--retry-rules', `@${missing}`], env);
        assert.equal(run.code, 2, `${command}: ${run.stderr}`);
        assert.equal(run.stderr, `error: --retry-rules: cannot read @${missing}: no such file (${form})\n`);
      }
      const directory = await runCli(['start', 'aps-x1', '--retry-rules', `@${dir}`], env);
      assert.equal(directory.code, 2, directory.stderr);
      assert.equal(
        directory.stderr,
        `error: --retry-rules: cannot read @${dir}: it is a directory (${form})\n`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('start with different input while the run is open exits 2 with one line naming the workflow and the way out', async () => {
    const apsJobId = `aps-cli-${randomUUID().slice(0, 8)}`;
    stack.emulator.addJob({
      apsJobId,
      regionId: 'cn-hangzhou',
      kind: 'batch',
      runningPollsToComplete: 1_000_000,
    });
    const base = ['start', apsJobId, '--target', 'completed', '--json'];
    const first = await runCli([...base, '--poll-interval', '1s'], env);
    assert.equal(first.code, 0, first.stderr);
    const { runId } = JSON.parse(first.stdout) as { runId: string };
    try {
      const same = await runCli([...base, '--poll-interval', '1000'], env);
      assert.equal(same.code, 0, same.stderr);
      assert.equal((JSON.parse(same.stdout) as { runId: string }).runId, runId);

      const other = await runCli([...base, '--poll-interval', '5s'], env);
      assert.equal(other.code, 2, `exit ${other.code}: ${other.stdout}${other.stderr}`);
      assert.equal(other.stdout, '');
      assert.equal(other.stderr.trim().split('\n').length, 1, other.stderr);
      const workflowId = jobWorkflowId('cn-hangzhou', apsJobId);
      assert.match(other.stderr, new RegExp(`^error: ${workflowId} is already open \\(run ${runId}\\)`));
      assert.match(other.stderr, /different input/);
      assert.match(other.stderr, new RegExp(`aps-jobs cancel ${apsJobId} --region cn-hangzhou`));
    } finally {
      const cancel = await runCli(['cancel', apsJobId], env);
      assert.equal(cancel.code, 0, cancel.stderr);
    }
  });

  it('start exits 2 while the job has a supervisor, supervise exits 2 while it has a run', async () => {
    const streaming = `aps-cli-${randomUUID().slice(0, 8)}`;
    stack.emulator.addJob({ apsJobId: streaming, regionId: 'cn-hangzhou', kind: 'streaming' });
    const sup = await runCli(['supervise', streaming, '--check-interval', '1h'], env);
    assert.equal(sup.code, 0, sup.stderr);
    try {
      const start = await runCli(['start', streaming], env);
      assert.equal(start.code, 2, `exit ${start.code}: ${start.stdout}${start.stderr}`);
      assert.equal(start.stderr.trim().split('\n').length, 1, start.stderr);
      const supId = supervisorWorkflowId('cn-hangzhou', streaming);
      assert.match(start.stderr, new RegExp(`^error: .*supervisor ${supId} is open`));
      assert.match(start.stderr, new RegExp(`aps-jobs supervisor stop ${streaming} --region cn-hangzhou`));
    } finally {
      const stop = await runCli(['supervisor', 'stop', streaming], env);
      assert.equal(stop.code, 0, stop.stderr);
    }

    const batch = `aps-cli-${randomUUID().slice(0, 8)}`;
    stack.emulator.addJob({
      apsJobId: batch,
      regionId: 'cn-hangzhou',
      kind: 'batch',
      runningPollsToComplete: 1_000_000,
    });
    const run = await runCli(['start', batch, '--target', 'completed', '--poll-interval', '1s'], env);
    assert.equal(run.code, 0, run.stderr);
    try {
      const supervise = await runCli(['supervise', batch], env);
      assert.equal(supervise.code, 2, `exit ${supervise.code}: ${supervise.stdout}${supervise.stderr}`);
      assert.equal(supervise.stderr.trim().split('\n').length, 1, supervise.stderr);
      const runId = jobWorkflowId('cn-hangzhou', batch);
      assert.match(supervise.stderr, new RegExp(`^error: .*run ${runId} is open`));
      assert.match(supervise.stderr, new RegExp(`aps-jobs cancel ${batch} --region cn-hangzhou`));
    } finally {
      const cancel = await runCli(['cancel', batch], env);
      assert.equal(cancel.code, 0, cancel.stderr);
    }
  });

  it('status shows the live read count while the wait polls (from the heartbeat of a wait held in process)', async () => {
    const apsJobId = `aps-cli-${randomUUID().slice(0, 8)}`;
    stack.emulator.addJob({ apsJobId, regionId: 'cn-hangzhou', kind: 'streaming', startingPolls: 1_000 });
    const start = await runCli(['start', apsJobId, '--poll-interval', '1s'], env);
    assert.equal(start.code, 0, start.stderr);
    try {
      let last = '';
      const view = await eventually(
        async () => {
          const status = await runCli(['status', apsJobId, '--json'], env);
          last = status.stdout + status.stderr;
          const v = JSON.parse(status.stdout) as {
            status?: { phase: string; attempts: number };
            activity?: { attempt: number; type: string };
          };
          return v.status?.phase === 'waiting' && v.status.attempts > 2 ? v : undefined;
        },
        60_000,
        'status --json with attempts > 2',
      ).catch((e: Error) => {
        throw new Error(`${e.message}; last output: ${last}`);
      });
      assert.ok(view, 'a view once the condition held');
      // The start waits in the same activity; its heartbeat counts the reads.
      assert.equal(view.activity?.type, 'startApsJob');
      const reads = stack.emulator.calls({ action: 'DescribeApsJobDetail', apsJobId });
      assert.ok(reads >= (view.status?.attempts ?? Infinity), `reads ${reads}`);

      const text = await runCli(['status', apsJobId], env);
      assert.equal(text.code, 0, text.stderr);
      const line = text.stdout.split('\n').find((l) => l.startsWith('attempts '));
      assert.ok(line, `no attempts line in:\n${text.stdout}`);
      const m = /^attempts\s+(\d+) \(startApsJob\)$/.exec(line);
      assert.ok(m, line);
      assert.ok(Number(m[1]) >= (view.status?.attempts ?? Infinity), line);
    } finally {
      const cancel = await runCli(['cancel', apsJobId], env);
      assert.equal(cancel.code, 0, cancel.stderr);
    }
  });

  it('run set-poll-interval | extend-deadline | set-deadline | set-on-cancel steer an open run and print its status; bad values exit 2, a run that is not open exits 1', async () => {
    const apsJobId = `aps-cli-${randomUUID().slice(0, 8)}`;
    stack.emulator.addJob({
      apsJobId,
      regionId: 'cn-hangzhou',
      kind: 'batch',
      runningPollsToComplete: 1_000_000,
    });
    const start = await runCli(['start', apsJobId, '--target', 'completed', '--poll-interval', '1s'], env);
    assert.equal(start.code, 0, start.stderr);
    const deadlineIn = (stdout: string): number => {
      const m = /^deadline +(\S+)$/m.exec(stdout);
      assert.ok(m, `no deadline line in:\n${stdout}`);
      return Date.parse(m[1]!);
    };

    const interval = await runCli(['run', 'set-poll-interval', apsJobId, '2s'], env);
    assert.equal(interval.code, 0, interval.stderr);
    assert.match(interval.stdout, /^phase +(starting|waiting)$/m);
    assert.match(interval.stdout, /^poll every 2s$/m);
    const adaptive = await runCli(
      ['run', 'set-poll-interval', apsJobId, '2s', '--poll-max', '1m', '--poll-coefficient', '2'],
      env,
    );
    assert.equal(adaptive.code, 0, adaptive.stderr);
    assert.match(adaptive.stdout, /^poll every 2s growing ×2 to 1m$/m);

    const extend = await runCli(['run', 'extend-deadline', apsJobId, '1h'], env);
    assert.equal(extend.code, 0, extend.stderr);
    assert.equal(deadlineIn(extend.stdout) - deadlineIn(interval.stdout), 3_600_000);
    const at = new Date(Date.now() + 2 * 3_600_000).toISOString();
    const set = await runCli(['run', 'set-deadline', apsJobId, at, '--json'], env);
    assert.equal(set.code, 0, set.stderr);
    assert.equal((JSON.parse(set.stdout) as { deadline: string }).deadline, at);

    const onCancel = await runCli(['run', 'set-on-cancel', apsJobId, 'suspend'], env);
    assert.equal(onCancel.code, 0, onCancel.stderr);
    assert.match(onCancel.stdout, /^on cancel +suspend$/m);

    // Bad values: one line naming the field, exit 2; checked here, or refused by the run.
    const past = await runCli(['run', 'set-deadline', apsJobId, '2020-01-01T00:00:00Z'], env);
    assert.equal(past.code, 2, past.stderr);
    assert.equal(past.stderr.trim().split('\n').length, 1, past.stderr);
    assert.match(past.stderr, /^error: Invalid deadline: expected a deadline not before now/);
    const often = await runCli(['run', 'set-poll-interval', apsJobId, 'often'], env);
    assert.equal(often.code, 2, often.stderr);
    assert.match(often.stderr, /^error: Invalid pollInterval: /);
    const stop = await runCli(['run', 'set-on-cancel', apsJobId, 'stop'], env);
    assert.equal(stop.code, 2, stop.stderr);
    assert.match(stop.stderr, /^error: Invalid onCancel: /);
    const far = await runCli(['run', 'extend-deadline', apsJobId, '366d'], env);
    assert.equal(far.code, 2, far.stderr);
    assert.equal(far.stderr.trim().split('\n').length, 1, far.stderr);
    assert.match(far.stderr, /^error: Invalid by: expected a deadline at most 366d from now/);

    // The cancel suspends the job, as set-on-cancel said.
    const cancel = await runCli(['cancel', apsJobId], env);
    assert.equal(cancel.code, 0, cancel.stderr);
    await testEnv()
      .client.workflow.getHandle(jobWorkflowId('cn-hangzhou', apsJobId))
      .result()
      .catch(() => undefined);
    assert.equal(stack.emulator.job(apsJobId)?.status, 'Suspended');

    for (const jobId of [apsJobId, `aps-cli-none-${randomUUID().slice(0, 8)}`]) {
      const none = await runCli(['run', 'set-poll-interval', jobId, '5s'], env);
      assert.equal(none.code, 1, none.stderr);
      assert.equal(
        none.stderr,
        `error: no open run aps-job:cn-hangzhou:${jobId}: nothing to change (it has ended, or was never started)\n`,
      );
    }
  });
});
