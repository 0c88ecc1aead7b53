/**
 * Heartbeat baseline, for comparison only: start the job, then one long activity that polls,
 * heartbeats and sleeps until the job runs.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../src/activities';
import type { BenchActivities } from '../activities';
import type { BenchJobInput, BenchJobResult } from '../api';

/** Starts the job and waits for it inside one heartbeating activity. */
export async function heartbeatPollApsJob(input: BenchJobInput): Promise<BenchJobResult> {
  const { startApsJob } = proxyActivities<Activities>({
    startToCloseTimeout: '2m',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
  });
  // The heartbeat timeout is what notices a dead worker; the SDK sends heartbeats to the server at
  // most every 80 % of it, so a poll interval shorter than that costs no extra server calls.
  const { pollApsJobUntilReady } = proxyActivities<BenchActivities>({
    startToCloseTimeout: input.timeoutMs,
    heartbeatTimeout: Math.max(10_000, 3 * input.pollIntervalMs),
  });
  const ref = { regionId: input.regionId, apsJobId: input.apsJobId };
  await startApsJob({
    ...ref,
    target: 'running',
    settleMs: 60_000,
    settleIntervalMs: Math.min(input.pollIntervalMs, 5_000),
  });
  return pollApsJobUntilReady({ ...ref, pollIntervalMs: input.pollIntervalMs });
}
