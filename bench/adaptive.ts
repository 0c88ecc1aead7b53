/**
 * `npm run bench:adaptive [-- --minutes 10]`: API calls of an adaptive poll interval.
 *
 * Computes, from the schedule alone, how many status reads a job that stays not-ready makes in one
 * hour (the API calls per job-hour of a one-hour batch job) for the adaptive interval
 * `{ initial: '5s', max: '2m', coefficient: 1.25 }` and for fixed intervals; then runs one such job
 * for `--minutes` (default 10) through runApsJob on a real dev server, worker and emulator, and
 * checks the reads the emulator saw against the schedule's count for that time. Writes
 * `bench/results/adaptive.json` and `.md`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { DefaultLogger, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { createActivities, pollDelayMs, type PollSchedule } from '../src/activities';
import { createApsApi } from '../src/aps/client';
import { startEmulator } from '../src/emulator';
import { createInProcessWaiter } from '../src/run-worker';
import { runApsJob } from '../src/workflows/run-aps-job';
import { startBenchServer } from './dev-server';

/** The adaptive interval measured. */
export const ADAPTIVE: PollSchedule = { initialMs: 5000, maxMs: 120_000, coefficient: 1.25 };

/**
 * Reads a job that never becomes ready gets within `spanMs` of its start: the first read comes
 * `initialMs` after the start (the folded wait's first delay), and the delay after the n-th read is
 * `pollDelayMs(n)`.
 */
export function readsWithin(spanMs: number, intervalMs: number, schedule?: PollSchedule): number {
  let t = pollDelayMs(intervalMs, schedule, 1);
  let reads = 0;
  while (t <= spanMs) {
    reads++;
    t += pollDelayMs(intervalMs, schedule, reads);
  }
  return reads;
}

