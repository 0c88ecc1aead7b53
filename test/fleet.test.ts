import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { fleetScheduleId, supervisorWorkflowId } from '../src/api';
import {
  cancelJobRun,
  cancelSupervisor,
  pauseSupervisor,
  startJobRun,
  startSupervisor,
  supervisorStatus,
} from '../src/client';
import { listAllJobs, listFleet, type FleetEntry, type FleetView } from '../src/fleet';
import { testEnv } from './support/env';
import { runCli } from './support/cli';
import { eventually, startStack, type Stack } from './support/stack';

const id = (): string => randomUUID().slice(0, 8);

describe('fleet view: aps-jobs jobs list', function () {
  this.timeout(120_000);
  const region = `cn-fleet-${id()}`;
  const jobs = {
    run: `aps-fl-run-${id()}`,
    supervised: `aps-fl-sup-${id()}`,
    paused: `aps-fl-pau-${id()}`,
    done: `aps-fl-done-${id()}`,
    failed: `aps-fl-fail-${id()}`,
    gone: `aps-fl-gone-${id()}`,
  };
  let stack: Stack;
  let client: Client;
  let view: FleetView;
  const entry = (apsJobId: string): FleetEntry => {
    const e = view.jobs.find((j) => j.apsJobId === apsJobId);
    assert.ok(e, `${apsJobId} is not in the view`);
    return e;
  };

  before(async () => {
    stack = await startStack({
      emulator: {
        jobs: [
          // Stays Starting: its run stays open.
          {
            apsJobId: jobs.run,
            regionId: region,
            name: 'kafka-orders',
            kind: 'streaming',
            startingMs: 3_600_000,
          },
          { apsJobId: jobs.supervised, regionId: region, name: 'kafka-clicks', kind: 'streaming', delay: 42 },
          { apsJobId: jobs.paused, regionId: region, name: 'kafka-paused', kind: 'streaming' },
          {
            apsJobId: jobs.done,
            regionId: region,
            name: 'hive-once',
            kind: 'batch',
            runningPollsToComplete: 1,
          },
          {
            apsJobId: jobs.failed,
            regionId: region,
            name: 'kafka-broken',
            kind: 'failing',
            initialStatus: 'Failed',
            errMessage: 'broker unreachable',
          },
          { apsJobId: jobs.gone, regionId: region, name: 'kafka-deleted', kind: 'streaming' },
          // A second page of jobs nobody orchestrates (the emulator's pages hold 100).
          ...Array.from({ length: 100 }, (_, i) => ({
            apsJobId: `aps-fl-bulk-${i}-${id()}`,
            regionId: region,
            name: `bulk-${i}`,
            kind: 'streaming' as const,
          })),
        ],
      },
    });
    client = testEnv().client;
    const opts = { taskQueue: stack.taskQueue };
    const fast = { checkInterval: '1h', pollInterval: '1s', activityTimeout: '5s' };
    await startJobRun(client, { regionId: region, apsJobId: jobs.run, pollInterval: '1s' }, opts);
    const done = await startJobRun(
      client,
      { regionId: region, apsJobId: jobs.done, target: 'completed', pollInterval: '1s' },
      opts,
    );
    await done.handle.result();
    await startSupervisor(client, { regionId: region, apsJobId: jobs.supervised, ...fast }, opts);
    await startSupervisor(client, { regionId: region, apsJobId: jobs.paused, ...fast }, opts);
    await startSupervisor(client, { regionId: region, apsJobId: jobs.gone, ...fast }, opts);
    await eventually(
      () => stack.emulator.job(jobs.paused)?.status === 'Running',
      20_000,
      'paused job running',
    );
    await pauseSupervisor(client, region, jobs.paused);
    // Deleted in the console while its supervisor waits for its next check (an hour away).
    await eventually(
      async () => (await supervisorStatus(client, region, jobs.gone)).phase === 'running',
      20_000,
      'gone job supervised and running',
    );
    assert.equal(stack.emulator.removeJob(jobs.gone), true);
    // Visibility lags the server by a moment: wait until it shows every workflow started above.
    const found = await eventually(
      async () => {
        const v = await listFleet(client, stack.aps, region);
        const ready =
          v.jobs.find((j) => j.apsJobId === jobs.run)?.run &&
          v.jobs.find((j) => j.apsJobId === jobs.done)?.lastRun &&
          v.jobs.find((j) => j.apsJobId === jobs.supervised)?.supervisor?.phase === 'running' &&
          v.jobs.find((j) => j.apsJobId === jobs.paused)?.supervisor?.phase === 'paused' &&
          v.goneSupervisors.length === 1;
        return ready ? v : undefined;
      },
      30_000,
      'the fleet view to show every workflow',
    );
    assert.ok(found);
    view = found;
  });
  after(async () => {
    for (const j of [jobs.supervised, jobs.paused, jobs.gone]) {
      await cancelSupervisor(client, region, j).catch(() => undefined);
    }
    await cancelJobRun(client, region, jobs.run).catch(() => undefined);
    await stack?.stop();
  });

  it('lists every job of the region over all pages, each once', () => {
    assert.equal(view.jobs.length, 105);
    assert.equal(new Set(view.jobs.map((j) => j.apsJobId)).size, 105);
    assert.equal(view.pages, 2);
    assert.ok(!view.jobs.some((j) => j.apsJobId === jobs.gone), 'the deleted job is not listed');
  });

  it('joins each job with its open run, its supervisor (paused or not) and the last run outcome', () => {
    const run = entry(jobs.run);
    assert.equal(run.orchestration, 'run');
    assert.equal(run.status, 'Starting');
    assert.ok(run.run?.phase === 'starting' || run.run?.phase === 'waiting', `phase ${run.run?.phase}`);

    const sup = entry(jobs.supervised);
    assert.equal(sup.orchestration, 'supervisor');
    assert.equal(sup.supervisor?.workflowId, supervisorWorkflowId(region, jobs.supervised));
    assert.equal(sup.status, 'Running');
    assert.equal(sup.delay, 42);
    assert.equal(sup.progress, '100');

    const paused = entry(jobs.paused);
    assert.equal(paused.orchestration, 'paused');
    assert.equal(paused.status, 'Suspended');

    const done = entry(jobs.done);
    assert.equal(done.orchestration, 'none');
    assert.equal(done.status, 'COMPLETED');
    assert.equal(done.lastRun?.executionStatus, 'COMPLETED');
    assert.equal(done.run, undefined);

    const failed = entry(jobs.failed);
    assert.equal(failed.orchestration, 'none');
    assert.equal(failed.statusClass, 'failed');
    assert.equal(failed.errMessage, 'broker unreachable');

    assert.deepEqual(
      view.goneSupervisors.map((g) => [g.apsJobId, g.workflowId]),
      [[jobs.gone, supervisorWorkflowId(region, jobs.gone)]],
    );
  });

  it('retries a throttled page under the retry rules and keeps the pages already read', async () => {
    stack.emulator.injectFault({
      kind: 'error',
      code: 'Throttling.User',
      action: 'DescribeApsJobs',
      times: 2,
    });
    const delays: number[] = [];
    const listing = await listAllJobs(stack.aps, region, {
      random: () => 0,
      onRetry: (r) => delays.push(r.delayMs),
    });
    assert.equal(listing.jobs.length, 105);
    assert.equal(listing.retries, 2);
    assert.equal(delays.length, 2);
  });

  it('gives up on a permanent error at once', async () => {
    stack.emulator.injectFault({ kind: 'error', code: 'Forbidden.RAM', action: 'DescribeApsJobs', times: 1 });
    await assert.rejects(listAllJobs(stack.aps, region), /Forbidden\.RAM/);
  });

  describe('the CLI', () => {
    let env: Record<string, string>;
    before(() => {
      const key = stack.emulator.credentials[0];
      assert.ok(key);
      env = {
        TEMPORAL_ADDRESS: testEnv().address,
        TEMPORAL_TASK_QUEUE: stack.taskQueue,
        ALIBABA_CLOUD_ACCESS_KEY_ID: key.accessKeyId,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: key.accessKeySecret,
        ADB_ENDPOINT: `http://${stack.emulator.endpoint}`,
      };
    });
    after(async () => {
      await client.schedule
        .getHandle(fleetScheduleId(region))
        .delete()
        .catch(() => undefined);
    });

    it('jobs list prints one line per job with status, delay, progress and orchestration', async () => {
      const r = await runCli(['jobs', 'list', '--region', region], env);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.match(lines[0] ?? '', /^NAME\s+ID\s+STATUS\s+DELAY\s+PROGRESS\s+ORCHESTRATION$/);
      const line = (jobId: string): string => lines.find((l) => l.includes(jobId)) ?? '';
      assert.match(
        line(jobs.supervised),
        /^kafka-clicks\s+\S+\s+Running\s+42\s+100%\s+supervisor \(running\)$/,
      );
      assert.match(line(jobs.paused), /Suspended.*\spaused$/);
      assert.match(line(jobs.run), /Starting.*\srun \((starting|waiting)\)$/);
      assert.match(line(jobs.done), /COMPLETED.*none \(last run completed\)$/);
      assert.match(r.stdout, /105 of 105 jobs/);
      assert.match(
        r.stdout,
        new RegExp(`supervisor ${supervisorWorkflowId(region, jobs.gone)} is open, but its job`),
      );
      assert.doesNotMatch(
        r.stdout + r.stderr,
        new RegExp(env.ALIBABA_CLOUD_ACCESS_KEY_SECRET ?? 'no-secret'),
      );
    });

    it('jobs list --json --status failed,stopped gives the same as data, filtered', async () => {
      const r = await runCli(
        ['jobs', 'list', '--region', region, '--json', '--status', 'failed,paused'],
        env,
      );
      assert.equal(r.code, 0, r.stderr);
      const data = JSON.parse(r.stdout) as { jobs: FleetEntry[]; goneSupervisors: unknown[] };
      // `paused` is no status: only the failed job is left.
      assert.deepEqual(
        data.jobs.map((j) => [j.apsJobId, j.status, j.orchestration, j.errMessage]),
        [[jobs.failed, 'Failed', 'none', 'broker unreachable']],
      );
      assert.equal(data.goneSupervisors.length, 1);
      const stopped = await runCli(
        ['jobs', 'list', '--region', region, '--json', '--status', 'Suspended'],
        env,
      );
      const ids = (JSON.parse(stopped.stdout) as { jobs: FleetEntry[] }).jobs.map((j) => j.apsJobId);
      assert.ok(ids.includes(jobs.paused));
      assert.ok(!ids.includes(jobs.supervised));
      assert.equal(ids.length, 101, 'the paused job and the 100 bulk jobs are Suspended');
    });

    it('fleet reconcile creates, then updates, the schedule; fleet status shows the last result', async () => {
      const created = await runCli(
        ['fleet', 'reconcile', '--region', region, '--select', 'prefix:kafka-', '--every', '1h', '--now'],
        env,
      );
      assert.equal(created.code, 0, created.stderr);
      assert.match(
        created.stdout,
        new RegExp(`^schedule aps-fleet:${region} created: every 1h, mode report`),
      );
      const status = await eventually(
        async () => {
          const r = await runCli(['fleet', 'status', '--region', region, '--json'], env);
          const v = JSON.parse(r.stdout) as { last?: { summary?: { phase: string } } };
          return v.last?.summary?.phase === 'done' ? v : undefined;
        },
        60_000,
        'the first scheduled run to finish',
      );
      const s = (status as unknown as { last: { summary: Record<string, unknown> } }).last.summary;
      // kafka-orders (run), kafka-clicks, kafka-paused (supervisors), kafka-broken (nothing).
      assert.equal(s.seen, 105);
      assert.equal(s.matched, 4);
      assert.equal(s.adopted, 0);
      assert.equal(s.wouldAdopt, 1);
      assert.deepEqual(s.wouldAdoptJobIds, [jobs.failed]);
      assert.equal(s.gone, 1);
      const text = await runCli(['fleet', 'status', '--region', region], env);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /seen 105, matched 4, adopted 0, orphansFailed \d+, gone 1/);

      const updated = await runCli(
        ['fleet', 'reconcile', '--region', region, '--select', 'ids:aps-x1', '--every', '30m'],
        env,
      );
      assert.equal(updated.code, 0, updated.stderr);
      assert.match(updated.stdout, /updated: every 30m/);
      const desc = await client.schedule.getHandle(fleetScheduleId(region)).describe();
      assert.equal(desc.spec.intervals?.[0]?.every, 30 * 60_000);
    });

    it('rejects a bad selector or mode with one line naming the field and the fix, exit 2', async () => {
      for (const [args, field] of [
        [['--select', 'pattern:(['], /selector\.namePattern: expected a valid JavaScript regular expression/],
        [['--select', 'kafka'], /--select: expected ids:<jobId>/],
        [['--select', 'ids:'], /selector\.jobIds: expected a list of 1 to 1000 APS job IDs/],
        [['--select', 'prefix:'], /selector\.namePrefix: expected a non-empty name prefix/],
        [['--select', 'prefix:a', '--check-interval', 'often'], /supervisor\.checkInterval/],
      ] as [string[], RegExp][]) {
        const r = await runCli(['fleet', 'reconcile', '--region', region, ...args], env);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, field);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      }
      const mode = await runCli(
        ['fleet', 'reconcile', '--region', region, '--select', 'prefix:a', '--mode', 'fix'],
        env,
      );
      assert.equal(mode.code, 2);
      assert.match(
        mode.stderr,
        /--mode <mode>' argument 'fix' is invalid\. Allowed choices are report, supervise/,
      );
    });

    it('fleet status without a schedule says how to create one', async () => {
      const r = await runCli(['fleet', 'status', '--region', `cn-none-${id()}`], env);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /no fleet schedule for cn-none-\S+: create it with aps-jobs fleet reconcile/);
    });
  });
});
