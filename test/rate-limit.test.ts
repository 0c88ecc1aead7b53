/**
 * The account-wide API rate limit: 200 runs on three real worker processes with
 * APS_API_RATE_LIMIT=20 against the shared dev server. The server's task-queue activity rate is
 * what holds the calls down, across all three workers; the emulator's request log is the judge.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RATE_LIMITED_CALLS_PER_ATTEMPT } from '../src/activities';
import { startEmulator, type RunningEmulator } from '../src/emulator';
import { runApsJob } from '../src/workflows/run-aps-job';
import { testEnv, uniqueTaskQueue } from './support/env';
import { killWorker, spawnWorker, type WorkerProcess } from './support/processes';
import { eventually, workflowBundle } from './support/stack';

const region = 'cn-hangzhou';
const RUNS = 200;
const WORKERS = 3;
const LIMIT = 20;
const k = RATE_LIMITED_CALLS_PER_ATTEMPT;
/**
 * Partitions of a task queue on the dev server (matching.numTaskqueueReadPartitions, default 4):
 * the server divides the queue's rate among them, each with a token bucket of its own.
 */
const PARTITIONS = 4;
/**
 * The tolerance above the limit in any 1-second window. Each partition's bucket refills at
 * rate/P and holds burst = ceil(rate/P) tokens (Temporal matching: at least 1), so in any window
 * of 1 s the queue dispatches at most P·ceil(rate/P) + rate attempts: the buckets full at the
 * window's start, then the refill. Each attempt makes at most k calls, so the calls are at most
 * k·rate + k·P·ceil(rate/P) = LIMIT + k·P·ceil(LIMIT/(k·P)): 20 + 3·4·2 = 44 here. This assumes
 * an attempt's calls land within a few milliseconds of its dispatch (the emulator answers at once).
 */
const TOLERANCE = k * PARTITIONS * Math.ceil(LIMIT / k / PARTITIONS);

/** The most requests in any window [t, t + 1 s) that starts at a request (a sliding window). */
function maxPerSecond(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let j = 0;
  for (let i = 0; i < sorted.length; i++) {
    while (j < sorted.length && sorted[j]! < sorted[i]! + 1000) j++;
    best = Math.max(best, j - i);
  }
  return best;
}

describe('API rate limit across workers (real dev server, 3 worker processes, emulator)', function () {
  this.timeout(360_000);
  let emulator: RunningEmulator;
  let dir: string;
  const workers: WorkerProcess[] = [];

  before(async () => {
    emulator = await startEmulator({ seed: 31, requestLogLimit: 50_000 });
    dir = mkdtempSync(join(tmpdir(), 'aps-rate-limit-'));
  });

  after(async () => {
    await Promise.all(workers.map((w) => killWorker(w, 'SIGTERM')));
    await emulator?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`${RUNS} runs with APS_API_RATE_LIMIT=${LIMIT}: no 1-s window above the limit plus the burst, all complete`, async () => {
    const bundlePath = join(dir, 'workflow-bundle.js');
    writeFileSync(bundlePath, (await workflowBundle()).code);
    const taskQueue = uniqueTaskQueue('rate-limit');
    for (let i = 0; i < WORKERS; i++) {
      workers.push(
        spawnWorker({
          taskQueue,
          emulator,
          env: { APS_WORKFLOW_BUNDLE: bundlePath, APS_API_RATE_LIMIT: String(LIMIT) },
        }),
      );
    }
    const started = await eventually(
      () => {
        const lines = workers.map((w) =>
          w.output
            .join('')
            .split('\n')
            .find((l) => l.includes('worker started')),
        );
        return lines.every((l): l is string => l !== undefined) ? lines : undefined;
      },
      90_000,
      'three workers started',
    );
    for (const line of started ?? []) {
      // Every worker sends the same task-queue rate, and none holds waits in process.
      assert.match(line, /inProcessWaits: false/);
      assert.match(line, /apiRateLimit: 20\b/);
      assert.match(line, new RegExp(`maxTaskQueueActivitiesPerSecond: ${(LIMIT / k).toFixed(3)}`));
    }

    const ids = Array.from({ length: RUNS }, (_, i) => `aps-rl-${i}-${randomUUID().slice(0, 6)}`);
    // Streaming jobs, Running as soon as they are started: a run is its start attempt
    // (2 calls), a wait attempt that is not due yet (none) and one read (1).
    for (const apsJobId of ids) emulator.addJob({ apsJobId, regionId: region, kind: 'streaming' });
    const t0 = Date.now();
    const handles = await Promise.all(
      ids.map((apsJobId) =>
        testEnv().client.workflow.start(runApsJob, {
          taskQueue,
          workflowId: `rate-limit-${apsJobId}`,
          args: [{ regionId: region, apsJobId, pollInterval: '1s' }],
        }),
      ),
    );
    const results = await Promise.all(handles.map((h) => h.result()));
    const wallMs = Date.now() - t0;

    for (const r of results) {
      assert.equal(r.status, 'Running');
      assert.equal(r.started, true);
    }
    for (const apsJobId of ids) assert.equal(emulator.effectiveStarts(apsJobId), 1, apsJobId);

    const log = emulator.requests().filter((r) => r.apsJobId !== undefined && ids.includes(r.apsJobId));
    assert.ok(log.length >= 3 * RUNS, `calls ${log.length}`);
    assert.ok(
      log.every((r) => r.code === 'OK'),
      'no call was refused',
    );
    const peak = maxPerSecond(log.map((r) => Date.parse(r.time)));
    process.stdout.write(
      `      rate limit ${LIMIT}/s (k ${k}, tolerance ${TOLERANCE}): ${log.length} calls, ` +
        `max ${peak} in a sliding 1-s window, ${RUNS} runs in ${(wallMs / 1000).toFixed(1)} s ` +
        `(${((log.length * 1000) / wallMs).toFixed(1)} calls/s on average)\n`,
    );
    assert.ok(peak <= LIMIT + TOLERANCE, `max ${peak} calls in a 1-s window, limit ${LIMIT} + ${TOLERANCE}`);
  });
});
