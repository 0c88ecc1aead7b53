/**
 * A stand-in worker entry for test/worker-heap.test.ts: it starts through
 * runWithWorkerHeapDefaults as src/worker.ts does, prints one JSON line about the process it ended
 * up in, and then handles SIGINT/SIGTERM as the Temporal Runtime does: the first one begins a
 * drain (PROBE_DRAIN_MS, default 300 ms) and stops listening. After the drain it exits 0 (SIGINT)
 * or 7 (SIGTERM), so the test can tell a drained exit from a death by signal.
 */
import { getHeapStatistics } from 'node:v8';
import { heapFlagsFrom } from '../../src/config';
import { runWithWorkerHeapDefaults } from '../../src/worker-heap';

const line = (value: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`);
};

void runWithWorkerHeapDefaults(() => {
  const onSignal = (signal: NodeJS.Signals): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    line({ event: 'draining', signal });
    setTimeout(() => process.exit(signal === 'SIGTERM' ? 7 : 0), Number(process.env.PROBE_DRAIN_MS ?? 300));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  line({
    event: 'ready',
    pid: process.pid,
    heapLimitMiB: Math.round(getHeapStatistics().heap_size_limit / 2 ** 20),
    heapFlags: heapFlagsFrom(process.execArgv),
  });
  // Runs until a signal ends it, as a worker polls until it is shut down.
  setInterval(() => undefined, 60_000);
  return Promise.resolve();
}, 'probe').catch((err: unknown) => {
  process.stderr.write(`probe: ${(err as Error).message}\n`);
  process.exit(1);
});