async function main(): Promise<void> {
  const opts = new Command('bench:adaptive')
    .option('--minutes <m>', 'length of the measured run', '10')
    .option('--out <dir>', 'results directory', 'bench/results')
    .parse(process.argv)
    .opts<{ minutes: string; out: string }>();
  const minutes = Number(opts.minutes);
  if (!Number.isFinite(minutes) || minutes <= 0)
    throw new Error(`--minutes: a positive number, got ${opts.minutes}`);
  const spanMs = minutes * 60_000;
  const hour = 3_600_000;
  const perHour = {
    adaptive: readsWithin(hour, ADAPTIVE.initialMs, ADAPTIVE),
    fixed5s: readsWithin(hour, 5000),
    fixed30s: readsWithin(hour, 30_000),
    fixed2m: readsWithin(hour, 120_000),
  };
  const expected = readsWithin(spanMs, ADAPTIVE.initialMs, ADAPTIVE);
  process.stderr.write(
    `adaptive: reads per job-hour (computed): adaptive ${perHour.adaptive}, 5s ${perHour.fixed5s}, ` +
      `30s ${perHour.fixed30s}, 2m ${perHour.fixed2m}; measuring ${minutes} min (expect ${expected} reads)\n`,
  );

  Runtime.install({ logger: new DefaultLogger('WARN') });
  const server = await startBenchServer({ log: (l) => process.stderr.write(`${l}\n`) });
  const emulator = await startEmulator({ seed: 5 });
  const key = emulator.credentials[0]!;
  const aps = createApsApi({
    credentials: { kind: 'access-key', accessKeyId: key.accessKeyId, accessKeySecret: key.accessKeySecret },
    endpoint: emulator.endpoint,
    protocol: 'http',
  });
  const waiter = createInProcessWaiter(server.env.nativeConnection, 'default');
  const worker = await Worker.create({
    connection: server.env.nativeConnection,
    taskQueue: 'adaptive',
    workflowBundle: await bundleWorkflowCode({ workflowsPath: require.resolve('../src/workflows') }),
    activities: createActivities({ aps, waiter }),
  });
  const running = worker.run();
  const apsJobId = 'aps-adaptive-1';
  // A batch job that stays Running for longer than the measured span: never at its target.
  emulator.addJob({ apsJobId, regionId: 'cn-hangzhou', kind: 'batch', runningPollsToComplete: 1_000_000 });
  const handle = await server.env.client.workflow.start(runApsJob, {
    taskQueue: 'adaptive',
    workflowId: 'adaptive-1',
    args: [
      {
        regionId: 'cn-hangzhou',
        apsJobId,
        target: 'completed',
        pollInterval: { initial: '5s', max: '2m', coefficient: 1.25 },
      },
    ],
  });
  const begun = Date.now();
  let startAt: number | undefined;
  for (;;) {
    const log = emulator.requests().filter((r) => r.apsJobId === apsJobId);
    const start = log.find((r) => r.action === 'StartApsJob' && r.applied);
    if (start) startAt = Date.parse(start.time);
    if (startAt !== undefined && Date.now() >= startAt + spanMs + 1000) break;
    if (Date.now() - begun > spanMs + 120_000) throw new Error('the job was never started');
    await new Promise((r) => setTimeout(r, 5000));
    const left = startAt === undefined ? spanMs : startAt + spanMs - Date.now();
    process.stderr.write(`adaptive: ${Math.max(0, Math.round(left / 1000))} s left\n`);
  }
  const log = emulator.requests().filter((r) => r.apsJobId === apsJobId);
  const startSeq = log.find((r) => r.action === 'StartApsJob' && r.applied)!.seq;
  const reads = log
    .filter((r) => r.action === 'DescribeApsJobDetail' && r.seq > startSeq)
    .map((r) => Date.parse(r.time) - startAt)
    .filter((t) => t <= spanMs);
  const calls = log.filter((r) => Date.parse(r.time) - startAt <= spanMs).length;
  await handle.terminate('adaptive benchmark over');
  worker.shutdown();
  await running;
  await waiter.close();
  await emulator.close();
  await server.stop();

  const result = {
    schedule: ADAPTIVE,
    readsPerJobHourComputed: perHour,
    apiCallsPerJobHourComputed: {
      adaptive: perHour.adaptive + 2,
      fixed5s: perHour.fixed5s + 2,
      fixed30s: perHour.fixed30s + 2,
      fixed2m: perHour.fixed2m + 2,
    },
    measured: {
      minutes,
      readsExpected: expected,
      readsSeen: reads.length,
      apiCallsSeen: calls,
      readOffsetsS: reads.map((t) => Math.round(t / 100) / 10),
      match: reads.length === expected,
    },
  };
  mkdirSync(opts.out, { recursive: true });
  writeFileSync(join(opts.out, 'adaptive.json'), `${JSON.stringify(result, null, 2)}\n`);
  const md = [
    `# Adaptive poll interval: API calls per job (${new Date().toISOString().slice(0, 16)} UTC)`,
    '',
    `Schedule: \`{ initial: '5s', max: '2m', coefficient: 1.25 }\`. Calls = reads + 1 describe before the start + 1 start.`,
    '',
    '| poll interval | reads in a one-hour wait (computed) | API calls per job-hour |',
    '|---|---|---|',
    `| adaptive 5s → 2m ×1.25 | ${perHour.adaptive} | ${perHour.adaptive + 2} |`,
    `| fixed 5s | ${perHour.fixed5s} | ${perHour.fixed5s + 2} |`,
    `| fixed 30s (the default) | ${perHour.fixed30s} | ${perHour.fixed30s + 2} |`,
    `| fixed 2m | ${perHour.fixed2m} | ${perHour.fixed2m + 2} |`,
    '',
    `Measured: one job on a dev server, worker and emulator for ${minutes} min after its start: ` +
      `${reads.length} reads seen, ${expected} computed from the schedule (${reads.length === expected ? 'match' : '**no match**'}); ` +
      `${calls} API calls in all. Read times after the start, s: ${result.measured.readOffsetsS.join(', ')}.`,
    '',
  ].join('\n');
  writeFileSync(join(opts.out, 'adaptive.md'), md);
  process.stdout.write(md);
  if (!result.measured.match) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(
      `bench:adaptive: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  });
}
